"""A loopback WS-Management endpoint (WinRS and PSRP, Basic auth) serving recorded script outputs for tests."""

from __future__ import annotations

from typing import Any

from sccm_cep_connectors.winrm import WinRMConnector
from tests.support.wsman.record import RecordedSite, record_site
from tests.support.wsman.server import USER, Lab, start_lab
from tests.support.wsman.site import SimulatedSite

__all__ = ["Lab", "RecordedSite", "SimulatedSite", "lab_connector", "record_site", "serve", "start_lab"]


def serve(recording: RecordedSite) -> Lab:
    """A running endpoint for a recording: its site server and one host per recorded client."""
    return start_lab(
        recording.site_output,
        [lambda s, c=c: recording.client_output(c, s) for c in recording.clients],  # type: ignore[misc]
    )


def lab_connector(
    lab: Lab, password: str, clients: list[str] | None = None, **options: Any
) -> WinRMConnector:
    """A WinRM connector to ``lab`` as the endpoint accepts it (Basic auth over plain HTTP on
    loopback, no message encryption); ``clients`` defaults to every client of the lab."""
    return WinRMConnector(
        lab.site_server.address,
        [c.address for c in lab.clients] if clients is None else clients,
        username=USER,
        password=password,
        auth="basic",
        ssl=False,
        encryption="never",
        **options,
    )
