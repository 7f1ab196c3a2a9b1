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
    "1.2.3.4.5.6" → "1.2", "2.0b3" → "2.0", "Version 2.1" → "2.1", "" → None; a number that
    is not a version gives None: "192.168.77.201", "0171.5550134", "20240115123.1".
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
    if not _plausible(parts):
        return None
    return ".".join(parts[:2])


#: Longest component kept: real major and minor versions have at most five digits ("2024",
#: "33135"); seven digits are more likely a phone, personnel or ticket number.
MAX_COMPONENT = 5


def _plausible(parts: list[str]) -> bool:
    """Whether the numeric run reads as a version, not as a number that carries data: no
    kept component longer than ``MAX_COMPONENT`` digits ("0171.5550134"), and not four parts
    that make an IPv4 address ("192.168.77.201": parts up to 255, a major of 10 or more, not
    ending in .0; "1.2.10.6" and "10.0.0.0" stay versions)."""
    head = parts[:2]
    if any(len(p) > MAX_COMPONENT for p in head):
        return False
    if len(parts) == 4 and all(len(p) <= 3 and int(p) <= 255 for p in parts):
        return not (int(parts[0]) >= 10 and parts[3] != "0")
    return True


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
