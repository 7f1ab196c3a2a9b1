"""Recognized software: a product or publisher name leaves the site only when it is public.

A name is *recognized* when it is in a catalog shipped with sccm-cep, never because a site
reported it. Publishers: the normalizer's reviewed alias table (``normalize/data/publishers.yaml``)
or a publisher id of the public package index (``normalize/data/public_software.yaml``, built by
``scripts/build_public_software.py``). Products: a title whose key is in that index, or any
title of a publisher in the reviewed alias table. An in-house title ("Vandermolen Sprengplaner",
publisher "Vandermolen Quarrying") matches neither and is counted as ``unrecognized``.

Titles are compared after the normalizer's own split (``split_product``: version, architecture
and language tags already gone), case- and accent-folded with punctuation as spaces, and only
as whole names: "Contoso Firefox Wrapper" is not "Mozilla Firefox".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sccm_cep.normalize._data import load
from sccm_cep.normalize._text import bounded, fold, strip_marks
from sccm_cep.normalize.publisher import catalog_publisher, publisher_key
from sccm_cep.privacy._words import WORDS

__all__ = [
    "CATALOG",
    "DETAILS",
    "PARAM",
    "RECOGNIZED_FIELDS",
    "UNRECOGNIZED",
    "catalog_sizes",
    "is_public_product",
    "is_public_publisher",
    "product_key",
    "publisher_id_key",
    "recognized",
    "requires_recognition",
]

#: What an unrecognized name becomes in a submission (a rare or identifying one is ``other``).
UNRECOGNIZED = "unrecognized"
#: The policy parameter that widens a field: ``recognized_only: false`` sends any name past k.
PARAM = "recognized_only"
#: The shipped index of public software (``sccm_cep/normalize/data/<CATALOG>.yaml``).
CATALOG = "public_software"

#: (record, field) → what the field names. Only these fields take ``recognized_only``.
RECOGNIZED_FIELDS: Mapping[tuple[str, str], str] = {
    ("software", "publisher"): "publisher",
    ("software", "product"): "product",
}
#: Fields that say nothing once the name they describe is unrecognized (an in-house
#: application's version numbers tell the vendor nothing and split its count).
DETAILS: Mapping[tuple[str, str], tuple[str, ...]] = {("software", "product"): ("version",)}

_MAX_INPUT = 512
# Anything but letters, digits and the signs that carry meaning in a name (Notepad++, C#, AT&T).
_PUNCT = re.compile(r"[^\w+#&]|_")
# A publisher id shorter than this ("HR", "IT") could be anybody's department: not trusted.
MIN_PUBLISHER_ID = 4


def product_key(title: str | None) -> str | None:
    """The comparison key of a product title (already through ``split_product``), or None.

    "Mozilla Firefox" and "MOZILLA  firefox" share one key; so do "Dell Command | Update" and
    "Dell Command Update". A key holds at least one letter.
    """
    text = bounded(title, _MAX_INPUT)
    if text is None:
        return None
    key = " ".join(_PUNCT.sub(" ", fold(strip_marks(text))).split())
    return key if any(ch.isalpha() for ch in key) else None


def publisher_id_key(name: str | None) -> str | None:
    """The key a publisher name is compared on with the index's ids: the normalizer's publisher
    key without spaces ("Eclipse Adoptium" and the id "EclipseAdoptium" → "eclipseadoptium")."""
    key = publisher_key(name)
    if key is None:
        return None
    compact = key.replace(" ", "")
    return compact if any(ch.isalpha() for ch in compact) else None


@lru_cache(maxsize=1)
def _index() -> tuple[frozenset[str], frozenset[str]]:
    """(publisher id keys, product keys) of the shipped index, read once per process."""
    data = load(CATALOG)
    publishers = data.get("publishers") if isinstance(data, dict) else None
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(publishers, str) or not isinstance(products, str):
        raise ValueError(f"{CATALOG}.yaml: 'publishers' and 'products' must be text blocks, one key a line")
    return frozenset(publishers.splitlines()), frozenset(products.splitlines())


def catalog_sizes() -> dict[str, int]:
    """How many publisher ids and product keys the shipped index holds (for docs and tests)."""
    publishers, products = _index()
    return {"publishers": len(publishers), "products": len(products)}


# Inventory repeats the same few thousand names across a site's rows.
@lru_cache(maxsize=16384)
def is_public_publisher(name: str | None) -> bool:
    """Whether ``name`` (raw or normalized) is a publisher of public software: in the reviewed
    alias table, or a publisher id of the public package index."""
    if catalog_publisher(name) is not None:
        return True
    key = publisher_id_key(name)
    return key is not None and len(key) >= MIN_PUBLISHER_ID and key in _index()[0]


@lru_cache(maxsize=16384)
def is_public_product(title: str | None) -> bool:
    """Whether the title (after ``split_product``) is a product of the public package index."""
    key = product_key(title)
    return key is not None and key in _index()[1]


def recognized(record: str, field: str, row: Any) -> bool:
    """Whether ``row``'s value of ``field`` may be sent as it is (``field`` of ``RECOGNIZED_FIELDS``).

    A product is recognized by its title, or because its row's publisher is in the reviewed
    alias table and its words are all words of public product names (``_known_words``): the
    index's publisher ids alone vouch only for the publisher's own name, since a site's in-house
    titles may carry a public publisher's name of its own.
    """
    # The ARP Publisher (v_Add_Remove_Programs.Publisher0) is whatever the packager wrote: an
    # MSI's Manufacturer property, https://learn.microsoft.com/windows/win32/msi/configuring-add-remove-programs-with-windows-installer
    # So a publisher vouches for titles only when a person reviewed it (the alias table).
    what = RECOGNIZED_FIELDS[(record, field)]
    if what == "publisher":
        return is_public_publisher(getattr(row, field))
    title = getattr(row, field)
    if is_public_product(title):
        return True
    publisher = catalog_publisher(getattr(row, "publisher", None))
    return publisher is not None and _known_words(title, publisher)


#: Words of Microsoft's and hardware makers' component titles that no public product name in
#: the index happens to use (written by hand; never names read from a site).
_COMPONENT_WORDS = frozenset(
    {
        "agentless",
        "chipset",
        "component",
        "components",
        "corp",
        "corporation",
        "extensibility",
        "headers",
        "inc",
        "installer",
        "intellisense",
        "kits",
        "libraries",
        "libs",
        "localization",
        "management",
        "minimum",
        "objects",
        "resolver",
        "runtime",
        "sdk",
        "semiconductor",
        "service",
        "sources",
        "targeting",
        "thunderbolt",
        "universal",
    }
)
_TOKEN = re.compile(r"[^\W_]+|[+#&]+")


@lru_cache(maxsize=1)
def _product_words() -> frozenset[str]:
    """Every word of a public product name, the common English and IT words of ``_words`` and
    the component words above."""
    return frozenset(w for key in _index()[1] for w in key.split()) | WORDS | _COMPONENT_WORDS


@lru_cache(maxsize=16384)
def _known_words(title: str | None, publisher: str) -> bool:
    """Whether a title from a reviewed publisher may be taken on that publisher's word.

    A packager can put any publisher on an in-house title ("Rosalind Featherstonehaugh
    Onboarding" by "Microsoft Corporation"), so the publisher vouches for a title only when the
    title names the publisher itself, or when every word of it that looks like a name (a
    capitalized word of letters only, longer than three) is a word of public product names or
    of common English and IT vocabulary. Technical tokens (with digits, inner capitals, or all
    lower case, as driver package and component names are) pass."""
    key = product_key(title)
    if key is None or title is None:
        return False
    if set((product_key(publisher) or "").split()) & set(key.split()):
        return True
    words = _product_words()
    for token in _TOKEN.findall(strip_marks(title)):
        if len(token) <= 3 or token.islower() or not token.isalpha() or any(c.isupper() for c in token[1:]):
            continue
        if fold(token) not in words:
            return False
    return True


def requires_recognition(record: str, field: str, params: Mapping[str, Any]) -> bool:
    """Whether the field sends only recognized names: on by default, off with ``recognized_only: false``."""
    return (record, field) in RECOGNIZED_FIELDS and params.get(PARAM, True) is not False
