"""A synthetic site recorded once per test session and served by the loopback WS-Management endpoint.

The endpoint answers each script with the document recorded for it (``tests.support.wsman.record``),
built offline from the synthetic site's database by ``SimulatedSite``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.synthetic_site import build_site
from tests.support.wsman import Lab, RecordedSite, SimulatedSite, record_site, serve


@pytest.fixture(scope="session")
def winrm_site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("winrm") / "site.db"
    build_site(f"sqlite:///{path}", devices=60, seed=7)
    return path


@pytest.fixture(scope="session")
def simulated(winrm_site_db: Path) -> SimulatedSite:
    return SimulatedSite(str(winrm_site_db))


@pytest.fixture(scope="session")
def recording(simulated: SimulatedSite, tmp_path_factory: pytest.TempPathFactory) -> RecordedSite:
    return RecordedSite(record_site(simulated, tmp_path_factory.mktemp("winrm-recording")))


@pytest.fixture
def lab(recording: RecordedSite) -> Iterator[Lab]:
    running = serve(recording)
    try:
        yield running
    finally:
        running.stop()
