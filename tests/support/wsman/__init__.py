"""A loopback WS-Management endpoint (WinRS and PSRP, Basic auth) serving recorded script outputs for tests."""

from __future__ import annotations

from tests.support.wsman.record import RecordedSite, record_site
from tests.support.wsman.server import Lab, start_lab
from tests.support.wsman.site import SimulatedSite

__all__ = ["Lab", "RecordedSite", "SimulatedSite", "record_site", "serve", "start_lab"]


def serve(recording: RecordedSite) -> Lab:
    """A running endpoint for a recording: its site server and one host per recorded client."""
    return start_lab(
        recording.site_output,
        [lambda s, c=c: recording.client_output(c, s) for c in recording.clients],  # type: ignore[misc]
    )
