"""The contributor every document carries (one per collector installation, unchanged by key
rotation, shared on purpose by one organization's collectors), and erasure after a rotation,
end to end: collector → a real receiver → the receiver's report."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from sccm_cep.receiver.app import Receiver
from sccm_cep.receiver.store import received_documents


def _cep(state: Path, *args: str, code: int = 0) -> Result:
    from sccm_cep.cli import cli

    result = CliRunner().invoke(cli, ["--state", f"sqlite:///{state}", *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with Receiver(f"sqlite:///{tmp_path / 'receiver.db'}") as running:
        yield running


def _stored(receiver: Receiver) -> list[dict[str, Any]]:
    t = received_documents
    with receiver.engine.connect() as conn:
        rows = conn.execute(select(t.c.kind, t.c.site, t.c.contributor, t.c.period)).mappings()
        return [dict(r) for r in rows]


def test_rotation_keeps_the_contributor_and_leaving_erases_every_pseudonym(
    tmp_path: Path, data_dir: Path, sqlite_site: str, receiver: Receiver
) -> None:
    state = tmp_path / "state.db"
    send = ("--endpoint", receiver.url)
    for code in ("PS1", "PS2"):
        _cep(state, "site", "register", code, "--db", sqlite_site)
        _cep(state, "join", code, "--yes", "--as-of", "2026-11-24")
    _cep(state, "run", "--due", "--as-of", "2026-12-01", *send)
    _cep(state, "site", "rotate-key", "PS1", "--yes")
    _cep(state, "run", "--due", "--as-of", "2027-01-02", *send)
    stored = _stored(receiver)
    assert len(stored) == 4 and len({r["site"] for r in stored}) == 3  # PS1 under two keys, PS2
    (contributor,) = {r["contributor"] for r in stored}
    assert contributor and len(contributor) == 32
    db = receiver.engine.url.render_as_string(hide_password=False)
    report = json.loads(_cep(state, "receiver", "report", "--db", db, "--json", "--k", "1").stdout)
    assert (report["sites"], report["contributors"]) == (3, 1)
    ps1 = {r["site"] for r in stored} - {r["site"] for r in stored if r["period"] == "2026-Q4"}
    left = json.loads(_cep(state, "leave", "PS1", "--yes", "--as-of", "2027-01-05", "--json").stdout)
    assert left["deletion_request"]
    _cep(state, "send", *send)
    after = _stored(receiver)
    (request,) = [r for r in after if r["kind"] == "deletion-request"]
    assert request["contributor"] == contributor
    kept = [r for r in after if r["kind"] == "submission"]
    # Only PS2's two submissions are left: nothing under PS1's old or new pseudonym.
    assert len(kept) == 2 and len({r["site"] for r in kept}) == 1
    assert not ps1 & {r["site"] for r in kept}


def test_collectors_given_one_contributor_reference_are_one_contributor(
    tmp_path: Path, data_dir: Path, sqlite_site: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORG_CONTRIBUTOR", "ab" * 32)
    # Three collector hosts (one state store each) with a site each; two of one organization.
    hosts = {name: tmp_path / f"{name}.db" for name in ("east", "west", "other")}
    for (name, state), code in zip(hosts.items(), ("PS1", "PS2", "PS3"), strict=True):
        _cep(state, "site", "register", code, "--db", sqlite_site)
        shared = ("--contributor", "env:ORG_CONTRIBUTOR") if name != "other" else ()
        _cep(state, "join", code, "--yes", "--as-of", "2026-11-24", *shared)
        _cep(state, "run", "--due", "--as-of", "2026-12-01", "--endpoint", receiver.url)
    stored = _stored(receiver)
    counted = Counter(r["contributor"] for r in stored)
    assert len(stored) == 3 and sorted(counted.values()) == [1, 2]
    ((shared, _two),) = counted.most_common(1)  # east and west
    # A store that has its contributor refuses another one, naming what to do.
    _cep(hosts["other"], "site", "register", "PS4", "--db", sqlite_site)
    refused = _cep(hosts["other"], "join", "PS4", "--yes", "--contributor", "env:ORG_CONTRIBUTOR", code=3)
    assert "already has a different contributor secret" in refused.output
    assert "ab" * 32 not in refused.output
    # The pseudonym was recorded when it was set: a run needs no copy of the secret.
    monkeypatch.delenv("ORG_CONTRIBUTOR")
    _cep(hosts["east"], "run", "--period", "2027-Q1", "--site", "PS1", "--endpoint", receiver.url)
    latest = [r for r in _stored(receiver) if r["period"] == "2027-Q1"]
    assert [r["contributor"] for r in latest] == [shared]
