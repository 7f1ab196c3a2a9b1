"""The fuzz suite's budget and its measurements: every target runs a fixed number of inputs
(``FUZZ_EXAMPLES`` scales them all, e.g. 10 for a longer local run) and reports what it ran,
how long it took and the peak memory (tracemalloc) of its largest input."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings

T = TypeVar("T")

#: Multiplies every target's number of inputs (1 in ``make test``).
SCALE = max(1, int(os.environ.get("FUZZ_EXAMPLES", "1")))


def budget(examples: int) -> settings:
    """Hypothesis settings for one target: ``examples`` inputs (times SCALE), no per-example
    deadline (a wall-clock limit flakes on a shared machine; the target's total time is printed
    and each input's time is bounded by the caps under test), the example database off so a run
    is what its seed makes it."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


@dataclass
class Meter:
    """Counts a target's inputs and measures the peak memory of each one."""

    name: str
    cap_bytes: int
    inputs: int = 0
    peak: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def run(self, call: Callable[[], T]) -> T:
        """Run one input under tracemalloc; the peak must stay under the target's cap."""
        self.inputs += 1
        tracemalloc.start()
        try:
            return call()
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            self.peak = max(self.peak, peak)
            assert peak < self.cap_bytes, (
                f"{self.name}: one input took {peak:,} bytes (cap {self.cap_bytes:,})"
            )

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def report(self) -> str:
        seconds = time.monotonic() - self.started
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"fuzz {self.name}: {self.inputs} inputs in {seconds:.1f} s, peak {self.peak / 2**20:.1f} MiB"
            f" (cap {self.cap_bytes / 2**20:.0f} MiB); {kinds}"
        )


@pytest.fixture
def meter(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., Meter]]:
    """``meter(cap_bytes)`` for the running test; its line is printed when the test ends (shown
    with ``pytest -s`` or in the summary of ``-rA``)."""
    made: list[Meter] = []

    def make(cap_bytes: int, name: str | None = None) -> Meter:
        m = Meter(name or request.node.name, cap_bytes)
        made.append(m)
        return m

    yield make
    with capsys.disabled():
        for m in made:
            print("\n" + m.report())


def one_line(text: str) -> bool:
    """An error as the CLI prints it: one line, no traceback."""
    return "\n" not in text.strip() and "Traceback" not in text


# A real state store with pending documents (site PS1, two periods), shared with tests/delivery.
from tests.delivery.conftest import state_url, store, template_state  # noqa: E402,F401
