"""Fixtures that start throwaway slapd instances; skipped locally without slapd, failing under CI=true."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.services.ldap.slapd import Slapd, slapd_binary, start_slapd


def _require_slapd() -> None:
    if slapd_binary() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "slapd is not installed; CI must run the LDAP service tests (scripts/ensure-services)"
            )
        pytest.skip("slapd is not installed (apt-get install slapd ldap-utils; CI never skips this)")


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """slapd with the ConfigMgr schema, two published domains and one that never published."""
    _require_slapd()
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def unextended_slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """slapd whose schema has no ConfigMgr classes (an AD forest never extended)."""
    _require_slapd()
    server = start_slapd(tmp_path_factory.mktemp("slapd-plain"), configmgr_schema=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def svc_password(slapd: Slapd, monkeypatch: pytest.MonkeyPatch) -> str:
    """The bind account's password as a secret reference (the value sits in the environment)."""
    monkeypatch.setenv("SCCM_CEP_TEST_LDAP_PW", slapd.password)
    return "env:SCCM_CEP_TEST_LDAP_PW"
