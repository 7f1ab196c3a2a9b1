"""Text helpers shared by the normalizers: bound, tidy and fold untrusted inventory strings.

Every public normalizer goes through ``bounded`` first, so hostile input (huge, padded,
control characters, non-text) is cut down before any parsing happens.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["bounded", "fold", "strip_marks"]

# Control characters and zero-width characters become spaces or vanish: they only ever
# show up in inventory as corruption, and left in place they defeat token matching.
_TRANSLATE: dict[int, str | None] = {c: " " for c in range(0x20)}
_TRANSLATE[0x7F] = " "
for _zw in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
    _TRANSLATE[_zw] = None

# Trademark decorations vary between releases of the same product ("Intel(R) Corporation"
# vs "Intel Corporation"), so they are dropped before comparing or displaying names.
_MARKS = re.compile(r"\((?:r|tm|c)\)|[®™©℠]", re.IGNORECASE)


def bounded(raw: object, limit: int) -> str | None:
    """``raw`` cut to ``limit`` characters, controls removed, whitespace collapsed; None if blank.

    Non-text input (bytes, numbers, anything else) is treated as missing.
    """
    if not isinstance(raw, str):
        return None
    text = raw[:limit].translate(_TRANSLATE)
    text = " ".join(text.split())
    return text or None


def strip_marks(text: str) -> str:
    """``text`` without (R), (TM), (C) and the matching symbols, whitespace re-collapsed."""
    return " ".join(_MARKS.sub(" ", text).split())


def fold(text: str) -> str:
    """A comparison form of ``text``: compatibility-decomposed, accents dropped, case-folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
