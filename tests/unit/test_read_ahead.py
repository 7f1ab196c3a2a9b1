"""Reading streams ahead in background threads gives exactly what reading them directly gives,
raises a source's error where its stream is read, holds a bounded number of records, and stops
its threads however the export ends; an export with it writes the same document as without."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sccm_cep import model as m
from sccm_cep.connector import open_connector
from sccm_cep.errors import SourceError
from sccm_cep.export import pipeline
from sccm_cep.export.read_ahead import ReadAhead
from sccm_cep.model import Level
from sccm_cep.privacy.anonymize import SiteSecret
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector


@dataclass
class FakeStream:
    """``count`` package records, then (optionally) an error; counts what it produced."""

    name: str
    count: int
    fail_after: int | None = None
    produced: int = 0
    closed: bool = False
    reads: int = 0
    pace: float = 0.0
    threads: set[str] = field(default_factory=set)

    @property
    def record_type(self) -> type[m.Record]:
        return m.Package

    @property
    def source(self) -> str:
        return self.name

    def read(self) -> Iterator[m.Record]:
        self.reads += 1
        try:
            for i in range(self.count):
                if self.fail_after is not None and i == self.fail_after:
                    raise SourceError(f"{self.name}: the server went away")
                self.produced += 1
                self.threads.add(threading.current_thread().name)
                if self.pace:
                    time.sleep(self.pace)
                yield m.Package(package_id=f"{self.name}-{i}")
        finally:
            self.closed = True


def ids(records: Iterator[m.Record]) -> list[str]:
    return [r.package_id for r in records]  # type: ignore[attr-defined]


def test_two_lanes_give_every_record_in_order_from_other_threads() -> None:
    a, b, c = FakeStream("a", 1000), FakeStream("b", 0), FakeStream("c", 37)
    soft = FakeStream("s", 2500)
    with ReadAhead([[a, b, c], [soft]], batch=7, depth=2) as ahead:
        assert ids(ahead.reader(a)()) == [f"a-{i}" for i in range(1000)]
        assert ids(ahead.reader(soft)()) == [f"s-{i}" for i in range(2500)]
        assert ids(ahead.reader(b)()) == []
        assert ids(ahead.reader(c)()) == [f"c-{i}" for i in range(37)]
    assert all(s.reads == 1 and s.closed for s in (a, b, c, soft))
    assert all("MainThread" not in s.threads for s in (a, c, soft))


def test_a_source_error_is_raised_where_its_stream_is_read_and_the_rest_still_reads() -> None:
    bad, good = FakeStream("bad", 100, fail_after=40), FakeStream("good", 5)
    with ReadAhead([[bad, good]], batch=8, depth=2) as ahead:
        got: list[str] = []
        with pytest.raises(SourceError, match="the server went away"):
            for record in ahead.reader(bad)():
                got.append(record.package_id)  # type: ignore[attr-defined]
        assert got == [f"bad-{i}" for i in range(40)]  # every record before the error, none lost
        assert ids(ahead.reader(good)()) == [f"good-{i}" for i in range(5)]
    assert bad.closed


def test_memory_is_bounded_whatever_the_stream_size() -> None:
    big = FakeStream("big", 100_000)
    with ReadAhead([[big]], batch=10, depth=3) as ahead:
        reader = ahead.reader(big)()
        next(reader)
        time.sleep(0.3)  # the thread runs ahead as far as it may
        # one batch taken, ``depth`` waiting, one being filled
        assert big.produced <= 10 * (3 + 2)
        assert ids(reader)[-1] == "big-99999"


def test_leaving_early_stops_every_thread_and_closes_the_sources() -> None:
    endless, other = FakeStream("endless", 10**9, pace=0.0001), FakeStream("other", 10**9)
    before = threading.active_count()
    with ReadAhead([[endless], [other]], batch=4, depth=2) as ahead:
        reader = ahead.reader(endless)()
        next(reader)
    assert threading.active_count() == before
    assert endless.closed and other.closed


def test_a_stream_taken_twice_is_read_again_directly() -> None:
    once = FakeStream("once", 3)
    with ReadAhead([[once]]) as ahead:
        read = ahead.reader(once)
        assert ids(read()) == ids(read()) == ["once-0", "once-1", "once-2"]
    assert once.reads == 2


def test_a_stream_not_read_ahead_is_refused() -> None:
    with ReadAhead([[FakeStream("x", 1)]]) as ahead, pytest.raises(KeyError):
        ahead.reader(FakeStream("y", 1))


@pytest.mark.parametrize("level", [Level.BASIC, Level.ENHANCED])
def test_export_reads_ahead_and_writes_the_same_document(
    level: Level, hostile_site: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL connector's streams are read ahead in two lanes and the parts anonymized device
    first; the document is byte for byte the one a plain read in document order writes, and the
    notes on what was withheld come in the same order."""

    def export(out: Path) -> tuple[bytes, tuple[object, ...]]:
        source = open_connector("sccm_sql", url=hostile_site)
        try:
            result = pipeline.run_export(
                source,
                load_policies(),
                level=level,
                period="2026-Q4",
                secret_for=lambda code: SiteSecret(b"k" * 32, site=code),
                out_dir=out,
                site_code="PS1",
                now=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
            )
        finally:
            source.close()
        return result.written.path.read_bytes(), result.suppressed

    seen: list[str] = []
    real = ReadAhead.reader

    def spy(self: ReadAhead, stream: object) -> object:
        seen.append(stream.record_type.NAME)  # type: ignore[attr-defined]
        return real(self, stream)  # type: ignore[arg-type]

    monkeypatch.setattr(ReadAhead, "reader", spy)
    ahead = export(tmp_path / "ahead")
    assert seen[0] == ("device" if level is Level.ENHANCED else "software")
    monkeypatch.setattr(SqlConnector, "concurrent_reads", False)
    monkeypatch.setattr(pipeline, "_read_order", lambda read: 0)
    seen.clear()
    plain = export(tmp_path / "plain")
    assert seen == []
    assert ahead[0] == plain[0]
    # The notes on what was withheld (the summary's), in the same order: several record types'
    assert len({note.record for note in plain[1]}) > 2  # type: ignore[attr-defined]
    assert ahead[1] == plain[1]


def test_an_error_is_not_held_up_by_a_statement_still_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leaving while a lane sits in a long statement returns within STOP_WAIT; the thread ends
    by itself when the statement does, and closes its source."""
    from sccm_cep.export import read_ahead

    monkeypatch.setattr(read_ahead, "STOP_WAIT", 0.2)
    statement = threading.Event()
    closed = threading.Event()

    class Slow(FakeStream):
        def read(self) -> Iterator[m.Record]:
            try:
                statement.wait(10)  # the database still scanning
                yield m.Package(package_id="late")
            finally:
                closed.set()

    slow, first = Slow("slow", 1), FakeStream("first", 3)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="policy"), ReadAhead([[first], [slow]]) as ahead:
        assert ids(ahead.reader(first)()) == ["first-0", "first-1", "first-2"]
        raise RuntimeError("a broken policy")
    assert time.monotonic() - started < 3
    statement.set()
    assert closed.wait(5)
