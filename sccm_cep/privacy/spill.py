"""Device rows kept between the anonymizer's counting pass and its writing pass, so the site's
database is read once.

Rows go in batches into memory and, past ``MEMORY_LIMIT`` bytes, into a nameless file in the
data folder's private ``tmp`` folder (``platform/workdir.py``): memory stays flat whatever the
site's size, and nothing stays on disk after the run (on POSIX the file never has a name). What
is kept is the row as the policy makes it, except the fields a counting action decides on, which
stay raw until the counts are known; nothing is kept that the policy drops.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import IO, Any

from sccm_cep.platform.workdir import private_tempfile

__all__ = ["BATCH", "MEMORY_LIMIT", "RowSpill"]

#: Rows per batch (one pickle each).
BATCH = 2048
#: Bytes kept in memory before the batches move to a file.
MEMORY_LIMIT = 8 << 20


class RowSpill:
    """An append-only sequence of tuples, read back in order any number of times."""

    def __init__(self, *, memory_limit: int | None = None) -> None:
        self._limit = MEMORY_LIMIT if memory_limit is None else memory_limit
        self._pending: list[tuple[Any, ...]] = []
        self._memory: list[bytes] = []
        self._held = 0
        self._file: IO[bytes] | None = None
        self._spans: list[tuple[int, int]] = []  # (offset, length) of each batch in the file
        self.rows = 0

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def append(self, row: tuple[Any, ...]) -> None:
        self._pending.append(row)
        self.rows += 1
        if len(self._pending) >= BATCH:
            self._flush()

    def close(self) -> None:
        """Drop what is held; the file, if any, goes with it."""
        self._pending, self._memory, self._spans = [], [], []
        if self._file is not None:
            self._file.close()
            self._file = None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        self._flush()
        for data in self._batches():
            # Only what this process wrote into its own private, nameless file is loaded.
            yield from pickle.loads(data)

    def _batches(self) -> Iterator[bytes]:
        yield from list(self._memory)
        spans, file = list(self._spans), self._file
        for offset, length in spans:
            assert file is not None
            file.seek(offset)  # each reader seeks first, so two readers do not disturb each other
            yield file.read(length)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = pickle.dumps(self._pending, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending = []
        if self._file is None and self._held + len(data) <= self._limit:
            self._memory.append(data)
            self._held += len(data)
            return
        if self._file is None:
            self._file = private_tempfile(".rows-")
        self._file.seek(0, 2)
        self._spans.append((self._file.tell(), len(data)))
        self._file.write(data)
