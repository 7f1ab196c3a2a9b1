"""Version strings: tidy a raw version, and cut it to major.minor for generalization.

``major_minor`` keeps the first two dot-separated numeric components *textually*, so
7-Zip's "23.01" stays "23.01" (read as integers it would become the misleading "23.1").
"""

from __future__ import annotations

import re

from sccm_cep.normalize._text import bounded

__all__ = ["clean_version", "major_minor"]

# Real versions are short; a bounded cut keeps hostile input cheap.
_MAX_INPUT = 256
_MAX_VERSION = 64

# A numeric version run: digits, then dot-separated digit groups. Anchored and with no
# nested repetition, so it cannot backtrack badly.
_NUMERIC = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def _numeric_start(text: str) -> str | None:
    """The first whitespace-separated token that starts with a digit (or v/V + digit)."""
    for token in text.split():
        if token[0] in "vV" and len(token) > 1 and token[1].isascii() and token[1].isdigit():
            return token[1:]
        if token[0].isascii() and token[0].isdigit():
            return token
    return None


def major_minor(version: str | None) -> str | None:
    """The first two numeric components of ``version``, as written; None without digits.

    "120.0.6099.130" → "120.0", "23.01" → "23.01", "v2" → "2", "14.38.33135.0" → "14.38",
    "1.2.3.4.5.6" → "1.2", "2.0b3" → "2.0", "Version 2.1" → "2.1", "" → None.
    """
    text = bounded(version, _MAX_INPUT)
    if text is None:
        return None
    token = _numeric_start(text)
    if token is None:
        return None
    match = _NUMERIC.match(token)
    if match is None:
        return None
    parts = match.group().split(".")
    return ".".join(parts[:2])


def clean_version(version: str | None) -> str | None:
    """The version token of ``version``: the first word starting with a digit, without a
    leading "v", cut to 64 characters; None without one.

    Unlike ``major_minor`` the full version is kept ("14.38.33135.0" stays as it is, and
    " v2.1 (build 5)" gives "2.1").
    """
    text = bounded(version, _MAX_INPUT)
    if text is None:
        return None
    token = _numeric_start(text)
    return None if token is None else token[:_MAX_VERSION]
