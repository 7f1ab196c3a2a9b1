"""Named points on the way from export to the receiver, where an observer may look in.

Production installs no observer, so ``reached`` does nothing. A test installs one in the
process it runs (``tests/support/pause_run.py`` stops there for good, so the test can kill
the process at that exact point).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

__all__ = ["Observer", "Step", "observe", "reached"]


class Step(StrEnum):
    """Where a run is: each is a point a crash could happen at."""

    #: The submission is written to a temporary folder, not yet in the outbox.
    EXPORT = "export"
    #: The run's outbox rows are committed, nothing sent.
    OUTBOX_COMMITTED = "outbox-committed"
    #: The first document is claimed ``sending``, not yet posted.
    UPLOAD = "upload"
    #: The receiver has answered, the row is not yet marked.
    POSTED = "posted"


Observer = Callable[[Step], None]

_observer: Observer | None = None


def observe(observer: Observer | None) -> None:
    """Call ``observer`` at every step from now on (None: stop observing)."""
    global _observer
    _observer = observer


def reached(step: Step) -> None:
    """Tell the observer, if there is one, that the run got to ``step``."""
    if _observer is not None:
        _observer(step)
