"""Preview = run: what ``preview`` shows for a registered site is the document ``run`` then queues."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from sccm_cep.cli import cli

PERIOD = "2026-Q4"
JOINED, DUE = "2026-11-24", "2026-12-01"  # the first submission is due on day 7: 2026-Q4


def preview_then_run(state_db: Path, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Preview the joined site's period, then take it with ``run --due``: both documents."""
    state = ["--state", f"sqlite:///{state_db}"]
    runner = CliRunner()
    joined = runner.invoke(cli, [*state, "join", code, "--yes", "--as-of", JOINED])
    assert joined.exit_code == 0, joined.output
    shown = runner.invoke(cli, [*state, "preview", code, "--period", PERIOD, "--json"])
    assert shown.exit_code == 0, shown.output
    run = runner.invoke(cli, [*state, "run", "--due", "--as-of", DUE, "--json"])
    assert run.exit_code == 0, run.output
    (outcome,) = json.loads(run.stdout)
    assert (outcome["status"], outcome["period"]) == ("taken", PERIOD), run.output
    with sqlite3.connect(state_db) as db:
        body, sha256, size = db.execute(
            "select body, sha256, size from outbox where kind = 'submission'"
        ).fetchone()
    raw = gzip.decompress(body)
    assert (hashlib.sha256(raw).hexdigest(), len(raw)) == (sha256, size)
    return json.loads(shown.stdout), json.loads(raw)


def assert_same_document(shown: dict[str, Any], written: dict[str, Any]) -> None:
    """Equal in every section and envelope field but the time it was made."""
    shown, written = dict(shown), dict(written)
    shown.pop("generated_at"), written.pop("generated_at")
    assert set(shown) == set(written)
    for key in sorted(written):
        assert shown[key] == written[key], key
