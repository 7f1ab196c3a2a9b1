"""Configuration Manager current-branch version (e.g. "2403") from a build or version string.

Uses only Microsoft's official build table (``data/sccm.yaml``); an unknown build gives None
rather than a guess.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sccm_cep.normalize._data import load
from sccm_cep.normalize._text import bounded

__all__ = ["sccm_build", "sccm_release"]

_MAX_INPUT = 64
_DOTTED = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,6})(?:\.[0-9]{1,6})?")
_BARE = re.compile(r"[0-9]{1,6}")


@lru_cache(maxsize=1)
def _builds() -> dict[int, str]:
    return {int(k): str(v) for k, v in load("sccm")["builds"].items()}


def sccm_build(version_or_build: str | int | None) -> int | None:
    """The build number in ``version_or_build``: 9128 from 9128, "9128" or "5.00.9128.1000"."""
    if isinstance(version_or_build, bool):
        return None
    if isinstance(version_or_build, int):
        return version_or_build if version_or_build > 0 else None
    text = bounded(version_or_build, _MAX_INPUT)
    if text is None:
        return None
    dotted = _DOTTED.fullmatch(text)
    if dotted:
        return int(dotted.group(3))
    if _BARE.fullmatch(text):
        return int(text)
    return None


def sccm_release(version_or_build: str | int | None) -> str | None:
    """The ConfigMgr version for a build: 9128 / "5.00.9128.1000" → "2403"; unknown → None."""
    build = sccm_build(version_or_build)
    return None if build is None else _builds().get(build)


def release_table() -> dict[int, str]:
    """A copy of the official build → version table."""
    return dict(_builds())
