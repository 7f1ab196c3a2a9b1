"""When a submission is due: pure date arithmetic over enrollment, cadence and what was taken.

Quarterly periods are calendar quarters (``2026-Q4``). Biweekly periods are 14-day windows
counted from the first submission (``2026-12-01/P14D``). The first submission is taken on
the 7th day after joining (or the first run after it); then the first run in each new
period takes that period's submission. Missed periods are not back-filled: inventory cannot
be taken in the past, so after a gap the current period is taken, once.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "FIRST_SUBMISSION_DAY",
    "Cadence",
    "Period",
    "due_period",
    "first_due_date",
    "next_due_date",
    "parse_period",
    "period_of",
]

FIRST_SUBMISSION_DAY = 7
BIWEEKLY_DAYS = 14
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_WINDOW = re.compile(r"^(\d{4}-\d{2}-\d{2})/P14D$")


class Cadence(StrEnum):
    QUARTERLY = "quarterly"
    BIWEEKLY = "biweekly"


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A submission period: its key as written in documents, and its first and last day."""

    start: date
    end: date
    key: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def _quarter(day: date) -> Period:
    q = (day.month - 1) // 3
    start = date(day.year, q * 3 + 1, 1)
    nxt = date(day.year + 1, 1, 1) if q == 3 else date(day.year, q * 3 + 4, 1)
    return Period(start, nxt - timedelta(days=1), f"{day.year}-Q{q + 1}")


def _window(anchor: date, day: date) -> Period:
    index = (day - anchor).days // BIWEEKLY_DAYS
    start = anchor + timedelta(days=index * BIWEEKLY_DAYS)
    end = start + timedelta(days=BIWEEKLY_DAYS - 1)
    return Period(start, end, f"{start.isoformat()}/P14D")


def first_due_date(joined: date) -> date:
    """The day the first submission is due: the 7th day after joining."""
    return joined + timedelta(days=FIRST_SUBMISSION_DAY)


def period_of(cadence: Cadence, day: date, *, first_submission: date | None = None) -> Period:
    """The period ``day`` belongs to. Biweekly windows count from the first submission
    (a site with none yet opens its first window on ``day``)."""
    if cadence is Cadence.QUARTERLY:
        return _quarter(day)
    anchor = first_submission or day
    if day < anchor:
        raise ValueError("a day before the first submission has no biweekly period")
    return _window(anchor, day)


def parse_period(key: str) -> Period:
    """The period a key names; ValueError for anything else."""
    if match := _QUARTER.match(key):
        return _quarter(date(int(match.group(1)), int(match.group(2)) * 3 - 2, 1))
    if match := _WINDOW.match(key):
        start = date.fromisoformat(match.group(1))
        return Period(start, start + timedelta(days=BIWEEKLY_DAYS - 1), key)
    raise ValueError(f"'{key}' is not a period (YYYY-Qn or YYYY-MM-DD/P14D)")


def due_period(
    cadence: Cadence,
    *,
    joined: date,
    today: date,
    taken: Collection[str],
    first_submission: date | None = None,
    left: date | None = None,
) -> Period | None:
    """The period whose submission should be taken today, or None when nothing is due.

    ``taken`` holds the keys of periods that already have a submission; a period is taken
    at most once, whatever the number of runs.
    """
    if left is not None and left <= today:
        return None
    if today < first_due_date(joined):
        return None
    period = period_of(cadence, today, first_submission=first_submission)
    return None if period.key in taken else period


def next_due_date(
    cadence: Cadence,
    *,
    joined: date,
    today: date,
    taken: Collection[str],
    first_submission: date | None = None,
    left: date | None = None,
) -> date | None:
    """The first day from ``today`` on which a run would take a submission (None after leaving)."""
    if left is not None and left <= today:
        return None
    first = first_due_date(joined)
    if today < first:
        return first
    current = period_of(cadence, today, first_submission=first_submission)
    if current.key not in taken:
        return today
    return current.end + timedelta(days=1)
