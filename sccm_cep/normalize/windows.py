"""Windows family, feature release, build and edition from an OS caption and version.

The build number decides (captions lie: Windows 11 often reports "Windows 10"); the caption
only decides server vs workstation, the edition, and the family when no build is known.
Accepts Win32_OperatingSystem captions ("Microsoft Windows 11 Enterprise") and the
v_R_System style ("Microsoft Windows NT Workstation 10.0").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sccm_cep.normalize._data import load
from sccm_cep.normalize._text import bounded, fold, strip_marks

__all__ = ["OsRelease", "windows_release"]

_MAX_INPUT = 256
_NUMBER = re.compile(r"[0-9]{1,9}")
_WORD = re.compile(r"[^\W_]+")
_FIRST_NT10_BUILD = 10240
_SERVER_YEAR = re.compile(r"20[0-9]{2}")
_NT_VERSION = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}")


@dataclass(frozen=True, slots=True)
class OsRelease:
    """Where an operating system sits in the Windows release history."""

    family: str  # "Windows 11", "Windows Server 2022", "Windows" (unknown), "Other"
    release: str | None  # feature release: "23H2"; None for LTSC servers and old versions
    build: str | None  # "22631" (without the update revision)
    edition: str | None  # "Enterprise", "Pro", "Datacenter", "Enterprise LTSC", ...
    display: str  # "Windows 11 23H2", "Windows Server 2022"


_OTHER = OsRelease("Other", None, None, None, "Other")


@dataclass(frozen=True, slots=True)
class _Catalog:
    client_releases: dict[int, str]
    windows_11_from: int
    server_products: dict[int, str]
    server_releases: dict[int, str]
    hci_releases: dict[int, str]
    legacy_clients: dict[str, str]
    legacy_servers: dict[str, str]
    legacy_builds: dict[int, str]
    editions: tuple[tuple[frozenset[str], str], ...]


@lru_cache(maxsize=1)
def _catalog() -> _Catalog:
    d = load("windows")

    def ints(name: str) -> dict[int, str]:
        return {int(k): str(v) for k, v in d[name].items()}

    def strs(name: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in d[name].items()}

    return _Catalog(
        client_releases=ints("client_releases"),
        windows_11_from=int(d["windows_11_from_build"]),
        server_products=ints("server_products"),
        server_releases=ints("server_releases"),
        hci_releases=ints("hci_releases"),
        legacy_clients=strs("legacy_clients"),
        legacy_servers=strs("legacy_servers"),
        legacy_builds={int(k): str(v) for k, v in d["legacy_builds"].items()},
        editions=tuple((frozenset(str(w) for w in words), str(ed)) for words, ed in d["editions"]),
    )


def windows_release(caption: str | None, version: str | None) -> OsRelease:
    """Family, release, build and edition of a Windows installation.

    ("Microsoft Windows 11 Enterprise", "10.0.22631") → Windows 11 / 23H2 / 22631 / Enterprise;
    ("Microsoft Windows Server 2022 Datacenter", "10.0.20348") → Windows Server 2022, no release.
    Anything that is not Windows (or nothing at all) gives family "Other".
    """
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    cap = bounded(caption, _MAX_INPUT)
    ver = bounded(version, _MAX_INPUT)
    return _release(cap, ver)


@lru_cache(maxsize=4096)
def _release(caption: str | None, version: str | None) -> OsRelease:
    cat = _catalog()
    words = _WORD.findall(fold(strip_marks(caption))) if caption else []
    is_nt_caption = _has_sequence(words, ("windows", "nt"))
    is_hci = _has_sequence(words, ("azure", "stack", "hci")) or _has_sequence(words, ("azure", "local"))
    # "Microsoft Hyper-V Server 2019" is Windows without saying so.
    is_windows = "windows" in words or is_hci or {"microsoft", "server"} <= set(words)
    if caption and not is_windows:
        return _OTHER

    nt, build = _parse_version(version)
    if nt is None and is_nt_caption and caption:
        nt_match = _NT_VERSION.search(caption)
        nt = nt_match.group() if nt_match else None
    if nt is None and build is not None:
        nt = "10.0" if build >= _FIRST_NT10_BUILD else cat.legacy_builds.get(build)
    if not caption and nt is None and build is None:
        return _OTHER

    server = is_hci or "server" in words
    release: str | None = None
    if is_hci:
        family = "Azure Stack HCI"
        release = cat.hci_releases.get(build) if build is not None else None
    elif server:
        family, release = _server_family(words, nt, build, cat)
    else:
        family, release = _client_family(words, nt, build, cat)

    edition = None if is_nt_caption else _edition(words, cat)
    display = f"{family} {release}" if release else family
    # The build is a closed vocabulary too: only a build the catalog knows is reported, so a
    # version column cannot carry arbitrary digits out ("10.0.4155512").
    known = build is not None and build in _known_builds()
    return OsRelease(family, release, str(build) if known else None, edition, display)


@lru_cache(maxsize=1)
def _known_builds() -> frozenset[int]:
    cat = _catalog()
    return frozenset(
        (
            *cat.client_releases,
            *cat.server_products,
            *cat.server_releases,
            *cat.hci_releases,
            *cat.legacy_builds,
        )
    )


def _parse_version(text: str | None) -> tuple[str | None, int | None]:
    """(NT version "10.0", build) from "10.0.22631", "10.0.22631.2861", "22631" or "10.0"."""
    if not text:
        return None, None
    numbers = [int(n) for n in _NUMBER.findall(text[:64])]
    if not numbers:
        return None, None
    if numbers[0] >= 1000:  # a bare build, maybe with the update revision after it
        return None, numbers[0]
    if len(numbers) == 1:
        return None, None
    nt = f"{numbers[0]}.{numbers[1]}"
    build = numbers[2] if len(numbers) > 2 and numbers[2] > 0 else None
    return nt, build


def _client_family(
    words: list[str], nt: str | None, build: int | None, cat: _Catalog
) -> tuple[str, str | None]:
    if nt == "10.0":
        if build is None:
            return _caption_client(words) or "Windows", None
        family = "Windows 11" if build >= cat.windows_11_from else "Windows 10"
        return family, cat.client_releases.get(build)
    if nt is not None:
        return cat.legacy_clients.get(nt, "Windows"), None
    return _caption_client(words) or "Windows", None


def _caption_client(words: list[str]) -> str | None:
    """The client product a caption names: "Windows 11", "Windows 8.1", "Windows 7", ..."""
    for index, word in enumerate(words[:-1]):
        if word != "windows":
            continue
        nxt = words[index + 1]
        after = words[index + 2] if index + 2 < len(words) else ""
        if nxt == "8" and after == "1":
            return "Windows 8.1"
        if nxt in ("11", "10", "8", "7"):
            return f"Windows {nxt}"
        if nxt in ("vista", "xp"):
            return f"Windows {nxt.capitalize() if nxt == 'vista' else 'XP'}"
    return None


def _server_family(
    words: list[str], nt: str | None, build: int | None, cat: _Catalog
) -> tuple[str, str | None]:
    if nt == "10.0" and build is not None:
        product = cat.server_products.get(build)
        if product:
            return product, None
        release = cat.server_releases.get(build)
        if release:
            return "Windows Server", release
        return _caption_server(words) or "Windows Server", None
    if nt is not None and nt != "10.0":
        legacy = cat.legacy_servers.get(nt)
        if legacy:
            return legacy, None
    return _caption_server(words) or "Windows Server", None


def _caption_server(words: list[str]) -> str | None:
    """The server product a caption names: "Windows Server 2019", "... 2008 R2"."""
    for index, word in enumerate(words[:-1]):
        if word == "server" and _SERVER_YEAR.fullmatch(words[index + 1]):
            r2 = index + 2 < len(words) and words[index + 2] == "r2"
            return f"Windows Server {words[index + 1]}{' R2' if r2 else ''}"
    return None


def _edition(words: list[str], cat: _Catalog) -> str | None:
    present = {"ltsc" if w == "ltsb" else "pro" if w == "professional" else w for w in words}
    for required, edition in cat.editions:
        if required <= present:
            return edition
    return None


def _has_sequence(words: list[str], seq: tuple[str, ...]) -> bool:
    n = len(seq)
    return any(tuple(words[i : i + n]) == seq for i in range(len(words) - n + 1))
