"""Preview, explain and the report take the run's own path: a preview equals what the run queues."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.connector import CollectionRequest, Connector, open_connector
from sccm_cep.export.pipeline import build_request
from sccm_cep.model import DirectoryCoverage, Level
from sccm_cep.privacy.policy import load_policies
from tests.e2e.preview_run import assert_same_document, preview_then_run


def test_preview_of_a_database_site_is_the_document_its_run_queues(
    sqlite_site: str, tmp_path: Path, data_dir: Path
) -> None:
    state = tmp_path / "state.db"
    reg = CliRunner().invoke(
        cli, ["--state", f"sqlite:///{state}", "site", "register", "PS1", "--db", sqlite_site]
    )
    assert reg.exit_code == 0, reg.output
    shown, written = preview_then_run(state, "PS1")
    assert shown["software"]["software"] and shown["sources"]["software"] == "sccm_sql"
    assert_same_document(shown, written)


def test_the_directory_coverage_source_is_a_connector_behind_the_same_seam() -> None:
    from sccm_cep.collector.directory import directory_settings

    settings = directory_settings({"ldap_url": "ldaps://dc01.corp.example", "ldap_password_ref": "env:X"})
    source = open_connector("ldap", settings=settings)
    assert isinstance(source, Connector) and source.name == "ldap"
    request = build_request(load_policies(), Level.BASIC)
    assert [s.record_type for s in source.streams(request)] == [DirectoryCoverage]
    assert source.skipped(request) == []
    others = CollectionRequest(
        Level.BASIC, {k: v for k, v in request.fields.items() if k != "directory_coverage"}
    )
    assert list(source.streams(others)) == []
