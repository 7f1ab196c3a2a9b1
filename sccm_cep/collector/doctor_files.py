"""The doctor's checks of who can use the files sccm-cep keeps (the data folder, the secrets and
the state file), the ``Check`` record every check of the doctor returns, and the files of a WinRM
capture (``doctor --winrm HOST --capture DIR``).

Who can use them is asked of the platform seam (mode bits on POSIX, the access list on Windows)
and reported as found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sccm_cep import platform as host_platform
from sccm_cep.errors import OutputError
from sccm_cep.normalize.product import split_product
from sccm_cep.normalize.publisher import catalog_publisher
from sccm_cep.platform import Platform
from sccm_cep.platform.files import write_text_atomically
from sccm_cep.privacy.identifiers import has_identifier

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check; a passing check has severity ``info``.

    A failing one is an ``error`` (sccm-cep cannot work), a ``warning`` (a feature will fail)
    or ``info`` (an optional feature is absent).
    """

    name: str
    ok: bool
    severity: Severity
    detail: str
    fix: str | None = None


def _ok(name: str, detail: str) -> Check:
    return Check(name=name, ok=True, severity="info", detail=detail)


def _fail(name: str, severity: Severity, detail: str, fix: str | None) -> Check:
    return Check(name=name, ok=False, severity=severity, detail=detail, fix=fix)


def _data_dir_permissions(folder: Path, seam: Platform) -> Check:
    name = "data-dir-permissions"
    try:
        found = seam.exposure(folder)
    except OSError as exc:
        # The data-dir check already reports the cause; one root cause should be one error.
        return _fail(name, "info", f"not checked: {folder} cannot be examined ({_reason(exc)})", None)
    # The site's pseudonymization key lives here: in a folder others can write, they can swap it.
    if found.writers:
        detail = f"{folder} is {found.describe()} ({found.found})"
        return _fail(name, "error", detail, seam.fix_hint(folder))
    if found.readers:
        # The state store (site URLs, audit) is readable too; the keys have their own check.
        detail = f"{folder} is {found.describe()} ({found.found})"
        return _fail(name, "warning", detail, seam.fix_hint(folder))
    return _ok(name, f"{folder} is private ({found.found})")


def _secrets(folder: Path, seam: Platform) -> Check:
    name = "secrets"
    if not folder.is_dir():
        return _ok(name, f"no key files yet ({folder} is made with the first site key)")
    problems: list[tuple[str, str]] = []
    try:
        found = seam.exposure(folder)
        if not found.private:
            problems.append((f"{folder} is {found.describe()} ({found.found})", seam.fix_hint(folder)))
        keys = sorted(folder.glob("*.key"))
        for key in keys:
            exposed = seam.exposure(key)
            if not exposed.private:
                problems.append((f"{key.name} is {exposed.describe()} ({exposed.found})", seam.fix_hint(key)))
    except OSError as exc:
        return _fail(name, "error", f"{folder} cannot be examined ({_reason(exc)})", "check the folder")
    if problems:
        # A key others can read lets them link pseudonyms back; one that is not private is refused.
        return _fail(name, "error", "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))
    return _ok(name, f"{folder} and its {len(keys)} key file(s) are private ({found.found})")


def _state_file(state_url: str | None, seam: Platform) -> Check:
    name = "state-file"
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(state_url) if state_url else None
    except (ArgumentError, ValueError):
        return _ok(name, "not checked: the state store URL is not valid (see state-store)")
    if url is None or url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return _ok(name, "the state store is not a local file")
    path = Path(url.database)
    if not path.exists():
        return _ok(name, f"{path} does not exist yet; it is made private")
    try:
        found = seam.exposure(path)
    except OSError as exc:
        return _fail(name, "warning", f"{path} cannot be examined ({_reason(exc)})", "check the file")
    if not found.private:
        # It holds no secret value, but site URLs, references and the audit trail.
        return _fail(name, "warning", f"{path} is {found.describe()} ({found.found})", seam.fix_hint(path))
    return _ok(name, f"{path} is private ({found.found})")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


# -- a WinRM capture ------------------------------------------------------------------------------

CAPTURE_FORMAT = "sccm-cep-winrm-capture"
CAPTURE_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class CapturedDocument:
    """One script's treated document from one host (``site`` or ``client-NNN``, never a name)."""

    host: str
    script: str
    rows: list[dict[str, Any]]
    withheld: int


def _public_program(name: str | None, publisher: str | None) -> bool:
    """Whether a capture may keep an installed program's name (``name`` None: its publisher's):
    the publisher is in the reviewed catalog and the name is nothing but a product with version,
    architecture and language tags. "Zoom (j.doe)" is not: its group is not a known tag."""
    if catalog_publisher(publisher) is None or (publisher and has_identifier(publisher)):
        return False
    if name is None:
        return True
    product = split_product(name, None).product
    return product is not None and not any(c in product for c in "()[]{}\\/@")


def capture_folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot take a capture (it must be new or empty), or None."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} is not a folder"
    if folder.is_dir() and any(folder.iterdir()):
        return f"{folder} is not empty"
    return None


def write_capture(
    folder: Path,
    documents: Sequence[CapturedDocument],
    treatments: Mapping[str, Any],
    *,
    tool_version: str,
    complete: bool,
) -> Path:
    """Write ``<host>/<script>.json`` per document and ``manifest.json`` (what each holds, how each
    property was treated) into the private ``folder``; returns the manifest's path."""
    try:
        host_platform.make_private_folder(folder)
    except OSError as exc:
        raise OutputError(
            f"cannot create {folder}: {_reason(exc)}", hint="give a folder this user can create"
        ) from exc
    listed = []
    for doc in documents:
        text = json.dumps(doc.rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        write_text_atomically(folder / doc.host / f"{doc.script}.json", text, what="the capture")
        listed.append(
            {
                "host": doc.host,
                "script": doc.script,
                "rows": len(doc.rows),
                "withheld": doc.withheld,
                "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            }
        )
    manifest = {
        "format": CAPTURE_FORMAT,
        "version": 1,
        "tool_version": tool_version,
        "captured_on": datetime.now(UTC).date().isoformat(),
        "complete": complete,
        "key": "random for this capture, never stored: pseudonyms link to nothing outside it",
        "documents": listed,
        "treatments": treatments,
    }
    path = folder / CAPTURE_MANIFEST
    write_text_atomically(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n", what="the capture")
    return path
