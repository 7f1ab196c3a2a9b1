"""WinRM connector: read-only PowerShell scripts run on the SMS Provider and clients (pypsrp or pywinrm)."""

from __future__ import annotations

from connectors.winrm.connector import WinRMConnector
from connectors.winrm.settings import WinRMSettings
from connectors.winrm.transport import Session, SessionFactory

__all__ = ["Session", "SessionFactory", "WinRMConnector", "WinRMSettings"]
