"""normalize_publisher: the alias table, the generic rule for unknown publishers, bad input."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import normalize_publisher, publisher_key
from sccm_cep.normalize.publisher import alias_table


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Microsoft Corporation", "Microsoft"),
        ("Microsoft Corp.", "Microsoft"),
        ("Microsoft", "Microsoft"),
        ("Microsoft Corporations", "Microsoft"),
        ("MICROSOFT CORPORATION", "Microsoft"),
        ("  Microsoft   Corporation  ", "Microsoft"),
        ("Adobe Systems Incorporated", "Adobe"),
        ("Adobe Inc.", "Adobe"),
        ("Adobe Systems, Inc.", "Adobe"),
        ("Google LLC", "Google"),
        ("Google Inc.", "Google"),
        ("Oracle Corporation", "Oracle"),
        ("Oracle America, Inc.", "Oracle"),
        ("Mozilla", "Mozilla"),
        ("Mozilla Corporation", "Mozilla"),
        ("Igor Pavlov", "Igor Pavlov"),
        ("Notepad++ Team", "Notepad++ Team"),
        ("VMware, Inc.", "VMware"),
        ("Broadcom Inc.", "Broadcom"),
        ("Citrix Systems, Inc.", "Citrix"),
        ("Cisco Systems, Inc.", "Cisco"),
        ("Cisco Webex LLC", "Cisco Webex"),
        ("Zoom Video Communications, Inc.", "Zoom"),
        ("Dell Inc.", "Dell"),
        ("HP Inc.", "HP"),
        ("Hewlett-Packard", "HP"),
        ("Hewlett-Packard Company", "HP"),
        ("Hewlett Packard Enterprise", "HPE"),
        ("LENOVO", "Lenovo"),
        ("Lenovo (United States) Inc.", "Lenovo"),
        ("Intel Corporation", "Intel"),
        ("Intel(R) Corporation", "Intel"),
        ("NVIDIA Corporation", "NVIDIA"),
        ("Advanced Micro Devices, Inc.", "AMD"),
        ("Realtek Semiconductor Corp.", "Realtek"),
        ("The Git Development Community", "The Git Development Community"),
        ("Python Software Foundation", "Python Software Foundation"),
        ("The Apache Software Foundation", "Apache"),
        ("Autodesk, Inc.", "Autodesk"),
        ("SAP SE", "SAP"),
        ("TeamViewer Germany GmbH", "TeamViewer"),
        ("Slack Technologies Inc.", "Slack"),
        ("Node.js Foundation", "Node.js Foundation"),
        ("Docker Inc.", "Docker"),
        ("JetBrains s.r.o.", "JetBrains"),
        ("Greenshot", "Greenshot"),
        ("VideoLAN", "VideoLAN"),
        ("Martin Prikryl", "Martin Prikryl"),
        ("Martin Přikryl", "Martin Prikryl"),
        ("Simon Tatham", "Simon Tatham"),
        ("ESET, spol. s r.o.", "ESET"),
        ("ASUSTeK COMPUTER INC.", "ASUS"),
        ("Samsung Electronics Co., Ltd.", "Samsung"),
    ],
)
def test_known_publisher_spellings_map_to_one_canonical_name(raw: str, expected: str) -> None:
    assert normalize_publisher(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Contoso Widgets, Inc.", "Contoso Widgets"),
        ("Contoso Widgets Inc", "Contoso Widgets"),
        ("Fabrikam LLC", "Fabrikam"),
        ("Fabrikam Ltd.", "Fabrikam"),
        ("Fabrikam Limited", "Fabrikam"),
        ("Tailspin GmbH", "Tailspin"),
        ("Tailspin GmbH & Co. KG", "Tailspin"),
        ("Northwind Corporation", "Northwind"),
        ("Northwind Corp.", "Northwind"),
        ("Northwind Co.", "Northwind"),
        ("Northwind S.A.", "Northwind"),
        ("Northwind AG", "Northwind"),
        ("Northwind B.V.", "Northwind"),
        ("Northwind Incorporated", "Northwind"),
        ("Northwind Co., Ltd.", "Northwind"),
        ("Northwind,Inc.", "Northwind"),
        ("  Litware    Software   Inc.  ", "Litware Software"),
        ("Litware Software.", "Litware Software"),
        ("Acme™ Tools (R) Ltd.", "Acme Tools"),
        ("Inc.", "Inc"),  # a name made only of a suffix keeps it rather than vanishing
        ("Société Générale S.A.", "Société Générale"),
        ("株式会社テスト", "株式会社テスト"),
    ],
)
def test_unknown_publishers_lose_legal_suffixes_and_punctuation(raw: str, expected: str) -> None:
    assert normalize_publisher(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n", "---", ",.;", "\x00\x01"])
def test_missing_or_blank_publisher_is_none(raw: str | None) -> None:
    assert normalize_publisher(raw) is None


def test_alias_table_covers_at_least_sixty_publishers() -> None:
    assert len(set(alias_table().values())) >= 60


def test_every_canonical_name_normalizes_to_itself() -> None:
    for canonical in set(alias_table().values()):
        assert normalize_publisher(canonical) == canonical


def test_normalization_is_idempotent_for_unknown_publishers() -> None:
    for raw in ("Contoso Widgets, Inc.", "Foo GmbH & Co. KG", "Bar Ltd."):
        once = normalize_publisher(raw)
        assert normalize_publisher(once) == once


def test_publisher_key_ignores_case_accents_marks_and_legal_form() -> None:
    assert publisher_key("The FOO Corporation") == publisher_key("foo")
    assert publisher_key("Martin Přikryl") == "martin prikryl"
    assert publisher_key("Intel(R) Corp.") == "intel"
    assert publisher_key(None) is None


def test_huge_publisher_string_is_cut_before_parsing() -> None:
    result = normalize_publisher("Microsoft " * 1_000_000)
    assert result is not None and len(result) <= 512
