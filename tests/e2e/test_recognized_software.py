"""Recognized software only (issue 13): public titles leave by name, in-house ones only counted.

A copy of the synthetic site gets two in-house titles on many devices: one named after the
customer, one that merely contains a public name ("... Firefox Wrapper"). Both levels are
exported: neither name nor the customer's appears anywhere in the submission, their
installations leave in one ``unrecognized`` row, the summary counts them, and the public
titles of the site still leave by name, most installations among them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.privacy.recognized import UNRECOGNIZED

# (display name, publisher, devices): each well above k = 5.
PLANTED = [
    ("Vandermolen Quarry Dispatch 4.2", "Vandermolen Quarrying AG", 60),
    ("Contoso Firefox Wrapper", "Contoso IT Services", 20),
]
PUBLIC = {"Mozilla Firefox", "Google Chrome", "7-Zip", "Notepad++", "Microsoft Edge"}


def _plant(url: str) -> None:
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    ids = [r[0] for r in db.execute("select distinct ResourceID from v_GS_ADD_REMOVE_PROGRAMS order by 1")]
    assert len(ids) >= sum(n for _, _, n in PLANTED)
    start = 0
    for n, (name, publisher, devices) in enumerate(PLANTED):
        for rid in ids[start : start + devices]:
            db.execute(
                "insert into v_GS_ADD_REMOVE_PROGRAMS (ResourceID, GroupID, TimeStamp, ProdID0, DisplayName0,"
                " Publisher0, Version0) select ?, coalesce(max(GroupID), 0) + 1, max(TimeStamp), ?, ?, ?, ?"
                " from v_GS_ADD_REMOVE_PROGRAMS where ResourceID = ?",
                (rid, f"{{inhouse-{n}}}", name, publisher, "4.2.17", rid),
            )
        start += devices
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


@pytest.mark.parametrize("level", ["basic", "enhanced"])
def test_public_titles_leave_by_name_and_in_house_ones_only_as_a_count(
    private_sqlite_site: str, data_dir: Path, tmp_path: Path, level: str
) -> None:
    _plant(private_sqlite_site)
    doc, summary = _export(private_sqlite_site, tmp_path / "out", level)
    text = json.dumps(doc, ensure_ascii=False).casefold()
    for word in ("vandermolen", "quarry dispatch", "contoso", "firefox wrapper"):
        assert word not in text, word
    rows = doc["software"]["software"]
    products = {r["product"] for r in rows}
    assert products >= PUBLIC
    # Every in-house title (the planted ones and the site's own) in one row: no name, no version.
    unknown = [r for r in rows if r["product"] == UNRECOGNIZED]
    assert all(r["version"] is None for r in unknown)
    assert sum(r["installations"] for r in unknown) >= sum(n for _, _, n in PLANTED)
    notes = {
        (s["record"], s["field"]): s
        for s in summary["suppressed"]
        if s["reason"] == "unrecognized" and s["record"] == "software"
    }
    assert notes[("software", "product")]["values"] >= len(PLANTED)
    assert notes[("software", "product")]["devices"] >= sum(n for _, _, n in PLANTED)
    assert notes[("software", "publisher")]["values"] >= len(PLANTED)
    # Most installations still go out under a recognized name (98 % on the 2000-device demo).
    total = sum(r["installations"] for r in rows)
    named = sum(r["installations"] for r in rows if r["product"] not in (UNRECOGNIZED, "other", None))
    print(f"\n{level}: {named / total:.1%} of {total} installations sent under a recognized name")
    assert named / total > 0.9
