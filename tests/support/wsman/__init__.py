"""A loopback WS-Management endpoint (WinRS and PSRP, Basic auth) serving a simulated SCCM site for tests."""

from __future__ import annotations

from tests.support.wsman.server import Lab, start_lab
from tests.support.wsman.site import SimulatedSite

__all__ = ["Lab", "SimulatedSite", "start_lab"]
