"""Split an Add/Remove Programs display name into product, version, architecture and language.

"7-Zip 23.01 (x64)" and "7-Zip 24.08 (x64)" are one product in two versions; the CEP
counts products, so embedded versions, architecture and language tags leave the name.

Rules, in order:

* Trailing " - ..." parts made only of tags (a version, an architecture, a language code
  such as "en-us", a language name such as "English") are dropped, and so are
  parenthesized groups made only of tags ("(x64 en-US)", "(64-bit x64)", "(x64 edition)").
* Anywhere in the name: architecture words (x64, 64-bit, amd64, ...), dotted version
  tokens ("23.01", "v1.2", "17.0.9+9") and keyword versions ("release 0.80",
  "version 2.43", "Build 4169") are removed. Plain integers and years stay ("Java 8",
  "Windows 11", "ODBC Driver 17", "Visual C++ 2015-2022").
* Side-by-side runtimes keep the leading version components that identify them
  (``data/products.yaml``): "Python 3.12.1 (64-bit)" → "Python 3.12",
  "Microsoft .NET Runtime - 8.0.1 (x64)" → "Microsoft .NET Runtime 8.0",
  "Java SE Development Kit 17.0.9" → "Java SE Development Kit 17". Only an embedded
  version does this, never the ARP version (so "Python Launcher" stays one product).
* Java's "N Update U" becomes product "... N" and, when no ARP version is given, version
  "N.0.U0" (the form Java's own ARP Version0 uses, e.g. 8.0.3910).
* Trademark marks ((R), (TM), ®, ™) are dropped.

The version returned is the ARP Version0 when it holds one, else an embedded one (one from
a trailing " - <version>" part first, then the first in the name).
Languages come back as BCP 47 tags in canonical case ("en-us" → "en-US", "English" → "en").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sccm_cep.normalize._data import load
from sccm_cep.normalize._text import bounded, fold, strip_marks
from sccm_cep.normalize.version import clean_version

__all__ = ["ProductName", "split_product"]

# ARP display names are at most a few hundred characters; longer input is cut first.
_MAX_INPUT = 512


@dataclass(frozen=True, slots=True)
class ProductName:
    """A display name split into its parts; any part is None when it is not known."""

    product: str | None
    version: str | None
    architecture: str | None
    language: str | None


# One lexical item of a display name: a "( ... )" or "[ ... ]" group, a word, or a stray
# bracket. Groups do not nest and each alternative stops at the next bracket, so the scan
# is linear.
_ITEM = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]|[^\s()\[\]]+|[()\[\]]")
_SEPARATORS = frozenset({"-", "–", "—"})
# A dotted version token: "23.01", "v1.2", "3.12.0rc1", "17.0.9+9", "2.43.0.windows.1".
_DOTTED = re.compile(r"[vV]?[0-9]{1,9}(?:\.[0-9]{1,9}){1,6}(?:[-+_.]?[0-9A-Za-z][0-9A-Za-z.+_-]{0,40})?")
_V_NUMBER = re.compile(r"[vV][0-9]{1,9}")
_INTEGER = re.compile(r"[0-9]{1,9}")
_LANG_TAG = re.compile(r"([a-z]{2,3})(?:[-_]([a-z]{4}))?(?:[-_]([a-z]{2}|[0-9]{3}))?")
_GROUP_SPLIT = re.compile(r"[\s,;/]+")


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str  # "word", "group", "sep", "stray"
    text: str
    close: str = ""  # the closing bracket of a group


@dataclass(frozen=True, slots=True)
class _Catalog:
    strong_arch: dict[str, str]
    weak_arch: dict[str, str]
    fillers: frozenset[str]
    version_keywords: frozenset[str]
    language_codes: frozenset[str]
    language_names: dict[str, str]
    side_by_side: tuple[tuple[str, int], ...]


@lru_cache(maxsize=1)
def _catalog() -> _Catalog:
    data = load("products")
    arch = data["architectures"]
    return _Catalog(
        strong_arch={fold(str(k)): str(v) for k, v in arch["strong"].items()},
        weak_arch={fold(str(k)): str(v) for k, v in arch["weak"].items()},
        fillers=frozenset(fold(str(w)) for w in data["fillers"]),
        version_keywords=frozenset(fold(str(w)) for w in data["version_keywords"]),
        language_codes=frozenset(str(c) for c in data["language_codes"]),
        language_names={fold(str(k)): str(v) for k, v in data["language_names"].items()},
        side_by_side=tuple((fold(str(e["prefix"])), int(e["keep"])) for e in data["side_by_side"]),
    )


class _Tags:
    """What was taken out of the name; the first value found for each tag wins."""

    def __init__(self) -> None:
        self.versions: list[str] = []
        self.architecture: str | None = None
        self.language: str | None = None

    def arch(self, value: str) -> None:
        if self.architecture is None:
            self.architecture = value

    def lang(self, value: str) -> None:
        if self.language is None:
            self.language = value


def split_product(display_name: str | None, version: str | None) -> ProductName:
    """Split an ARP display name (and its Version0) into product, version, arch, language.

    "7-Zip 23.01 (x64)" → ("7-Zip", "23.01", "x64", None);
    "Mozilla Firefox (x64 en-US)" → ("Mozilla Firefox", None, "x64", "en-US").
    """
    arp_version = clean_version(version)
    text = bounded(display_name, _MAX_INPUT)
    if text is None:
        return ProductName(None, arp_version, None, None)
    split = _split(strip_marks(text))
    if arp_version is not None:
        return ProductName(split.product, arp_version, split.architecture, split.language)
    return split


# Inventory repeats the same display names across millions of rows.
@lru_cache(maxsize=16384)
def _split(text: str) -> ProductName:
    cat = _catalog()
    tags = _Tags()
    items = _tokenize(text, cat)

    # Trailing " - <tags>" parts, last first; the part before the first separator stays.
    trailing_version: str | None = None
    while True:
        cut = _last_separator(items)
        if cut <= 0:
            break
        tail = items[cut + 1 :]
        found = _Tags()
        if not tail or not _all_tags(tail, cat, found):
            break
        items = items[:cut]
        _merge(tags, found)
        if found.versions and trailing_version is None:
            trailing_version = found.versions[0]

    out, inserted = _scan(items, cat, tags)
    product = _render(out)

    # "Microsoft .NET Runtime - 8.0.1": the runtime's identifying version sat in a dropped tail.
    if product and trailing_version and not inserted:
        keep = _side_by_side(product, cat)
        if keep:
            product = f"{product} {_leading(trailing_version, keep)}"
    first = tags.versions[0] if tags.versions else None
    return ProductName(product, first, tags.architecture, tags.language)


def _tokenize(text: str, cat: _Catalog) -> list[_Item]:
    items: list[_Item] = []
    for match in _ITEM.finditer(text):
        token = match.group()
        if match.group(1) is not None:
            items.append(_Item("group", match.group(1).strip(), ")"))
        elif match.group(2) is not None:
            items.append(_Item("group", match.group(2).strip(), "]"))
        elif token in "()[]":
            items.append(_Item("stray", token))
        elif token in _SEPARATORS:
            items.append(_Item("sep", token))
        else:
            items.extend(_split_attached_arch(token, cat))
    return items


def _split_attached_arch(token: str, cat: _Catalog) -> list[_Item]:
    """ "7-x64" and "3.2.2-1-x64" carry the architecture glued on with "-" or "_"."""
    for glue in ("-", "_"):
        head, sep, tail = token.rpartition(glue)
        if sep and head and fold(tail) in cat.strong_arch and fold(token) not in cat.strong_arch:
            return [_Item("word", head), _Item("word", tail)]
    return [_Item("word", token)]


def _last_separator(items: list[_Item]) -> int:
    for index in range(len(items) - 1, -1, -1):
        if items[index].kind == "sep":
            return index
    return -1


def _merge(into: _Tags, found: _Tags) -> None:
    into.versions.extend(found.versions)
    if found.architecture:
        into.arch(found.architecture)
    if found.language:
        into.lang(found.language)


def _all_tags(items: list[_Item], cat: _Catalog, found: _Tags) -> bool:
    """Whether ``items`` (a tail part) hold only tags; if so they are recorded in ``found``."""
    language = cat.language_names.get(fold(_render(items) or ""))
    if language:  # "English", "Chinese (Simplified)"
        found.lang(language)
        return True
    for item in items:
        if item.kind == "group":
            if not _group_tags(item.text, cat, found):
                return False
        elif item.kind != "word" or not _tag_word(item.text, cat, found, strict=False):
            return False
    return True


def _group_tags(content: str, cat: _Catalog, found: _Tags) -> bool:
    """Whether a bracket group holds only tags ("x64 en-US", "64 bit"); records them."""
    if not content:
        return False
    whole = cat.language_names.get(fold(content))
    if whole:
        found.lang(whole)
        return True
    words = [w for w in _GROUP_SPLIT.split(content) if w]
    trial = _Tags()
    for index, word in enumerate(words):
        folded = fold(word)
        if (
            folded in ("64", "32")
            and index + 1 < len(words)
            and fold(words[index + 1])
            in (
                "bit",
                "bits",
            )
        ):
            trial.arch("x64" if folded == "64" else "x86")
        elif folded in cat.fillers:
            continue
        elif not _tag_word(word, cat, trial, strict=False):
            return False
    _merge(found, trial)
    return True


def _tag_word(word: str, cat: _Catalog, found: _Tags, *, strict: bool) -> bool:
    """Record ``word`` if it is a tag. ``strict`` (inside a name) admits only strong tags."""
    folded = fold(word)
    arch = cat.strong_arch.get(folded) or (None if strict else cat.weak_arch.get(folded))
    if arch:
        found.arch(arch)
        return True
    if _DOTTED.fullmatch(word) or _V_NUMBER.fullmatch(word):
        found.versions.append(word.lstrip("vV"))
        return True
    if strict:
        return False
    language = _language_tag(word, cat)
    if language:
        found.lang(language)
        return True
    return folded in cat.fillers


def _language_tag(word: str, cat: _Catalog) -> str | None:
    match = _LANG_TAG.fullmatch(word.casefold())
    if match is None:
        return None
    lang, script, region = match.groups()
    if lang not in cat.language_codes:
        return None
    # A bare upper-case code ("IT", "DE") is more often an abbreviation than a language.
    if script is None and region is None and word != word.casefold():
        return None
    parts = [lang]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def _scan(items: list[_Item], cat: _Catalog, tags: _Tags) -> tuple[list[_Item], bool]:
    """Drop tags from the remaining items; returns the kept items and whether a
    side-by-side version was put back into the name."""
    out: list[_Item] = []
    inserted = False
    is_java = False
    index = 0
    while index < len(items):
        item = items[index]
        nxt = items[index + 1] if index + 1 < len(items) else None
        if item.kind == "group":
            if not _group_tags(item.text, cat, tags):
                out.append(item)
            index += 1
            continue
        if item.kind != "word":
            out.append(item)
            index += 1
            continue
        folded = fold(item.text)
        is_java = is_java or any(k in folded for k in ("java", "jdk", "jre"))
        if (
            folded in cat.version_keywords
            and nxt is not None
            and nxt.kind == "word"
            and (_DOTTED.fullmatch(nxt.text) or _V_NUMBER.fullmatch(nxt.text) or _INTEGER.fullmatch(nxt.text))
        ):
            tags.versions.append(nxt.text.lstrip("vV"))
            index += 2
            continue
        if (
            is_java
            and folded == "update"
            and nxt is not None
            and _INTEGER.fullmatch(nxt.text)
            and out
            and _INTEGER.fullmatch(out[-1].text)
        ):
            tags.versions.append(f"{int(out[-1].text)}.0.{int(nxt.text)}0")
            index += 2
            continue
        found = _Tags()
        if _tag_word(item.text, cat, found, strict=True):
            _merge(tags, found)
            if found.versions:
                keep = _side_by_side(_render(out) or "", cat)
                if keep:
                    out.append(_Item("word", _leading(found.versions[0], keep)))
                    inserted = True
            index += 1
            continue
        out.append(item)
        index += 1
    return out, inserted


def _side_by_side(product: str, cat: _Catalog) -> int:
    folded = fold(product)
    for prefix, keep in cat.side_by_side:
        if folded == prefix or folded.startswith(prefix + " "):
            return keep
    return 0


def _leading(version: str, keep: int) -> str:
    numeric = re.match(r"[0-9]+(?:\.[0-9]+)*", version)
    parts = (numeric.group() if numeric else version).split(".")
    return ".".join(parts[:keep])


def _render(items: list[_Item]) -> str | None:
    parts: list[str] = []
    for item in items:
        if item.kind == "sep":
            if parts and parts[-1] not in _SEPARATORS:
                parts.append(item.text)
        elif item.kind == "group":
            opening = "(" if item.close == ")" else "["
            parts.append(f"{opening}{item.text}{item.close}")
        elif item.kind == "stray":
            continue  # an unbalanced bracket carries no meaning
        else:
            parts.append(item.text)
    while parts and parts[-1] in _SEPARATORS:
        parts.pop()
    while parts and parts[0] in _SEPARATORS:
        parts.pop(0)
    text = " ".join(parts).strip(" ,;:|/")
    return text or None
