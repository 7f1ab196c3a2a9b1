"""Names that carry identifiers never leave, however many devices report them.

A copy of the synthetic site gets software titles, publishers, computer models, makers and
processor names with identifiers planted in them (some disguised with zero-width, bidi,
full-width, look-alike and NUL characters), each on more than k devices. Both levels are
exported; no planted identifier appears in the submission, and the ordinary names still do.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.privacy.identifiers import normalize_for_detection

DEVICES_PER_NAME = 12  # well above k = 5

# (planted raw name, the identifier in it that must not leave, in plain ASCII)
SOFTWARE: list[tuple[str, str]] = [
    (
        "Payroll Helper for hortensia.quackenbush@vandermolen-quarry.example",
        "hortensia.quackenbush@vandermolen-quarry.example",
    ),
    ("Sprengplaner (VDMQUARRY\\otto.zwiebelmann)", "VDMQUARRY\\otto.zwiebelmann"),
    ("QuarryWeigh j\u200bdoe\u200b@\u200bcorp.example", "jdoe@corp.example"),
    ("Remote Tool ｓｒｖ０１．ｃｏｎｔｏｓｏ．ｃｏｍ", "srv01.contoso.com"),
    ("Agent јdое@соrр.ехаmрlе", "jdoe@corp.example"),
    ("Sync \u202emoc.elpmaxe@eodj", "moc.elpmaxe@eodj"),
    ("Mailer mjones\x00@corp.example", "mjones@corp.example"),
    ("Hotline +49 6221 7394188", "+49 6221 7394188"),
    ("Share \\\\fs-quarryhd01\\apps", "\\\\fs-quarryhd01"),
    (
        "Owner S-1-5-21-2718281828-3141592653-1618033988-24601",
        "S-1-5-21-2718281828-3141592653-1618033988-24601",
    ),
    ("Licensed to F4:39:09:5E:71:C3", "F4:39:09:5E:71:C3"),
    ("Backup of C:\\Users\\otto.zwiebelmann", "otto.zwiebelmann"),
]
PUBLISHERS: list[tuple[str, str]] = [
    ("Quarry IT (helpdesk@vandermolen-quarry.example)", "helpdesk@vandermolen-quarry.example"),
    ("Built on WKS-0042.ad.quarry.local", "WKS-0042.ad.quarry.local"),
]
MODELS: list[tuple[str, str]] = [
    ("Latitude 5440 qkbwks-7731.ad.vandermolen-quarry.example", "qkbwks-7731.ad.vandermolen-quarry.example"),
    ("OptiPlex 7010 10.77.148.203", "10.77.148.203"),
]
MAKERS: list[tuple[str, str]] = [("Dell Inc. ｊｄｏｅ＠ｃｏｒｐ．ｅｘａｍｐｌｅ", "jdoe@corp.example")]
CPUS: list[tuple[str, str]] = [("Intel(R) Core(TM) i7-1165G7 CONTOSO\\jdoe", "CONTOSO\\jdoe")]


def _managed(db: sqlite3.Connection) -> list[int]:
    rows = db.execute(
        "select s.ResourceID from v_R_System s join v_GS_COMPUTER_SYSTEM c on c.ResourceID = s.ResourceID "
        "join v_GS_PROCESSOR p on p.ResourceID = s.ResourceID "
        "where s.Client0 = 1 and coalesce(s.Obsolete0, 0) = 0 and coalesce(s.Decommissioned0, 0) = 0 "
        "group by s.ResourceID order by s.ResourceID"
    )
    return [r[0] for r in rows]


def _plant(url: str) -> None:
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    ids = _managed(db)
    needed = DEVICES_PER_NAME * (len(SOFTWARE) + len(MODELS) + len(MAKERS) + len(CPUS))
    assert len(ids) >= needed
    groups = iter(ids[i : i + DEVICES_PER_NAME] for i in range(0, needed, DEVICES_PER_NAME))
    publishers = [p for p, _ in PUBLISHERS]
    for n, (name, _) in enumerate(SOFTWARE):
        publisher = publishers[n] if n < len(publishers) else "Vandermolen Quarrying AG"
        for rid in next(groups):
            db.execute(
                "insert into v_GS_ADD_REMOVE_PROGRAMS (ResourceID, GroupID, TimeStamp, ProdID0, DisplayName0,"
                " Publisher0, Version0) select ?, coalesce(max(GroupID), 0) + 1, max(TimeStamp), ?, ?, ?, ?"
                " from v_GS_ADD_REMOVE_PROGRAMS where ResourceID = ?",
                (rid, f"{{planted-{n}}}", name, publisher, "2.4.1", rid),
            )
    for column, table, names in (
        ("Model0", "v_GS_COMPUTER_SYSTEM", MODELS),
        ("Manufacturer0", "v_GS_COMPUTER_SYSTEM", MAKERS),
        ("Name0", "v_GS_PROCESSOR", CPUS),
    ):
        for name, _ in names:
            chosen = next(groups)
            marks = ",".join("?" * len(chosen))
            db.execute(f"update {table} set {column} = ? where ResourceID in ({marks})", (name, *chosen))
    db.commit()
    db.close()


def _export(url: str, out: Path, level: str) -> tuple[dict[str, Any], dict[str, Any]]:
    result = CliRunner().invoke(
        cli,
        ["export", "--db", url, "--out", str(out), "--period", "2026-Q4", "--level", level, "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (path,) = sorted(out.glob("*.json"))
    return json.loads(path.read_text(encoding="utf-8")), json.loads(result.stdout)


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _fold(text: str) -> str:
    return "".join(normalize_for_detection(unicodedata.normalize("NFKC", text)).split()).casefold()


def _sent(doc: dict[str, Any], section: str, record: str, field: str) -> set[str]:
    return {row[field] for row in doc[section][record]}


@pytest.mark.parametrize("level", ["basic", "enhanced"])
def test_planted_identifiers_never_leave_in_names(
    sqlite_site: str, private_sqlite_site: str, data_dir: Path, tmp_path: Path, level: str
) -> None:
    _plant(private_sqlite_site)
    doc, summary = _export(private_sqlite_site, tmp_path / "planted", level)
    # After JSON unescaping (json.loads) and NFKC, with format characters gone and spaces
    # closed, no planted identifier is anywhere in the document, nor its raw name.
    text = _fold(" ".join(_strings(doc)))
    planted = [*SOFTWARE, *PUBLISHERS, *MODELS, *MAKERS, *CPUS]
    leaked = [ident for _, ident in planted if _fold(ident) in text]
    leaked += [name for name, _ in planted if _fold(name) in text]
    assert not leaked
    # Every planted name was withheld for its identifier, and counted as such.
    notes = {(s["record"], s["field"]): s for s in summary["suppressed"] if s["reason"] == "identifier"}
    assert notes[("software", "product")]["values"] >= len(SOFTWARE)
    assert notes[("software", "publisher")]["values"] >= len(PUBLISHERS)
    assert ("hardware_model", "model") in notes
    assert ("hardware_model", "vendor") in notes
    assert ("hardware_cpu", "cpu_name") in notes
    # The ordinary names still go out: every title and publisher the untouched site sends.
    baseline, _ = _export(sqlite_site, tmp_path / "baseline", level)
    for field in ("product", "publisher"):
        expected = _sent(baseline, "software", "software", field)
        assert len(expected) > 20
        assert expected <= _sent(doc, "software", "software", field)
    assert "other" in _sent(doc, "hardware", "hardware_model", "model")
    assert len(_sent(doc, "hardware", "hardware_cpu", "cpu_name")) > 3
