"""Reading untrusted JSON within stated bounds: a size cap, a nesting-depth cap checked before the
parser runs (Python's parser recurses, so 100,000 open brackets would be a RecursionError), and
regular files only (a device, pipe or a symlink to one is never read).

Callers turn ``Unbounded`` into their own error, naming what they read; its message never quotes
the input.
"""

from __future__ import annotations

import json
import os
import re
import stat
from itertools import accumulate
from pathlib import Path
from typing import Any

__all__ = ["Unbounded", "json_depth", "loads_bounded", "read_regular"]

# A JSON string (quotes and escapes included): brackets inside one do not nest.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class Unbounded(ValueError):
    """The input is over a bound (``what`` says which, in words); the value is never quoted."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (0 for a scalar), in linear time."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def loads_bounded(data: bytes | str, *, max_bytes: int, max_depth: int) -> Any:
    """``json.loads`` of at most ``max_bytes`` nested at most ``max_depth`` deep; NaN and
    Infinity are not JSON and are refused. ``Unbounded`` for a bound, ``ValueError`` for bad JSON."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise Unbounded(f"over {max_bytes:,} bytes")
    if json_depth(raw) > max_depth:
        raise Unbounded(f"nested deeper than {max_depth} levels")
    return json.loads(raw, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def read_regular(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file (symlinks followed) of at most ``max_bytes``; ``Unbounded`` for
    anything else, ``OSError`` passes. Memory follows the file's size, never the cap."""
    if not stat.S_ISREG(path.stat().st_mode):  # checked before open: opening a FIFO would block
        raise Unbounded("not a regular file")
    with path.open("rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Unbounded("not a regular file")
        if info.st_size > max_bytes:
            raise Unbounded(f"over {max_bytes:,} bytes")
        data = bytearray()
        while len(data) <= max_bytes:
            chunk = f.read(min(_CHUNK, max_bytes + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    if len(data) > max_bytes:  # it grew while being read
        raise Unbounded(f"over {max_bytes:,} bytes")
    return bytes(data)


_CHUNK = 1024 * 1024
