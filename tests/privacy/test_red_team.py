"""Our own red team: an adversarial site's planted personal values appear in no output.

``fixtures.adversarial_site`` plants more than 80 made-up personal values (addresses,
accounts, host names, numbers, names; disguised with zero-width, NUL, bidi, full-width,
Cyrillic and combining characters) in the columns a careless policy keeps, on k-1, k and
k+1 devices. At both levels the real commands run over it: ``export``, ``join``/``feedback``/
``run`` into the outbox, ``bundle prepare``, ``preview`` and ``--explain``, ``report``,
``send`` to a real receiver, its store and ``receiver report``, and the log files. Every output
is unescaped (JSON, HTML), NFKC-normalized, case-folded and stripped of invisible
characters, then searched for every planted value and its distinctive parts.

The table printed with ``-s`` lists, per output, how many planted values were found, and per
leaking value the mechanism meant to stop it (identifier detector, closed vocabulary,
recognized software only, keyed ids, free-text scrubber, version normalizer).
"""

from __future__ import annotations

import functools
import gzip
import html
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from fixtures.adversarial_site import AdversarialSite, K, Planted, build_adversarial_site
from sccm_cep.cli import cli
from sccm_cep.collector.store import Outbox, Store
from sccm_cep.receiver.app import Receiver

SITE = "PS1"
# Fields whose explain examples are shown ("sent" only; raw values are local by design).
EXPLAINED = (
    "software.product",
    "software.publisher",
    "software.version",
    "hardware_model.manufacturer",
    "hardware_model.model",
    "hardware_cpu.cpu_name",
    "hardware_cpu.cpu_family",
    "operating_system.architecture",
    "operating_system.build",
    "hardware_chassis.chassis_type",
    "client_version.client_version",
    "site.site_type",
    "site.status",
    "site.version",
    "site_role.role_name",
    "device.model",
    "device.cpu_name",
)
_CYRILLIC = str.maketrans("асеорхуАВСЕНКМОРТХ", "aceopxyABCEHKMOPTX")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def fold(value: str) -> str:
    """The form outputs and plants are compared in: NFKC, look-alikes folded, combining marks,
    invisible characters and all whitespace removed, case-folded."""
    value = unicodedata.normalize("NFKC", value).translate(_CYRILLIC)
    value = "".join(
        c
        for c in unicodedata.normalize("NFD", value)
        if not unicodedata.combining(c) and unicodedata.category(c) not in ("Cc", "Cf", "Zs", "Zl", "Zp")
    )
    return "".join(value.split()).casefold()


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _strings(value)
    elif node is not None:
        yield str(node)


def unescape(data: str | bytes) -> str:
    """An output as a reader would see it: gzip opened, JSON parsed (every string, also JSON
    inside JSON), HTML entities resolved, ``\\uXXXX`` escapes in logs resolved."""
    if isinstance(data, bytes):
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        data = data.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(data)
    except ValueError:
        lines = []
        for line in data.splitlines():
            try:
                lines.append(" ".join(_strings(json.loads(line))))
            except ValueError:
                lines.append(line)
        data = "\n".join(lines)
    else:
        inner = []
        for s in _strings(parsed):
            inner.append(unescape(s) if s[:1] in "[{" else s)
        data = "\n".join(inner)
    data = html.unescape(html.unescape(data))
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), data)


@functools.cache
def needles(plant: Planted) -> tuple[str, ...]:
    """What must not appear: the value and its distinctive parts, folded (also reversed, for a
    value stored reversed behind a right-to-left override). Cached: every output is searched for
    every plant."""
    found = [fold(n) for n in (plant.value, *plant.parts) if len(fold(n)) >= 5]
    if plant.trick == "bidi-override":
        found += [n[::-1] for n in found]
    return tuple(found)


#: Keyed pseudonyms and digests: HMAC and hash outputs carry no planted value, but their hex
#: digits can contain a short numeric part of one by chance (1 in ~30,000 per pseudonym for
#: five digits), so they are blanked before searching. GUID-shaped text is searched: a planted
#: GUID must never leave.
_KEYED = re.compile(r"(?i)\b(?:sha256:)?[0-9a-f]{64}\b|\b[0-9a-f]{32}\b")


