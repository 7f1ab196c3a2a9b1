"""Fixtures that provision a throwaway Samba AD DC; skipped locally without samba or root, failing under CI=true."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.services.samba.samba import SambaDc, dc_name_resolves, samba_binaries, start_samba


def _require_samba() -> None:
    missing = None
    if samba_binaries() is None:
        missing = "samba-ad-dc is not installed (apt-get install samba-ad-dc ldb-tools)"
    elif os.geteuid() != 0:
        missing = "a Samba AD DC needs root"
    if missing is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{missing}; CI must run the Samba AD tests (scripts/ensure-services, as root)")
        pytest.skip(f"{missing}; CI never skips this")


@pytest.fixture(scope="session")
def samba_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDc]:
    """A Samba AD DC for corp.example with the ConfigMgr schema, two sites, three MPs, 20 computers."""
    _require_samba()
    server = start_samba(tmp_path_factory.mktemp("samba"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def samba_dc(samba_session: SambaDc) -> Iterator[SambaDc]:
    """The session's DC, with its name (dc1.corp.example) resolving to 127.0.0.2 during the test."""
    with dc_name_resolves():
        yield samba_session


@pytest.fixture
def svc_password(samba_dc: SambaDc, monkeypatch: pytest.MonkeyPatch) -> str:
    """svc-cep's password as a secret reference (the value sits in the environment)."""
    monkeypatch.setenv("SCCM_CEP_TEST_SAMBA_PW", samba_dc.svc_password)
    return "env:SCCM_CEP_TEST_SAMBA_PW"


@pytest.fixture
def admin_password(samba_dc: SambaDc, monkeypatch: pytest.MonkeyPatch) -> str:
    """Administrator's password as a secret reference."""
    monkeypatch.setenv("SCCM_CEP_TEST_SAMBA_ADMIN_PW", samba_dc.admin_password)
    return "env:SCCM_CEP_TEST_SAMBA_ADMIN_PW"
