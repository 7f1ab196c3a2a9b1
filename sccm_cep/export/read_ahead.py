"""Reading the next streams while the current one is worked on.

An export reads its streams one after the other, and most of a stream's time is the source's
(a GROUP BY over the software views, the device join), while the normalizing, anonymizing and
writing in between are Python. ``ReadAhead`` runs the reads in background threads, one per
*lane*, each reading its streams in the export's order and handing records over in batches
through a bounded queue: the source's time overlaps the Python work instead of adding to it,
the source never sees more statements at once than there are lanes (the export uses two), and
at most ``depth`` batches per lane wait in memory whatever the site's size.

Only a connector that says its streams may be read from another thread (``concurrent_reads =
True``, the SQL connector: every read opens its own connection) is read ahead; the others are
read in the calling thread as before. The records, their order and any error are exactly what
reading the streams directly gives: an error from a source is raised where its stream is read.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from typing import Any

from sccm_cep import model as m
from sccm_cep.connector import Stream

__all__ = ["BATCH", "DEPTH", "STOP_WAIT", "ReadAhead"]

#: Records handed over at a time, and batches that may wait: memory is bounded by their product.
BATCH = 512
DEPTH = 32
#: Seconds ``close`` waits for a thread to stop before leaving it to end by itself.
STOP_WAIT = 2.0

log = logging.getLogger("sccm_cep.export.read_ahead")

_END = object()


class ReadAhead:
    """Readers for streams read ahead in background threads, one per lane.

    ``lanes`` holds each lane's streams in the order the caller will read them. Use as a context
    manager: leaving it stops every thread, whether all streams were read or not. ``reader(s)``
    gives a callable for ``anonymizer.part``; its first call takes the records read ahead for
    ``s``, a later one (should anything read a stream twice) reads the stream again directly.
    """

    def __init__(self, lanes: Sequence[Sequence[Stream]], *, batch: int = BATCH, depth: int = DEPTH) -> None:
        self._lanes = [_Lane(list(streams), batch, depth, n) for n, streams in enumerate(lanes) if streams]

    def __enter__(self) -> ReadAhead:
        for lane in self._lanes:
            lane.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading: each thread ends at its next batch and drops what it holds."""
        for lane in self._lanes:
            lane.stop()

    def reader(self, stream: Stream) -> Callable[[], Iterator[m.Record]]:
        for lane in self._lanes:
            for index, each in enumerate(lane.streams):
                if each is stream:
                    return lane.reader(index)
        raise KeyError("the stream is not read ahead")


class _Lane:
    """One background thread reading its streams in order into one bounded queue."""

    def __init__(self, streams: list[Stream], batch: int, depth: int, number: int) -> None:
        self.streams = streams
        self._batch = batch
        self._queue: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._taken: set[int] = set()
        self._next = 0  # the stream whose records the queue holds next
        self._thread = threading.Thread(target=self._run, name=f"sccm-cep-read-ahead-{number}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Tell the thread to stop and wait for it, up to ``STOP_WAIT`` seconds: a thread inside
        a long statement (a site's software scan) is left to end by itself, at its next batch,
        closing its connection, rather than holding up the error or interrupt that stopped us."""
        self._stop.set()
        deadline = time.monotonic() + STOP_WAIT
        while self._thread.is_alive() and time.monotonic() < deadline:
            with suppress(queue.Empty):  # free a slot so a thread blocked on a full queue sees the stop
                self._queue.get(timeout=0.05)
        if self._thread.is_alive():
            log.debug("a read-ahead thread is still in a statement; it ends at its next batch")

    def reader(self, index: int) -> Callable[[], Iterator[m.Record]]:
        def read() -> Iterator[m.Record]:
            if index in self._taken:
                yield from self.streams[index].read()
                return
            self._taken.add(index)
            yield from self._take(index)

        return read

    # -- the calling thread ---------------------------------------------------------------------

    def _take(self, index: int) -> Iterator[m.Record]:
        if index < self._next:
            raise RuntimeError("the streams of a lane must be taken in order")
        while True:
            owner, item = self._get()
            if owner < index:
                continue  # the rest of a stream its reader did not finish
            self._next = owner
            if item is _END:
                self._next = owner + 1
                return
            if isinstance(item, BaseException):
                self._next = owner + 1
                raise item
            yield from item

    def _get(self) -> tuple[int, Any]:
        while True:
            try:
                return self._queue.get(timeout=0.5)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError("the read-ahead thread ended without its records") from None

    # -- the reading thread ---------------------------------------------------------------------

    def _run(self) -> None:
        for index, stream in enumerate(self.streams):
            if self._stop.is_set():
                return
            records: Iterator[m.Record] | None = None
            try:
                records = stream.read()
                if not self._pump(index, records):
                    return
                end: Any = _END
            except BaseException as exc:  # handed to the reader, raised there
                end = exc
            finally:  # a generator's cursor and connection are released in this thread
                close = getattr(records, "close", None)
                if close is not None:
                    close()
            if not self._put(index, end):
                return

    def _pump(self, index: int, records: Iterator[m.Record]) -> bool:
        """Hand ``records`` over in batches; False once told to stop."""
        batch: list[m.Record] = []
        for record in records:
            batch.append(record)
            if len(batch) >= self._batch:
                if not self._put(index, batch):
                    return False
                batch = []
        return not batch or self._put(index, batch)

    def _put(self, index: int, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((index, item), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
