"""Publisher (and hardware manufacturer) normalization: one canonical name per vendor.

Known vendors come from the alias table ``data/publishers.yaml``; any other name is tidied
by a generic rule (trailing legal suffixes and punctuation removed, spaces collapsed).
"""

from __future__ import annotations

from functools import lru_cache

from sccm_cep.normalize._data import load
from sccm_cep.normalize._text import bounded, fold, strip_marks

__all__ = ["catalog_publisher", "normalize_publisher", "publisher_key"]

# Publisher strings are short; anything longer is corrupt, and cutting it bounds the work.
_MAX_INPUT = 512

# Characters that stay in a key: "+" (Notepad++) and "&" (AT&T) carry meaning.
_KEEP = frozenset("+&")


def normalize_publisher(raw: str | None) -> str | None:
    """The canonical publisher name for ``raw``, or None when it is missing or blank.

    "Microsoft Corporation", "Microsoft Corp." and "Microsoft" all give "Microsoft";
    an unknown "Contoso Widgets, Inc." gives "Contoso Widgets".
    """
    text = bounded(raw, _MAX_INPUT)
    if text is None:
        return None
    return _normalize(text)


def catalog_publisher(raw: str | None) -> str | None:
    """The canonical name of ``raw`` when the alias table knows it; None otherwise.

    Unlike ``normalize_publisher`` it never returns the tidied input itself, so its result is
    one of a closed set of names.
    """
    text = bounded(raw, _MAX_INPUT)
    if text is None:
        return None
    return _aliases().get(_key(text))


def publisher_key(raw: str | None) -> str | None:
    """The folded comparison key of a publisher name (what the alias table is matched on)."""
    text = bounded(raw, _MAX_INPUT)
    if text is None:
        return None
    return _key(text) or None


# Inventory repeats the same few thousand publisher strings across millions of rows.
@lru_cache(maxsize=16384)
def _normalize(text: str) -> str | None:
    canonical = _aliases().get(_key(text))
    if canonical is not None:
        return canonical
    return _strip_legal_form(strip_marks(text)) or None


def _key(text: str) -> str:
    folded = fold(strip_marks(text))
    chars: list[str] = []
    for ch in folded:
        if ch.isalnum() or ch in _KEEP:
            chars.append(ch)
        elif ch != "." and ch != "'":
            chars.append(" ")
    tokens = "".join(chars).split()
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    while len(tokens) > 1 and (tokens[-1] in _legal_suffixes() or tokens[-1] == "&"):
        tokens.pop()
    return " ".join(tokens)


def _suffix_token(token: str) -> str:
    return token.casefold().replace(".", "").replace(",", "")


def _strip_legal_form(text: str) -> str:
    tokens = text.split(" ")
    while True:
        last = tokens[-1]
        head, comma, tail = last.rpartition(",")
        if comma and any(ch.isalnum() for ch in head) and _suffix_token(tail) in _legal_suffixes():
            tokens[-1] = head  # "Foo,Inc." written without a space
            continue
        if len(tokens) > 1 and (
            _suffix_token(last) in _legal_suffixes() or not any(ch.isalnum() for ch in last)
        ):
            tokens.pop()
            continue
        break
    return " ".join(tokens).strip(" ,.;:-&_/'\"")


@lru_cache(maxsize=1)
def _legal_suffixes() -> frozenset[str]:
    return frozenset(str(s).casefold() for s in load("publishers")["legal_suffixes"])


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    table = load("publishers")["publishers"]
    if not isinstance(table, dict):
        raise ValueError("publishers.yaml: 'publishers' must map names to alias lists")
    out: dict[str, str] = {}
    for canonical, aliases in table.items():
        if not isinstance(canonical, str) or not isinstance(aliases, list):
            raise ValueError(f"publishers.yaml: bad entry {canonical!r}")
        for alias in [canonical, *aliases]:
            key = _key(str(alias))
            other = out.setdefault(key, canonical)
            if other != canonical:
                raise ValueError(
                    f"publishers.yaml: {alias!r} folds to {key!r}, claimed by {other!r} and {canonical!r}"
                )
    return out


def alias_table() -> dict[str, str]:
    """A copy of folded key → canonical name, for tests and the field catalog."""
    return dict(_aliases())
