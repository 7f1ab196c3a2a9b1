"""SCCM site database connector: SQLAlchemy Core over the documented ``v_`` views, read-only."""

from __future__ import annotations

from .connector import SqlConnector

__all__ = ["SqlConnector"]
