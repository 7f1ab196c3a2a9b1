"""The site's own names are identifiers too: a title that carries the site server's host name
(or the site's name) leaves as nothing but a withheld count, whatever its publisher and count.
The names are read from the site for this check only and appear in no output."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.privacy.own_names import own_name_matcher
from tests.e2e.test_identifier_names import _managed


@pytest.mark.parametrize(
    ("value", "carries"),
    [
        ("CM01 Inventory Helper", True),
        ("cm01-helper", True),
        ("C M 0 1 Agent", True),
        ("Ｃｍ０１ Agent", True),  # full-width
        ("Tool for cm01.corp.example", True),
        ("Quarry North Portal", True),  # the site's name
        ("Microsoft Office", False),
        ("PS1 Tools", False),  # a three-letter code is too short to tell from words
        (
            "CM010 Reader",
            True,
        ),  # without separators a longer word holding the name counts too (errs toward withholding)
    ],
)
def test_the_matcher(value: str, carries: bool) -> None:
    matcher = own_name_matcher(["cm01.corp.example", "Quarry North", "PS1", ""])
    assert matcher(value) is carries


def test_a_title_carrying_the_site_servers_name_never_leaves(
    private_sqlite_site: str, tmp_path: Path
) -> None:
    db = sqlite3.connect(private_sqlite_site.removeprefix("sqlite:///"))
    server = db.execute("select ServerName from v_Site order by SiteCode limit 1").fetchone()[0]
    short = str(server).split(".")[0]
    assert len(short) >= 4
    title = f"{short.upper()} Inventory Helper"
    for rid in _managed(db)[:12]:
        db.execute(
            "insert into v_GS_ADD_REMOVE_PROGRAMS (ResourceID, GroupID, TimeStamp, ProdID0, DisplayName0,"
            " Publisher0, Version0) select ?, coalesce(max(GroupID), 0) + 1, max(TimeStamp), ?, ?, ?, ?"
            " from v_GS_ADD_REMOVE_PROGRAMS where ResourceID = ?",
            (rid, "{own-name}", title, "Microsoft Corporation", "1.0", rid),
        )
    db.commit()
    db.close()
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["export", "--db", private_sqlite_site, "--out", str(out), "--period", "2026-Q4", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (path,) = sorted(out.glob("*.json"))
    text = path.read_text(encoding="utf-8").casefold() + result.stdout.casefold()
    assert short.casefold() not in text and str(server).casefold() not in text
    notes = json.loads(result.stdout)["suppressed"]
    assert any(n["field"] == "product" and n["reason"] == "identifier" for n in notes)
