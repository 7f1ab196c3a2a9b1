"""Both platform implementations behind one fixture, so the same contract tests run against
both: the POSIX one for real, the Windows one over stand-ins of the pywin32 calls."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sccm_cep import platform
from tests.support.fake_win32 import Host, posix_host, windows_host


@pytest.fixture(params=["posix", "windows"])
def host(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    """Each implementation in turn, also as the one the rest of sccm-cep sees."""
    if request.param == "posix" and os.name == "nt":
        pytest.skip("the POSIX implementation runs on POSIX")
    chosen = posix_host() if request.param == "posix" else windows_host()
    monkeypatch.setattr(platform, "current", lambda: chosen.platform)
    yield chosen


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> Host:
    chosen = windows_host()
    monkeypatch.setattr(platform, "current", lambda: chosen.platform)
    return chosen
