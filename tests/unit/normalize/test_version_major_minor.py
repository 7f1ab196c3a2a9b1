"""major_minor and clean_version: the textual major.minor rule and version tidying."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import clean_version, major_minor


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("120.0.6099.130", "120.0"),
        ("23.01", "23.01"),  # textual: 7-Zip 23.01 must not read as 23.1
        ("v2", "2"),
        ("V10.1", "10.1"),
        ("", None),
        ("1.2.3.4.5.6", "1.2"),
        ("14.38.33135.0", "14.38"),
        ("garbage", None),
        ("2.0b3", "2.0"),
        ("1.2-beta", "1.2"),
        ("  8.0.3910.13  ", "8.0"),
        ("Version 2.1", "2.1"),
        ("x64 1.2", "1.2"),
        ("7", "7"),
        ("01.02.03", "01.02"),
        ("1..2", "1"),
        ("10,5", "10"),
        (None, None),
        ("v", None),
        (".5", None),
        ("٣.٤", None),  # non-ASCII digits are not version digits
    ],
)
def test_major_minor_keeps_the_first_two_components_as_written(
    version: str | None, expected: str | None
) -> None:
    assert major_minor(version) == expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("14.38.33135.0", "14.38.33135.0"),
        ("  23.01 ", "23.01"),
        ("v2.1", "2.1"),
        (" v2.1 (build 5)", "2.1"),
        ("Version 3", "3"),
        ("", None),
        ("n/a", None),
        (None, None),
        ("1" * 500, "1" * 64),
    ],
)
def test_clean_version_returns_the_version_token_trimmed(version: str | None, expected: str | None) -> None:
    assert clean_version(version) == expected
