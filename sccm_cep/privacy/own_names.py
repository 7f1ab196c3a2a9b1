"""The site's own names as identifiers: a value that carries the site's name, its site server's
or a site system's host name (or that host's first label) is never sent, whatever k.

The names are read from the site only for this check (``Connector.own_names``); they are never
part of a record, written or logged. Matching runs on the detectors' normalized form (NFKC,
look-alikes folded, invisible characters removed), case-folded, as a whole word, and once more
with every separator removed ("KMF MP03", "kmf-mp03" and "KMFMP03" all match ``kmfmp03``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from sccm_cep.privacy.identifiers import normalize_for_detection

__all__ = ["MIN_NAME", "own_name_matcher"]

#: Names shorter than this (a three-letter site code, "DC") would match ordinary words.
MIN_NAME = 4
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def _fold(text: str) -> str:
    return normalize_for_detection(text).casefold()


def own_name_matcher(names: Iterable[str]) -> Callable[[str], bool]:
    """A test for "carries one of ``names``": each name, and each host name's first label."""
    words: set[str] = set()
    for raw in names:
        name = _fold(str(raw)).strip().rstrip(".")
        for candidate in (name, name.split(".")[0]):
            if len(_SEPARATORS.sub("", candidate)) >= MIN_NAME:
                words.add(candidate)
    if not words:
        return lambda _value: False
    spaced = re.compile(
        "|".join(rf"(?<![0-9a-z]){re.escape(w)}(?![0-9a-z])" for w in sorted(words, key=len, reverse=True))
    )
    squeezed = {_SEPARATORS.sub("", w) for w in words}

    def carries(value: str) -> bool:
        folded = _fold(value)
        if spaced.search(folded):
            return True
        bare = _SEPARATORS.sub("", folded)
        return any(s in bare for s in squeezed)

    return carries
