"""Hardware inventory in coarse, comparable terms: chassis type and form factor (SMBIOS),
hypervisor of a virtual machine, and manufacturer product line ("Dell Latitude").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sccm_cep.normalize._data import load
from sccm_cep.normalize._text import bounded, fold, strip_marks
from sccm_cep.normalize.publisher import catalog_publisher, normalize_publisher

__all__ = [
    "FORM_FACTORS",
    "UNKNOWN_MODEL_FAMILY",
    "chassis_codes",
    "chassis_name",
    "form_factor",
    "hardware_model_name",
    "hardware_vendor",
    "hypervisor",
    "model_family",
]

#: The product line of a machine whose manufacturer the publisher catalog does not know.
UNKNOWN_MODEL_FAMILY = "other"

FORM_FACTORS: tuple[str, ...] = ("desktop", "laptop", "tablet", "server", "other")

_MAX_INPUT = 256
_CHASSIS_NUMBER = re.compile(r"[0-9]{1,4}")
_WORD = re.compile(r"[^\W_]+")
# Lenovo machine-type model: 4 characters (type), optionally 6 more (model): "21HD003AUS".
_LENOVO_MTM = re.compile(r"[0-9][0-9A-Z]{3}(?:[0-9A-Z]{6})?")
_GENERIC_CHASSIS = frozenset({1, 2})


@dataclass(frozen=True, slots=True)
class _Catalog:
    chassis: dict[int, str]
    form: dict[int, str]
    hypervisors: tuple[tuple[str, tuple[tuple[tuple[str, str], ...], ...]], ...]
    placeholders: frozenset[str]
    lines: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]
    line_names: dict[str, str]
    lenovo_types: dict[str, str]


@lru_cache(maxsize=1)
def _catalog() -> _Catalog:
    d = load("hardware")
    form = {int(n): str(group) for group, numbers in d["form_factors"].items() for n in numbers}
    hypervisors = tuple(
        (
            str(rule["name"]),
            tuple(tuple((str(f), fold(str(v))) for f, v in alt.items()) for alt in rule["when"]),
        )
        for rule in d["hypervisors"]
    )
    lines = {
        str(vendor): tuple((str(line), tuple(_WORD.findall(fold(str(line))))) for line in names)
        for vendor, names in d["model_lines"].items()
    }
    return _Catalog(
        chassis={int(k): str(v) for k, v in d["chassis_types"].items()},
        form=form,
        hypervisors=hypervisors,
        placeholders=frozenset(fold(str(p)) for p in d["placeholders"]),
        lines=lines,
        line_names={str(k): str(v) for k, v in d["line_names"].items()},
        lenovo_types={str(k): str(v) for k, v in d["lenovo_machine_types"].items()},
    )


def _chassis_numbers(smbios: str | int | None) -> list[int]:
    """The chassis type numbers in a ChassisTypes0 value: 10, "10", "{10}", "3,9"."""
    if isinstance(smbios, bool):
        return []
    if isinstance(smbios, int):
        return [smbios]
    text = bounded(smbios, _MAX_INPUT)
    if text is None:
        return []
    return [int(n) for n in _CHASSIS_NUMBER.findall(text)]


def _chassis_type(smbios: str | int | None) -> int | None:
    """The most telling known chassis type: "Other"/"Unknown" only when nothing else is given."""
    known = [n for n in _chassis_numbers(smbios) if n in _catalog().chassis]
    specific = [n for n in known if n not in _GENERIC_CHASSIS]
    candidates = specific or known
    return candidates[0] if candidates else None


def chassis_codes(smbios: str | int | None) -> int | None:
    """The most telling known SMBIOS chassis type number in a ChassisTypes value, or None."""
    return _chassis_type(smbios)


def chassis_name(smbios: str | int | None) -> str | None:
    """The SMBIOS chassis type name: 10 or "{10}" → "Notebook"; unknown numbers → None."""
    number = _chassis_type(smbios)
    return None if number is None else _catalog().chassis[number]


def form_factor(smbios: str | int | None) -> str:
    """Coarse form factor of a chassis type: desktop, laptop, tablet, server or other."""
    number = _chassis_type(smbios)
    if number is None:
        return "other"
    return _catalog().form.get(number, "other")


def _field(raw: str | None) -> str | None:
    """A manufacturer/model value folded for matching, None if missing or a placeholder."""
    text = bounded(raw, _MAX_INPUT)
    if text is None:
        return None
    folded = fold(strip_marks(text))
    return None if folded in _catalog().placeholders else folded


def hardware_vendor(manufacturer: str | None) -> str | None:
    """The maker's canonical name when the publisher catalog knows it ("Dell Inc." → "Dell");
    "other" for any maker it does not know (a closed set: the raw string can name a person or
    the customer); None when missing or an SMBIOS placeholder ("To Be Filled By O.E.M.")."""
    if _field(manufacturer) is None:
        return None
    return catalog_publisher(manufacturer) or UNKNOWN_MODEL_FAMILY


def hardware_model_name(manufacturer: str | None, model: str | None) -> str | None:
    """The model as reported (spaces collapsed) when every word of it is a model word: a
    product line of its maker, a model number ("5440", "G10", "R650", "21HD0045GE", "2-in-1")
    or a descriptor ("Notebook", "Small Form Factor PC"); "other" for a model with any other
    word, or of a maker the catalog does not know (the raw string can name a person); None
    when missing or a placeholder."""
    text = bounded(model, _MAX_INPUT)
    if text is None or _field(text) is None:
        return None
    return _model_name(bounded(manufacturer, _MAX_INPUT), " ".join(text.split()))


@lru_cache(maxsize=4096)
def _model_name(manufacturer: str | None, model: str) -> str:
    maker = _field(manufacturer)
    vendor = catalog_publisher(manufacturer) if manufacturer else None
    if vendor is None and _hypervisor(maker, _field(model)) is None:
        return UNKNOWN_MODEL_FAMILY
    known = {w for _, words in _catalog().lines.get(vendor or "", ()) for w in words}
    known |= {fold(vendor or "")}
    for word in fold(strip_marks(model)).split():
        word = word.strip("(),")
        if word in known or word in _MODEL_WORDS or _MODEL_NUMBER.fullmatch(word):
            continue
        return UNKNOWN_MODEL_FAMILY
    return model


_MODEL_NUMBER = re.compile(r"(?=[a-z0-9,.-]*[0-9])[a-z0-9][a-z0-9,.-]{0,15}")
_MODEL_WORDS = frozenset(
    ("notebook", "laptop", "pc", "desktop", "mini", "micro", "tower", "small", "form", "factor",
     "sff", "usff", "mt", "dm", "aio", "all-in-one", "workstation", "pro", "plus", "max", "ultra",
     "gen", "studio", "x360", "thin", "client", "convertible", "tablet", "detachable", "rack",
     "server", "edition", "touch", "mobile", "series", "virtual", "machine", "platform", "vmware",
     "hp", "hpe", "dell", "lenovo", "microsoft", "surface", "laptop", "book", "go", "se", "g")
)  # fmt: skip


def hypervisor(manufacturer: str | None, model: str | None) -> str | None:
    """The hypervisor a virtual machine runs on ("Hyper-V", "VMware", ...); None if physical.

    Azure virtual machines report Hyper-V (Microsoft Corporation / Virtual Machine).
    """
    return _hypervisor(_field(manufacturer), _field(model))


@lru_cache(maxsize=4096)
def _hypervisor(manufacturer: str | None, model: str | None) -> str | None:
    fields = {"manufacturer": manufacturer or "", "model": model or ""}
    for name, alternatives in _catalog().hypervisors:
        for conditions in alternatives:
            if all(needle in fields.get(field, "") for field, needle in conditions):
                return name
    return None


def model_family(manufacturer: str | None, model: str | None) -> str | None:
    """Manufacturer plus product line: "Dell Latitude", "HP EliteBook", "Lenovo ThinkPad".

    Virtual machines give "Virtual Machine"; a known manufacturer without a known line gives
    "<manufacturer> (other)"; a manufacturer the publisher catalog does not know gives "other"
    (never its own name: the result is a closed set); no usable manufacturer gives None.
    """
    return _model_family(bounded(manufacturer, _MAX_INPUT), bounded(model, _MAX_INPUT))


@lru_cache(maxsize=4096)
def _model_family(manufacturer: str | None, model: str | None) -> str | None:
    maker, product = _field(manufacturer), _field(model)
    if _hypervisor(maker, product) is not None:
        return "Virtual Machine"
    if maker is None or manufacturer is None or normalize_publisher(manufacturer) is None:
        return None  # nothing usable left of the maker (":", "Inc."): no family, as no vendor
    vendor = catalog_publisher(manufacturer)
    if vendor is None:
        return UNKNOWN_MODEL_FAMILY
    cat = _catalog()
    words = _WORD.findall(product) if product else []
    line = _match_line(words, cat.lines.get(vendor, ()))
    if line is None and vendor == "Lenovo" and model is not None:
        line = _lenovo_line(model, cat)
    if line is None:
        return f"{vendor} (other)"
    family = f"{vendor} {line}"
    return cat.line_names.get(family, family)


def _match_line(words: list[str], lines: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    for index, word in enumerate(words):
        for name, line_words in lines:
            n = len(line_words)
            if tuple(words[index : index + n]) == line_words:
                return name
            head = line_words[0]
            if n == 1 and word.startswith(head) and word[len(head) : len(head) + 1].isdigit():
                return name  # "Z2" → Z, "NUC11PAHi5" → NUC
    return None


def _lenovo_line(model: str, cat: _Catalog) -> str | None:
    for word in model.upper().split():
        if _LENOVO_MTM.fullmatch(word):
            return cat.lenovo_types.get(word[:2])
    return None
