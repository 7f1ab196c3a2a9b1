"""`sccm-cep export` on every site profile: real sites differ, and the export still succeeds,
leaks nothing, and names each field the site could not give (and nothing it could)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from fixtures.synthetic_site import CANARIES, PROFILE_NAMES
from sccm_cep.cli import cli
from sccm_cep.contract.submission import load_schema

LEVELS = ("basic", "enhanced")

#: (record, field) each profile must name as unavailable, at least, per level: what the
#: profile documents as absent and the policies publish (fixtures/synthetic_site/README.md).
MUST_NAME: dict[str, dict[str, set[tuple[str, str]]]] = {
    "default_inventory": {
        "basic": {("operating_system", "architecture")},
        "enhanced": {("operating_system", "architecture"), ("device", "architecture")},
    },
}
#: Profiles whose differences are none of the exported fields' business: nothing is named.
NOTHING_MISSING = {"full", "cm2203", "extensions", "remote_provider"}


def _export(url: str, out: Path, level: str) -> tuple[int, str, dict[str, Any] | None]:
    result = CliRunner().invoke(
        cli,
        ["export", "--db", url, "--out", str(out), "--period", "2026-Q4", "--level", level],
        catch_exceptions=False,
    )
    files = sorted(out.glob("*.json")) if out.exists() else []
    doc = json.loads(files[0].read_text(encoding="utf-8")) if files else None
    return result.exit_code, result.output, doc


def _schema(url: str) -> dict[str, set[str]]:
    """Each view of the site database and its columns."""
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        names = [r[0] for r in db.execute("select name from sqlite_master where type in ('table', 'view')")]
        return {n: {r[1] for r in db.execute(f'pragma table_info("{n}")')} for n in names}
    finally:
        db.close()


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_export_succeeds_on_every_profile_and_names_what_the_site_lacks(
    site_profile: Callable[[str], str], profile: str, level: str, data_dir: Path, tmp_path: Path
) -> None:
    url = site_profile(profile)
    code, printed, doc = _export(url, tmp_path / "out", level)
    assert code == 0, printed
    assert doc is not None
    jsonschema.validate(doc, load_schema())
    text = json.dumps(doc).lower() + printed.lower()
    leaked = [v for values in CANARIES.values() for v in values if v.lower() in text]
    assert not leaked, leaked
    assert doc["hardware"] and doc["operating_systems"]["operating_system"]

    named = {(u["record"], u["field"]) for u in doc["unavailable"]}
    # Every view or column the submission says is missing really is missing from this site.
    schema = _schema(url)
    for note in doc["unavailable"]:
        for item in note["missing"]:
            view, _, column = item.partition(".")
            if column:
                assert view in schema and column not in schema[view], item
            else:
                assert view not in schema, item
    assert MUST_NAME.get(profile, {}).get(level, set()) <= named
    if profile in NOTHING_MISSING:
        assert named == set(), named
    if named:
        assert "Not available on this site" in printed


def test_profiles_give_the_same_figures_where_they_agree(
    site_profile: Callable[[str], str], data_dir: Path, tmp_path: Path
) -> None:
    """A profile that only adds (extensions) or moves (remote provider) data exports the same
    operating systems as the full site: extra views and columns are ignored."""
    docs = {}
    for profile in ("full", "extensions", "remote_provider"):
        code, printed, doc = _export(site_profile(profile), tmp_path / profile, "basic")
        assert code == 0 and doc is not None, printed
        docs[profile] = doc
    full = docs["full"]["operating_systems"]
    assert docs["extensions"]["operating_systems"] == full
    assert docs["remote_provider"]["operating_systems"] == full
    assert docs["extensions"]["software"] == docs["full"]["software"]
