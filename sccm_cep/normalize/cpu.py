"""Processor family from a Win32_Processor name: "13th Gen Intel(R) Core(TM) i5-1345U" →
"Intel Core i5 (13th Gen)". The family is a closed set: a processor the rules do not recognize
is "other", never its own (cleaned) name, which can carry host or user names.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sccm_cep.normalize._text import bounded, strip_marks

__all__ = ["UNKNOWN_CPU", "cpu_family", "cpu_model"]

#: The family of a processor the rules do not recognize.
UNKNOWN_CPU = "other"

_MAX_INPUT = 256

_GEN_WORD = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)")
_CORE_TIER = re.compile(r"(i[3579]|m[357])(?:-([0-9]{3,5})[a-z0-9]*)?")
_DIGITS = re.compile(r"[0-9]{3,5}")
_CORE_COUNT = re.compile(r"[0-9]{1,3}-cores?")
_CLOCK = re.compile(r"[0-9.]+[gm]hz")
_NAMED_CORES = frozenset({"dual-core", "quad-core", "six-core", "eight-core", "twelve-core", "sixteen-core"})
_NOISE = frozenset({"cpu", "processor", "apu"})
_XEON_TIERS = frozenset({"gold", "silver", "bronze", "platinum", "max", "phi"})


def cpu_family(name: str | None) -> str | None:
    """The processor family of ``name``; "other" when not recognized; None when missing.

    "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz" → "Intel Xeon Gold",
    "AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics" → "AMD Ryzen 7 PRO",
    "AMD EPYC 7763 64-Core Processor" → "AMD EPYC".
    """
    text = bounded(name, _MAX_INPUT)
    if text is None:
        return None
    return _family(text)


@lru_cache(maxsize=4096)
def _family(text: str) -> str | None:
    words = _clean(text)
    if not words:
        return None
    low = [w.casefold() for w in words]
    # Unknown: never the name itself (a closed set; the raw name can carry personal data).
    return _intel(low) or _amd(low) or _arm(low) or UNKNOWN_CPU


def _clean(text: str) -> list[str]:
    """Words of the name without marks, clock speed, core counts and filler words."""
    text = strip_marks(text).split("@", 1)[0]
    folded = text.casefold()
    for cut in (" w/", " with "):  # "w/ Radeon 780M Graphics": the iGPU, not the CPU
        at = folded.find(cut)
        if at > 0:
            text, folded = text[:at], folded[:at]
    words: list[str] = []
    for word in text.split():
        low = word.casefold()
        if low in _NOISE or low in _NAMED_CORES or _CORE_COUNT.fullmatch(low):
            continue
        if _CLOCK.fullmatch(low):
            continue
        if low in ("ghz", "mhz"):
            if words and words[-1].replace(".", "").isdigit():
                words.pop()
            continue
        words.append(word)
    while words and words[-1] in ("-", "|", ","):
        words.pop()
    return words


def cpu_model(name: str | None) -> str | None:
    """The processor model of ``name`` in one spelling, built from recognized words only;
    "other" when the family is unknown or any word is not a processor word; None when missing.

    "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz" → "Intel Xeon Gold 6338",
    "13th Gen Intel(R) Core(TM) i7-1365U" → "13th Gen Intel Core i7-1365U",
    "Intel(R) Xeon(R) Gold 6338 (Beatrix Halloway)" → "other" (a closed set, like the family).
    """
    text = bounded(name, _MAX_INPUT)
    if text is None:
        return None
    return _model(text)


@lru_cache(maxsize=4096)
def _model(text: str) -> str | None:
    words = _clean(text)
    if not words:
        return None
    if _family(text) == UNKNOWN_CPU:
        return UNKNOWN_CPU
    out: list[str] = []
    for word in words:
        low = word.casefold()
        if low in _MODEL_WORDS:
            out.append(_MODEL_WORDS[low])
        elif _MODEL_NUMBER.fullmatch(low) or _GEN_WORD.fullmatch(low):
            out.append(_number(low))
        else:
            return UNKNOWN_CPU
    return " ".join(out)


def _number(low: str) -> str:
    """ "13th", "i7-1365U", "E5-2680", "6338": ordinals and tier prefixes in lower case."""
    if _GEN_WORD.fullmatch(low):
        return low
    if re.match(r"[im][3579]-", low):
        return low[:3] + low[3:].upper()
    return low.upper()


# The words a processor name is made of, in their canonical spelling.
_MODEL_WORDS: dict[str, str] = {
    w.casefold(): w
    for w in (
        "Intel", "Core", "Core2", "Xeon", "Celeron", "Pentium", "Atom", "Ultra", "Gen", "Gold",
        "Silver", "Bronze", "Platinum", "Max", "Phi", "Duo", "Quad", "Solo", "Extreme", "AMD",
        "Ryzen", "PRO", "Threadripper", "AI", "HX", "EPYC", "Athlon", "Opteron", "Phenom", "II",
        "Turion", "Sempron", "FX", "Qualcomm", "Snapdragon", "X", "Elite", "Plus", "Microsoft",
        "SQ1", "SQ2", "SQ3", "Oryon", "Silver", "Mobile", "3", "5", "7", "9", "2", "v2", "v3",
        "v4", "v5", "v6", "v7", "-",
    )
}  # fmt: skip
# A model number: "i7-1365U", "6338", "5318Y", "E5-2680", "W-2245", "N4020", "X1E80100", "Z1".
_MODEL_NUMBER = re.compile(
    r"(?:i[3579]|m[357]|e[357]?|w[3579]?|d|a(?:4|6|8|9|10|12)|fx|e[12])-[0-9]{3,5}[a-z]{0,3}[0-9]?"
    r"|[a-z]{0,2}[0-9]{3,5}[a-z]{0,3}[0-9]?|[a-z][0-9][a-z][0-9]{5}|z[0-9]|sq[0-9]"
)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _intel_generation(model: str) -> int:
    """Core generation from the model number: 920 → 1, 8650 → 8, 1345 → 13, 10610 → 10."""
    if len(model) == 5:
        return int(model[:2])
    if len(model) == 4:
        return int(model[:2]) if model[0] == "1" and model[1] in "01234" else int(model[0])
    return 1


def _after(low: list[str], word: str) -> list[str]:
    return low[low.index(word) + 1 :] if word in low else []


def _intel(low: list[str]) -> str | None:
    generation: int | None = None
    for index, word in enumerate(low[:-1]):
        match = _GEN_WORD.fullmatch(word)
        if match and low[index + 1] == "gen":
            generation = int(match.group(1))
    if "core" in low or "core2" in low:
        return _intel_core(low, generation)
    if "xeon" in low:
        rest = _after(low, "xeon")
        nxt = rest[0] if rest else ""
        if nxt in _XEON_TIERS:
            return f"Intel Xeon {nxt.capitalize()}"
        head = nxt.split("-", 1)[0]
        if "-" in nxt and head in ("e3", "e5", "e7", "e", "w", "d"):
            return f"Intel Xeon {head.upper()}"
        if re.fullmatch(r"w[3579]-[0-9]{4}[a-z]*", nxt):
            return "Intel Xeon W"
        if re.fullmatch(r"6[0-9]{3}[a-z]?", nxt):
            return "Intel Xeon 6"
        return "Intel Xeon"
    for line in ("pentium", "celeron", "atom"):
        if line in low:
            rest = _after(low, line)
            tier = f" {rest[0].capitalize()}" if rest and rest[0] in ("silver", "gold") else ""
            return f"Intel {line.capitalize()}{tier}"
    if "intel" in low and any(re.fullmatch(r"n[0-9]{2,3}", w) for w in low):
        return "Intel N-series"
    return None


def _intel_core(low: list[str], generation: int | None) -> str:
    rest = _after(low, "core") if "core" in low else ["2", *_after(low, "core2")]
    nxt = rest[0] if rest else ""
    if nxt == "ultra" and len(rest) > 1 and rest[1] in ("3", "5", "7", "9"):
        series = _series(rest[2:])
        return f"Intel Core Ultra {rest[1]}{series}"
    tier = _CORE_TIER.fullmatch(nxt)
    if tier:
        model = tier.group(2)
        if model is None and len(rest) > 1:  # "Core i7 8650U" written without the dash
            loose = _DIGITS.match(rest[1])
            model = loose.group() if loose else None
        gen = generation or (_intel_generation(model) if model else None)
        return f"Intel Core {tier.group(1)}" + (f" ({_ordinal(gen)} Gen)" if gen else "")
    if nxt in ("3", "5", "7", "9"):
        return f"Intel Core {nxt}{_series(rest[1:])}"
    if nxt == "2":
        kind = rest[1] if len(rest) > 1 else ""
        named = kind in ("duo", "quad", "extreme", "solo")
        return f"Intel Core 2 {kind.capitalize()}" if named else "Intel Core 2"
    if nxt in ("duo", "solo"):
        return f"Intel Core {nxt.capitalize()}"
    return "Intel Core"


def _series(rest: list[str]) -> str:
    """ " (Series 2)" from a Core (Ultra) model number such as 265K; "" when there is none."""
    if rest and rest[0][:1] in ("1", "2", "3") and _DIGITS.match(rest[0]):
        return f" (Series {rest[0][0]})"
    return ""


def _amd(low: list[str]) -> str | None:
    if "ryzen" in low:
        rest = _after(low, "ryzen")
        pro = " PRO" if "pro" in rest else ""
        nxt = rest[0] if rest else ""
        if nxt == "threadripper":
            return f"AMD Ryzen Threadripper{pro}"
        if nxt == "ai":
            tier = f" {rest[1]}" if len(rest) > 1 and rest[1] in ("5", "7", "9") else ""
            return f"AMD Ryzen AI{tier}{pro}"
        if nxt in ("3", "5", "7", "9"):
            return f"AMD Ryzen {nxt}{pro}"
        if re.fullmatch(r"z[0-9]", nxt):
            return f"AMD Ryzen {nxt.upper()}"
        return f"AMD Ryzen{pro}"
    for line, name in (
        ("epyc", "EPYC"),
        ("athlon", "Athlon"),
        ("opteron", "Opteron"),
        ("phenom", "Phenom"),
        ("turion", "Turion"),
        ("sempron", "Sempron"),
    ):
        if line in low:
            return f"AMD {name}"
    if "amd" in low:
        for word in low:
            if word == "fx" or word.startswith("fx-"):
                return "AMD FX"
            if re.fullmatch(r"a(?:4|6|8|9|10|12)-[0-9]{4}[a-z]*", word):
                return "AMD A-Series"
            if re.fullmatch(r"e[12]-[0-9]{4}[a-z]*", word):
                return "AMD E-Series"
    return None


def _arm(low: list[str]) -> str | None:
    if "snapdragon" in low:
        rest = _after(low, "snapdragon")
        if len(rest) > 1 and rest[0] == "x" and rest[1] in ("elite", "plus"):
            return f"Qualcomm Snapdragon X {rest[1].capitalize()}"
        return "Qualcomm Snapdragon"
    if "microsoft" in low and any(re.fullmatch(r"sq[0-9]", w) for w in low):
        return "Microsoft SQ"
    return None
