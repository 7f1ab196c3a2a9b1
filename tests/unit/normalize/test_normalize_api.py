"""What sccm_cep.normalize promises, checked as properties over generated input.

The package docstring promises pure functions that accept None and hostile text without
raising and cut overlong input before parsing it. Beyond that, each normalizer promises a
closed output vocabulary (form factors, chassis names, ConfigMgr versions, hypervisors,
Windows families and editions, architectures) or a shape (a version is digits and dots, a
publisher has no trademark marks), and some are idempotent. Known input → known output
tables live next to each normalizer's own tests; the data-driven ones here cover every
entry of the shipped catalogs.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import sccm_cep.normalize as normalize
from sccm_cep.normalize import (
    FORM_FACTORS,
    NormalizationStats,
    OsRelease,
    ProductName,
    chassis_name,
    clean_version,
    cpu_family,
    form_factor,
    hypervisor,
    major_minor,
    model_family,
    normalize_publisher,
    publisher_key,
    sccm_build,
    sccm_release,
    split_product,
    windows_release,
)
from sccm_cep.normalize._data import load
from sccm_cep.normalize._text import bounded, fold, strip_marks
from sccm_cep.normalize.publisher import alias_table, catalog_publisher
from sccm_cep.normalize.sccm import release_table

TEN_MB = 10 * 1024 * 1024
# Every normalizer cuts its input at 512 characters or fewer before looking at it.
LONGEST_BOUND = 512

# Pieces of real inventory, so generated strings reach the interesting branches, mixed
# with hostile pieces (controls, NUL, zero-width, marks, brackets, combining characters).
FRAGMENTS = [
    "Microsoft", "Corporation", "Inc.", "GmbH", "Ltd", ",", "(R)", "(TM)", "®", "™",
    "Intel", "Core", "i7-8650U", "13th", "Gen", "Xeon", "Gold", "AMD", "Ryzen", "7", "PRO",
    "@", "2.00GHz", "Windows", "11", "Server", "2022", "Enterprise", "LTSC", "NT", "10.0",
    "10.0.22631", "5.00.9128.1000", "9128", "23.01", "v2.1", "(x64)", "(x64 en-US)", "-",
    "x86", "64-bit", "en-us", "English", "Java", "8", "Update", "391", "Python", "3.12.1",
    "VMware", "Virtual Machine", "innotek", "Dell", "Latitude", "Lenovo", "21HD003AUS",
    "{10}", "3,9", "0", "To be filled by O.E.M.", "System manufacturer", "release", "version", "Build", "[", "]", "(", ")", "\x00", "\t", "\r\n",
    "\u200b", "\ufeff", "\u00ad", "\u0301", "ﬁ", "Ⅻ", "日本語", "עברית", "\U0001f600", "\ud800",
]  # fmt: skip

# Any code point, lone surrogates included (Python strings can carry them).
ANY_CHAR = st.characters(codec=None, categories=None, exclude_categories=())
ODD_TEXT = st.text(ANY_CHAR, max_size=120)
INVENTORY_TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), ODD_TEXT), max_size=12).flatmap(
    lambda parts: st.sampled_from([" ".join(parts), "".join(parts)])
)
TEXT = st.one_of(INVENTORY_TEXT, ODD_TEXT)
OPTIONAL_TEXT = st.one_of(st.none(), TEXT)
# Not text at all: every normalizer treats it as missing.
NOT_TEXT = st.one_of(
    st.binary(max_size=20),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

STRING_FUNCTIONS: list[Callable[[Any], Any]] = [
    normalize_publisher,
    publisher_key,
    major_minor,
    clean_version,
    cpu_family,
]
PAIR_FUNCTIONS: list[Callable[[Any, Any], Any]] = [split_product, windows_release, hypervisor, model_family]

_MARKS = re.compile(r"\((?:r|tm|c)\)|[®™©℠]", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff\u00ad]")

_HW = load("hardware")
CHASSIS_NAMES = frozenset(str(v) for v in _HW["chassis_types"].values())
HYPERVISORS = frozenset(str(rule["name"]) for rule in _HW["hypervisors"])
PLACEHOLDERS = frozenset(fold(str(p)) for p in _HW["placeholders"])
LINE_NAMES = frozenset(str(v) for v in _HW["line_names"].values())
_WIN = load("windows")
WINDOWS_RELEASES = frozenset(
    str(v) for key in ("client_releases", "server_releases", "hci_releases") for v in _WIN[key].values()
)
WINDOWS_EDITIONS = frozenset(str(edition) for _, edition in _WIN["editions"])
WINDOWS_FAMILIES = frozenset(
    {"Other", "Windows", "Windows 10", "Windows 11", "Windows Server", "Azure Stack HCI"}
    | {f"Windows {n}" for n in ("7", "8", "8.1", "Vista", "XP")}
    | {str(v) for key in ("server_products", "legacy_clients", "legacy_servers") for v in _WIN[key].values()}
)
# Families read from a caption's own words: "Windows Server 2019", "... 2008 R2".
_CAPTION_SERVER = re.compile(r"Windows Server 20[0-9]{2}(?: R2)?")
_PRODUCTS = load("products")["architectures"]
ARCHITECTURES = frozenset(str(v) for kind in ("strong", "weak") for v in _PRODUCTS[kind].values())
BCP47 = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?")


def clean_output(value: str) -> bool:
    """A display value: no controls, no zero-width characters, no padding, not blank."""
    return bool(value) and value == value.strip() and not _CONTROL.search(value) and "  " not in value


# -- the public surface ------------------------------------------------------------------


def test_all_names_exist_and_nothing_public_is_missing_from_all() -> None:
    for name in normalize.__all__:
        assert hasattr(normalize, name), name
    public = {
        name
        for name, value in vars(normalize).items()
        if not name.startswith("_") and not isinstance(value, type(normalize)) and name != "annotations"
    }
    assert public == set(normalize.__all__)


@pytest.mark.parametrize(
    "result", [ProductName(None, None, None, None), OsRelease("Other", None, None, None, "Other")]
)
def test_results_are_frozen(result: object) -> None:
    field = dataclasses.fields(result)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, "changed")


# -- never raising; non-text is missing ----------------------------------------------------


@given(raw=OPTIONAL_TEXT)
def test_string_normalizers_take_any_text(raw: str | None) -> None:
    for func in STRING_FUNCTIONS:
        result = func(raw)
        assert result is None or (isinstance(result, str) and clean_output(result)), func.__name__


@given(raw=NOT_TEXT)
def test_non_text_is_treated_as_missing(raw: object) -> None:
    for func in STRING_FUNCTIONS:
        assert func(raw) is None, func.__name__
    assert split_product(raw, raw) == ProductName(None, None, None, None)  # type: ignore[arg-type]
    assert windows_release(raw, raw).family == "Other"  # type: ignore[arg-type]
    assert hypervisor(raw, raw) is None  # type: ignore[arg-type]
    assert model_family(raw, raw) is None  # type: ignore[arg-type]
    assert sccm_release(raw) is None  # type: ignore[arg-type]
    assert chassis_name(raw) is None  # type: ignore[arg-type]


@given(first=OPTIONAL_TEXT, second=OPTIONAL_TEXT)
def test_pair_normalizers_take_any_text(first: str | None, second: str | None) -> None:
    for func in PAIR_FUNCTIONS:
        func(first, second)
        func(second, None)
        func(None, first)


@given(raw=OPTIONAL_TEXT)
def test_blank_or_control_only_input_is_missing(raw: str | None) -> None:
    blank = "".join(ch for ch in (raw or "") if ch.isspace() or _CONTROL.match(ch))
    for func in STRING_FUNCTIONS:
        assert func(blank) is None, func.__name__


@pytest.mark.parametrize("func", STRING_FUNCTIONS, ids=lambda f: f.__name__)
def test_ten_megabyte_input_is_cut_before_it_is_read(func: Callable[[Any], Any]) -> None:
    # The cut is the promise; how fast it runs is measured by `python -m bench.normalize`.
    huge = ("Microsoft Corporation 7-Zip 23.01 (x64) " * (TEN_MB // 40))[:TEN_MB]
    assert func(huge) == func(huge[:LONGEST_BOUND])
    nul = "\x00" * TEN_MB
    assert func(nul) is None


@pytest.mark.parametrize("func", PAIR_FUNCTIONS, ids=lambda f: f.__name__)
def test_ten_megabyte_pairs_are_cut_before_they_are_read(func: Callable[[Any, Any], Any]) -> None:
    huge = ("Microsoft Windows 11 Enterprise 10.0.22631 VMware " * (TEN_MB // 50))[:TEN_MB]
    assert func(huge, huge) == func(huge[:LONGEST_BOUND], huge[:LONGEST_BOUND])


# -- publishers ----------------------------------------------------------------------------


@given(raw=TEXT)
@example("Microsoft Corporation")
@example("Contoso Widgets, Inc.")
@example("Foo,Inc.")
def test_publisher_normalization_is_idempotent_and_unmarked(raw: str) -> None:
    canonical = normalize_publisher(raw)
    if canonical is not None:
        assert normalize_publisher(canonical) == canonical
        assert not _MARKS.search(canonical)


@given(raw=st.text(string.printable, max_size=60), pad=st.sampled_from(["", " ", "\t", "\x00", "\u200b "]))
def test_padding_and_zero_width_characters_do_not_change_a_publisher(raw: str, pad: str) -> None:
    assert normalize_publisher(pad + raw + pad) == normalize_publisher(raw)
    assert publisher_key(pad + raw + pad) == publisher_key(raw)
    assert normalize_publisher(raw.replace(" ", " \u200b")) == normalize_publisher(raw)


@given(raw=TEXT)
def test_publisher_key_is_folded_and_idempotent(raw: str) -> None:
    key = publisher_key(raw)
    if key is not None:
        assert key == key.casefold() and publisher_key(key) == key


@given(raw=st.text(string.ascii_letters + " .,&+-", max_size=40))
def test_publisher_key_ignores_case(raw: str) -> None:
    assert publisher_key(raw.upper()) == publisher_key(raw.lower())


def test_every_alias_in_the_catalog_gives_its_canonical_name() -> None:
    table = load("publishers")["publishers"]
    assert len(table) > 50
    for canonical, aliases in table.items():
        for alias in [canonical, *aliases]:
            assert normalize_publisher(str(alias)) == canonical, alias
            assert normalize_publisher(f"  {str(alias).upper()}  ") == canonical, alias
    assert set(alias_table().values()) == set(table)


# -- versions ------------------------------------------------------------------------------

VERSION = st.lists(st.integers(min_value=0, max_value=99999), min_size=1, max_size=6).map(
    lambda parts: ".".join(str(p) for p in parts)
)


@given(raw=TEXT)
@example("120.0.6099.130")
@example(" v2.1 (build 5)")
@example("1." * 100)
def test_versions_are_digits_and_dots_and_idempotent(raw: str) -> None:
    mm = major_minor(raw)
    if mm is not None:
        assert re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", mm), mm
        assert major_minor(mm) == mm
    clean = clean_version(raw)
    if clean is not None:
        assert len(clean) <= 64 and clean[0].isascii() and clean[0].isdigit() and " " not in clean
        assert clean_version(clean) == clean
        assert major_minor(clean) == mm


@given(
    version=VERSION,
    prefix=st.sampled_from(["", "v", "V", "Version "]),
    suffix=st.sampled_from(["", "b3", " (x64)"]),
)
def test_major_minor_keeps_the_first_two_components_as_written(
    version: str, prefix: str, suffix: str
) -> None:
    assert major_minor(prefix + version + suffix) == _expected_major_minor(version)
    assert major_minor("0" + version) == _expected_major_minor("0" + version)  # "01" stays "01"


def _expected_major_minor(version: str) -> str | None:
    """The first two components as written, unless the run is a number that carries data:
    a component of more than five digits, or an IPv4 address (four parts up to 255, the
    first at least 10, the last not 0)."""
    parts = version.split(".")
    if any(len(p) > 5 for p in parts[:2]):
        return None
    address = len(parts) == 4 and all(len(p) <= 3 and int(p) <= 255 for p in parts)
    if address and int(parts[0]) >= 10 and parts[3] != "0":
        return None
    return ".".join(parts[:2])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.168.77.201", None),  # an address, not a version: "192.168" would say which network
        ("10.213.47.199", None),
        ("0171.5550134", None),  # a phone number written with a dot
        ("20240115123.1", None),
        ("1.2.10.6", "1.2"),  # a small four-part version stays one
        ("10.0.0.0", "10.0"),
        ("120.0.6099.130", "120.0"),
        ("2024.12.0+467", "2024.12"),
        ("14.38.33135.0", "14.38"),
    ],
)
def test_major_minor_refuses_numbers_that_are_not_versions(raw: str, expected: str | None) -> None:
    assert major_minor(raw) == expected


# -- ConfigMgr -----------------------------------------------------------------------------


def test_every_official_build_gives_its_release_in_every_spelling() -> None:
    table = release_table()
    assert table[9128] == "2403"
    for build, release in table.items():
        assert (
            sccm_release(build) == sccm_release(str(build)) == sccm_release(f"5.00.{build}.1000") == release
        )


@given(build=st.integers(min_value=-(10**12), max_value=10**12))
def test_sccm_builds_are_positive_and_releases_come_from_the_table(build: int) -> None:
    assert sccm_build(build) == (build if build > 0 else None)
    assert sccm_release(build) in {None, *release_table().values()}
    if 0 < build < 10**6:
        assert sccm_release(str(build)) == sccm_release(build)


@given(raw=TEXT)
def test_sccm_release_of_any_text_is_an_official_version_or_none(raw: str) -> None:
    assert sccm_release(raw) in {None, *release_table().values()}
    assert sccm_build(True) is None  # a bool is not a build number


# -- hardware ------------------------------------------------------------------------------


@given(smbios=st.one_of(st.none(), TEXT, st.integers(min_value=-5, max_value=10**6)))
def test_chassis_names_and_form_factors_come_from_their_vocabularies(smbios: str | int | None) -> None:
    assert chassis_name(smbios) in {None, *CHASSIS_NAMES}
    assert form_factor(smbios) in FORM_FACTORS
    if chassis_name(smbios) is None:
        assert form_factor(smbios) == "other"


@given(number=st.integers(min_value=0, max_value=9999))
def test_a_chassis_number_reads_the_same_in_every_spelling(number: int) -> None:
    spellings: list[str | int] = [number, str(number), f"{{{number}}}", f" {number} "]
    assert len({chassis_name(s) for s in spellings}) == 1
    assert len({form_factor(s) for s in spellings}) == 1


@given(manufacturer=OPTIONAL_TEXT, model=OPTIONAL_TEXT)
@example("Microsoft Corporation", "Virtual Machine")
@example("Dell Inc.", "Latitude 7440")
@example("LENOVO", "21HD003AUS")
def test_model_families_are_virtual_or_named_after_the_maker(
    manufacturer: str | None, model: str | None
) -> None:
    vm = hypervisor(manufacturer, model)
    assert vm in {None, *HYPERVISORS}
    family = model_family(manufacturer, model)
    vendor = normalize_publisher(manufacturer)
    if vm is not None:
        assert family == "Virtual Machine"
    elif vendor is None or fold(strip_marks(bounded(manufacturer, 256) or "")) in PLACEHOLDERS:
        assert family is None
    elif catalog_publisher(manufacturer) is None:
        assert family == "other"  # an unknown maker's own text never comes back
    else:
        assert family is not None and clean_output(family)
        assert family.startswith(f"{vendor} ") or family in LINE_NAMES, (vendor, family)


# -- processors ----------------------------------------------------------------------------


@given(name=TEXT)
@example("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz")
def test_cpu_families_carry_no_marks_clock_or_padding(name: str) -> None:
    family = cpu_family(name)
    if family is not None:
        assert not _MARKS.search(family) and "@" not in family
        assert len(family) <= 64


@given(name=TEXT)
def test_cpu_families_are_a_closed_set(name: str) -> None:
    # Known families are made from their own words only: never a raw word of the input.
    family = cpu_family(name)
    assert (
        family is None or family == "other" or family.split()[0] in {"Intel", "AMD", "Qualcomm", "Microsoft"}
    )


# -- Windows -------------------------------------------------------------------------------


@given(caption=OPTIONAL_TEXT, version=st.one_of(OPTIONAL_TEXT, VERSION.map(lambda v: "10.0." + v)))
@example("Microsoft Windows 11 Enterprise", "10.0.22631")
@example("Microsoft Windows Server 2008 R2 Standard", None)
@example("Microsoft Windows NT Workstation 10.0", None)
def test_windows_releases_come_from_their_vocabularies(caption: str | None, version: str | None) -> None:
    os = windows_release(caption, version)
    assert os.family in WINDOWS_FAMILIES or _CAPTION_SERVER.fullmatch(os.family), os.family
    assert os.release is None or os.release in WINDOWS_RELEASES
    assert os.edition is None or os.edition in WINDOWS_EDITIONS
    assert os.build is None or os.build.isdigit()
    assert os.display == (f"{os.family} {os.release}" if os.release else os.family)
    if os.family == "Other":
        assert os == OsRelease("Other", None, None, None, "Other")


@given(caption=st.text(string.ascii_letters + " ", max_size=40))
def test_a_caption_without_windows_words_is_other(caption: str) -> None:
    words = set(caption.casefold().split())
    if (
        caption.strip()
        and "windows" not in words
        and not {"microsoft", "server"} <= words
        and "azure" not in words
    ):
        assert windows_release(caption, "10.0.22631").family == "Other"


# -- products ------------------------------------------------------------------------------


@given(name=OPTIONAL_TEXT, version=OPTIONAL_TEXT)
@example("7-Zip 23.01 (x64)", None)
@example("Mozilla Firefox (x64 en-US)", "128.0")
def test_product_parts_come_from_their_vocabularies(name: str | None, version: str | None) -> None:
    split = split_product(name, version)
    assert split.product is None or (clean_output(split.product) and not _MARKS.search(split.product))
    assert split.architecture is None or split.architecture in ARCHITECTURES
    assert split.language is None or BCP47.fullmatch(split.language), split.language
    if clean_version(version) is not None:
        assert split.version == clean_version(version), "the ARP version wins when it holds one"


@given(name=TEXT, version=VERSION, arch=st.sampled_from(["(x64)", "(64-bit)", "x86", "(x64 en-US)"]))
def test_versions_and_architecture_tags_leave_the_product_name(name: str, version: str, arch: str) -> None:
    base = split_product(name, None).product
    tagged = split_product(f"{name} {arch}", version)
    assert tagged.version == version
    if base is not None and tagged.architecture is not None:
        assert arch.strip("()").split()[0] not in (tagged.product or "").split()


# -- statistics ----------------------------------------------------------------------------


@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), TEXT), st.integers(min_value=0, max_value=10**6)), max_size=30
    )
)
def test_stats_add_up(rows: list[tuple[str | None, int]]) -> None:
    stats = NormalizationStats()
    stats.add_many(rows)
    summary = stats.summary()
    assert summary.total == sum(w for _, w in rows)
    assert summary.missing == sum(w for raw, w in rows if normalize_publisher(raw) is None)
    assert 0 <= summary.normalized + summary.missing <= summary.total
    share = stats.share_normalized
    assert share is None if summary.total == 0 else share is not None and 0.0 <= share <= 1.0


@pytest.mark.parametrize("weight", [-1, 1.5, True, "2", None])
def test_stats_refuse_a_weight_that_is_not_a_count(weight: object) -> None:
    stats = NormalizationStats()
    with pytest.raises(ValueError, match="non-negative integer"):
        stats.add("Microsoft", weight)  # type: ignore[arg-type]
    assert stats.summary().total == 0


def test_stats_count_trimming_as_unchanged_and_aliasing_as_normalized() -> None:
    stats = NormalizationStats()
    stats.add_many([("  Contoso Widgets ", 2), ("Microsoft Corporation", 3), (None, 5), ("\x00", 1)])
    summary = stats.summary()
    assert (summary.total, summary.normalized, summary.missing) == (11, 3, 6)
