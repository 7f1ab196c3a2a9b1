"""A synthetic site served by the loopback WS-Management endpoint, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.synthetic_site import build_site
from tests.support.wsman import Lab, SimulatedSite, start_lab


@pytest.fixture(scope="session")
def winrm_site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("winrm") / "site.db"
    build_site(f"sqlite:///{path}", devices=60, seed=7)
    return path


@pytest.fixture(scope="session")
def simulated(winrm_site_db: Path) -> SimulatedSite:
    return SimulatedSite(str(winrm_site_db))


@pytest.fixture
def lab(simulated: SimulatedSite) -> Iterator[Lab]:
    running = start_lab(
        simulated.site_output, [lambda s, r=rid: simulated.client_output(r, s) for rid in simulated.clients]
    )
    try:
        yield running
    finally:
        running.stop()
