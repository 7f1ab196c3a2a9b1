"""Preview sends and stores nothing and shows what export would write; explain marks raw values local."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.review.preview import LOCAL_ONLY


def test_preview_shows_the_document_export_writes_and_stores_nothing(
    cep: Any, sqlite_site: str, tmp_path: Path
) -> None:
    before = cep.json("outbox", "list")
    shown = cep.json("preview", "PS1", "--period", "2026-Q4")
    assert cep.json("outbox", "list") == before == []
    out = tmp_path / "out"
    args = ["export", "--db", sqlite_site, "--out", str(out), "--period", "2026-Q4"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    written = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    # export keys pseudonyms with its own secret, a registered site with the site's secret.
    for key in ("generated_at", "document_id", "site", "content_digest"):
        shown.pop(key), written.pop(key)
    # A registered site's documents name the installation's contributor; a one-off export has none.
    assert re.fullmatch(r"[0-9a-f]{32}", shown.pop("contributor")) and "contributor" not in written
    assert _unkeyed(shown) == _unkeyed(written)


def _unkeyed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unkeyed(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_unkeyed(v) for v in value), key=repr)
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value):
        return "<pseudonym>"
    return value


def test_preview_table_names_every_section(cep: Any) -> None:
    text = cep("preview", "PS1").stdout
    assert "Nothing was stored or sent" in text
    for section in ("site_profile", "hardware", "operating_systems", "software", "deployments"):
        assert section in text


def test_explain_shows_suppression_and_marks_raw_values_local_only(cep: Any) -> None:
    explained = cep.json("preview", "PS1", "--explain", "software.publisher")
    assert explained["local_only"] is True and explained["message"] == LOCAL_ONLY
    assert 1 <= len(explained["examples"]) <= 5
    sent = {e["sent"] for e in explained["examples"]}
    assert "other" in sent and len(sent) > 1
    assert "local only" in cep("preview", "PS1", "--explain", "software.publisher").stdout


def test_explain_of_a_pseudonymized_field_matches_what_is_sent(cep: Any) -> None:
    explained = cep.json("preview", "PS1", "--explain", "deployment.deployment_id", "--period", "2026-Q4")
    shown = cep.json("preview", "PS1", "--period", "2026-Q4")
    sent_ids = {d["deployment_id"] for d in shown["deployments"]["deployment"]}
    assert explained["examples"] and {e["sent"] for e in explained["examples"]} <= sent_ids


def test_explain_never_reads_a_dropped_field(cep: Any) -> None:
    explained = cep.json("preview", "PS1", "--explain", "device.host_name", "--level", "enhanced")
    assert explained["examples"] == [] and "never read" in explained["message"]
    cep("preview", "PS1", "--explain", "device.nothing", code=3)


@pytest.mark.parametrize("field", ["memory_gb", "cores", "os_release", "model_family", "client_version"])
def test_explain_of_a_device_field_shows_what_the_k_anonymous_rows_send(cep: Any, field: str) -> None:
    """Device rows are generalized as a whole table: explain shows each value at the level the
    export's plan chose, so every example's sent value is one the device rows carry."""
    args = ("--level", "enhanced", "--period", "2026-Q4")
    explained = cep.json("preview", "PS1", "--explain", f"device.{field}", *args)
    shown = cep.json("preview", "PS1", *args)
    sent_values = {row[field] for row in shown["devices"]["device"]}
    examples = explained["examples"]
    assert examples and all(e["sent"] is not None for e in examples)
    # 'other' (a rare value) may also be on rows that the plan then suppressed as a whole.
    assert {e["sent"] for e in examples} <= sent_values | {"other"}
