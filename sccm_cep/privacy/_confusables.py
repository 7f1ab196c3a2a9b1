"""Look-alike letters folded to ASCII before identifier detection (data only).

NFKC already folds full-width and other compatibility forms ("ｊｄｏｅ＠…" → "jdoe@…"), but
not letters of other scripts that merely look Latin. This table covers the common Cyrillic
and Greek ones, enough that "јdое@соrр.ехаmрlе" reads as an address. It is used for
detection only: what is sent is never rewritten with it.
"""

from __future__ import annotations

__all__ = ["CONFUSABLES"]

#: Look-alike character → the ASCII letter it imitates.
CONFUSABLES: dict[str, str] = {
    # Cyrillic, lower case
    "а": "a", "в": "b", "е": "e", "ѐ": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i",
    "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q",
    "г": "r", "ѕ": "s", "т": "t", "у": "y", "ү": "y", "х": "x", "с": "c", "ԁ": "d",
    "ԝ": "w", "ɡ": "g", "ь": "b", "п": "n",
    # Cyrillic, upper case
    "А": "A", "В": "B", "Е": "E", "Ѐ": "E", "Ё": "E", "Һ": "H", "І": "I", "Ї": "I",
    "Ј": "J", "К": "K", "Ӏ": "I", "М": "M", "Н": "H", "О": "O", "Р": "P", "Ԛ": "Q",
    "Ѕ": "S", "Т": "T", "У": "Y", "Ү": "Y", "Х": "X", "С": "C", "Ԁ": "D", "Ԝ": "W",
    # Greek, lower case
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    # Greek, upper case
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Other common stand-ins for ASCII punctuation in addresses and paths
    "＠": "@", "﹫": "@", "․": ".", "。": ".", "｡": ".", "∖": "\\", "⧵": "\\", "﹨": "\\",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "∶": ":", "꞉": ":",
}  # fmt: skip