def _searchable(output: str | bytes) -> str:
    return fold(_KEYED.sub("#", unescape(output)))


def found(plants: tuple[Planted, ...], output: str | bytes) -> list[Planted]:
    haystack = _searchable(output)
    return [p for p in plants if any(n in haystack for n in needles(p))]


def context(plant: Planted, output: str | bytes) -> str:
    """Where a plant was found (folded text around the first hit), for the summary."""
    haystack = _searchable(output)
    for n in needles(plant):
        at = haystack.find(n)
        if at >= 0:
            return haystack[max(0, at - 30) : at + len(n) + 30]
    return ""


class Cep:
    def __init__(self, state: str) -> None:
        self.state = state
        self.outputs: dict[str, list[str | bytes]] = {}

    def __call__(self, output: str, *args: str, answer: str | None = None) -> str:
        result = CliRunner().invoke(cli, ["--state", self.state, *args], input=answer, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        self.keep(output, result.output)
        return result.stdout

    def keep(self, output: str, data: str | bytes) -> None:
        self.outputs.setdefault(output, []).append(data)


@pytest.fixture(scope="module")
def adversary(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, AdversarialSite]:
    url = f"sqlite:///{tmp_path_factory.mktemp('adversary') / 'site.db'}"
    return url, build_adversarial_site(url)


def _drive(cep: Cep, url: str, site: AdversarialSite, level: str, tmp: Path, data_dir: Path) -> None:
    out = tmp / "export"
    cep("export", "export", "--db", url, "--out", str(out), "--period", "2026-Q4", "--level", level, "--json")
    for path in out.iterdir():
        cep.keep("export", path.read_bytes())
    cep("cli", "site", "register", SITE, "--db", url, "--name", "HQ")
    cep("cli", "join", SITE, "--yes", "--as-of", "2026-11-20", "--level", level)
    # The admin confirms the scrubbed comment without reading it: the scrubber alone must hold.
    comment = ["--comment", site.feedback_comment]
    cep("cli", "feedback", SITE, "--score", "9", *comment, "--as-of", "2026-11-25", answer="y\n")
    cep("cli", "run", "--due", "--as-of", "2026-12-01", "--json")
    cep("outbox", "outbox", "list", "--json")
    store = Store(cep.state)
    try:
        with store.session() as session:
            for row in session.execute(select(Outbox)).scalars():
                cep.keep("outbox", row.body or b"")
    finally:
        store.dispose()
    bundle = tmp / "bundle.zip"
    cep("bundle", "bundle", "prepare", "--site", SITE, "--out", str(bundle))
    with zipfile.ZipFile(bundle) as zf:
        for name in zf.namelist():
            cep.keep("bundle", zf.read(name))
    cep("preview", "preview", SITE, "--level", level, "--period", "2026-Q4", "--json")
    for target in EXPLAINED:
        result = CliRunner().invoke(
            cli, ["--state", cep.state, "preview", SITE, "--level", level, "--explain", target, "--json"]
        )
        if result.exit_code == 0:  # a field this level does not have is a clear error, not output
            shown = json.loads(result.stdout)
            for example in shown.get("examples", []):
                example.pop("raw", None)  # local by design: the reviewer's own values
                example.pop("normalized", None)
            cep.keep("explain", json.dumps(shown))
    report = tmp / "report.html"
    cep("report", "report", SITE, "--out", str(report), "--level", level, "--period", "2026-Q4")
    cep.keep("report", report.read_bytes())
    receiver_db = f"sqlite:///{tmp / 'receiver.db'}"
    with Receiver(receiver_db) as receiver:
        cep("cli", "send", "--endpoint", receiver.url)
    engine = create_engine(receiver_db)
    with engine.connect() as conn:
        for table in [r[0] for r in conn.execute(text("select name from sqlite_master where type='table'"))]:
            for stored in conn.execute(text(f'select * from "{table}"')):
                cep.keep("receiver store", " ".join(c if isinstance(c, str) else repr(c) for c in stored))
                for c in stored:
                    if isinstance(c, bytes):
                        cep.keep("receiver store", c)
    engine.dispose()
    for k in ("1", "5"):
        cep("receiver report", "receiver", "report", "--db", receiver_db, "--k", k, "--json")
    for log in sorted((data_dir / "logs").glob("*")):
        cep.keep("logs", log.read_bytes())


def _table(
    site: AdversarialSite, per_output: dict[str, list[Planted]], level: str, seen: dict[Planted, str]
) -> str:
    values = len({(p.kind, p.value, p.column) for p in site.planted})
    lines = [
        f"red team, level {level}: {values} planted values in {len(site.planted)} plantings",
        f"{'output':<16} planted found",
    ]
    for output, leaked in per_output.items():
        found_values = len({(p.kind, p.value, p.column) for p in leaked})
        lines.append(f"{output:<16} {values:>7} {found_values:>5}")
    # One line per leaking value: the scan cannot tell its k-1, k and k+1 variants apart.
    leaks: dict[tuple[str, str, str, str], list[Planted]] = {}
    for leaked in per_output.values():
        for p in leaked:
            group = leaks.setdefault((p.mechanism, p.column, p.kind, p.value), [])
            if p not in group:
                group.append(p)
    for (mechanism, column, kind, value), group in sorted(leaks.items()):
        where = ", ".join(o for o, leaked in per_output.items() if any(p in leaked for p in group))
        devices = sorted({p.devices for p in group if p.devices is not None})
        lines.append(f"  LEAK {kind:<13} {column:<40} devices={devices} [{mechanism}] in {where}: {value!r}")
        lines.append(f"       seen as ...{seen[group[0]]}...")
    return "\n".join(lines)


@pytest.mark.parametrize("level", ["basic", "enhanced"])
def test_no_planted_value_reaches_any_output(
    adversary: tuple[str, AdversarialSite], level: str, tmp_path: Path, data_dir: Path
) -> None:
    url, site = adversary
    assert len({(p.kind, p.value, p.column) for p in site.planted}) >= 80
    # Every counted value sits on k-1, k and k+1 devices (the in-house application on hundreds).
    counted: dict[tuple[str, str], set[int]] = {}
    for p in site.planted:
        if p.devices is not None:
            counted.setdefault((p.value, p.column), set()).add(p.devices)
    assert all(n >= {K - 1, K, K + 1} or n == {250} for n in counted.values()), counted
    cep = Cep(f"sqlite:///{tmp_path / 'state.db'}")
    _drive(cep, url, site, level, tmp_path, data_dir)
    expected = {"export", "cli", "outbox", "bundle", "preview", "explain", "report", "receiver store", "logs"}
    assert expected | {"receiver report"} <= set(cep.outputs)
    per_output: dict[str, list[Planted]] = {}
    seen: dict[Planted, str] = {}
    for output, items in cep.outputs.items():
        hits: dict[Planted, None] = {}
        for item in items:
            for plant in found(site.planted, item):
                hits[plant] = None
                seen.setdefault(plant, f"{output}: {context(plant, item)}")
        per_output[output] = list(hits)
    summary = _table(site, per_output, level, seen)
    print(summary)
    assert not any(per_output.values()), summary


def test_the_scan_finds_what_is_planted_however_it_is_disguised(
    adversary: tuple[str, AdversarialSite],
) -> None:
    """The scan itself can fail: each plant's raw text (as planted, with its disguise) and the
    feedback comment are found, and an escaped copy in JSON or HTML is found too."""
    _, site = adversary
    for plant in site.planted:
        assert found((plant,), plant.raw) == [plant], plant
        assert found((plant,), json.dumps({"x": plant.raw})) == [plant], plant
        assert found((plant,), html.escape(plant.raw)) == [plant], plant
    assert found(site.planted, "Adobe Acrobat Reader DC 23.8 Windows 11 23H2") == []
