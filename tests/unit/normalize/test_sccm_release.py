"""sccm_release: ConfigMgr version from build numbers, per Microsoft's official table only."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import sccm_build, sccm_release
from sccm_cep.normalize.sccm import release_table

# Microsoft Learn "Updates and servicing" (shared/reference/sccm-sql-views.md §8).
OFFICIAL = {
    9146: "2603", 9141: "2509", 9135: "2503", 9132: "2409", 9128: "2403", 9122: "2309",
    9106: "2303", 9096: "2211", 9088: "2207", 9078: "2203", 9068: "2111", 9058: "2107",
    9049: "2103", 9040: "2010", 9012: "2006", 8968: "2002", 8913: "1910", 8853: "1906",
    8790: "1902", 8740: "1810", 8692: "1806", 8634: "1802", 8577: "1710", 8540: "1706",
    8498: "1702", 8458: "1610", 8412: "1606", 8355: "1602", 8325: "1511",
}  # fmt: skip


def test_table_is_exactly_the_official_one() -> None:
    assert release_table() == OFFICIAL


@pytest.mark.parametrize(("build", "version"), sorted(OFFICIAL.items()))
def test_every_official_build_maps_to_its_version(build: int, version: str) -> None:
    assert sccm_release(build) == version
    assert sccm_release(str(build)) == version
    assert sccm_release(f"5.00.{build}.1000") == version


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5.00.9128.1000", "2403"),  # not 2207, whatever unofficial tables say
        ("5.00.9088.1000", "2207"),
        ("5.0.9128.1012", "2403"),  # a hotfix raises only the fourth part
        (" 5.00.9132.1011 ", "2409"),
        ("9146", "2603"),
    ],
)
def test_client_and_site_version_strings_give_the_release(value: str, expected: str) -> None:
    assert sccm_release(value) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "junk", "2403", "5.00.9999.1000", 0, -5, 10**30, True, "4.00.6487.2000"],
)
def test_unknown_or_invalid_builds_give_none(value: object) -> None:
    assert sccm_release(value) is None  # type: ignore[arg-type]


def test_sccm_build_extracts_the_third_part() -> None:
    assert sccm_build("5.00.9128.1000") == 9128
    assert sccm_build(9128) == 9128
    assert sccm_build("nonsense") is None
