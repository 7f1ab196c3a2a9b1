"""split_product: product names without versions, architecture and language tags."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import ProductName, split_product

P = ProductName


@pytest.mark.parametrize(
    ("display_name", "version", "expected"),
    [
        ("7-Zip 23.01 (x64)", None, P("7-Zip", "23.01", "x64", None)),
        ("Mozilla Firefox (x64 en-US)", None, P("Mozilla Firefox", None, "x64", "en-US")),
        (
            "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135",
            None,
            P("Microsoft Visual C++ 2015-2022 Redistributable", "14.38.33135", "x64", None),
        ),
        ("Notepad++ (64-bit x64)", None, P("Notepad++", None, "x64", None)),
        (
            "Microsoft 365 Apps for enterprise - en-us",
            None,
            P("Microsoft 365 Apps for enterprise", None, None, "en-US"),
        ),
        ("Adobe Acrobat Reader DC - English", None, P("Adobe Acrobat Reader DC", None, None, "en")),
        ("Adobe Acrobat (64-bit)", None, P("Adobe Acrobat", None, "x64", None)),
        ("Mozilla Thunderbird (x64 de)", None, P("Mozilla Thunderbird", None, "x64", "de")),
        ("Foo Viewer - Deutsch", None, P("Foo Viewer", None, None, "de")),
        ("Foo Viewer - Chinese (Simplified)", None, P("Foo Viewer", None, None, "zh-Hans")),
        (
            "Microsoft Office 專業增強版 2019 - zh-tw",
            None,
            P("Microsoft Office 專業增強版 2019", None, None, "zh-TW"),
        ),
        ("7-Zip 19.00 (x64 edition)", None, P("7-Zip", "19.00", "x64", None)),
        ("Zoom(64bit)", None, P("Zoom", None, "x64", None)),
        ("TortoiseGit 2.15.0.0 (64 bit)", None, P("TortoiseGit", "2.15.0.0", "x64", None)),
        ("Wireshark 4.2.0 64-bit", None, P("Wireshark", "4.2.0", "x64", None)),
        ("Foo [x64]", None, P("Foo", None, "x64", None)),
        ("WinRAR 6.24 (32-bit)", None, P("WinRAR", "6.24", "x86", None)),
        ("Foo Tool (ARM64)", None, P("Foo Tool", None, "arm64", None)),
        (
            "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.40664",
            None,
            P("Microsoft Visual C++ 2013 Minimum Runtime", "12.0.40664", "x64", None),
        ),
        (
            "Microsoft Visual C++ 2008 Redistributable - x64 9.0.30729.6161",
            None,
            P("Microsoft Visual C++ 2008 Redistributable", "9.0.30729.6161", "x64", None),
        ),
    ],
)
def test_versions_architecture_and_language_leave_the_product_name(
    display_name: str, version: str | None, expected: ProductName
) -> None:
    assert split_product(display_name, version) == expected


@pytest.mark.parametrize(
    ("display_name", "product", "version"),
    [
        ("PuTTY release 0.80 (64-bit)", "PuTTY", "0.80"),
        ("Git version 2.43.0", "Git", "2.43.0"),
        ("Sublime Text Build 4169", "Sublime Text", "4169"),
        ("Greenshot 1.2.10.6", "Greenshot", "1.2.10.6"),
        ("NVIDIA Graphics Driver 546.33", "NVIDIA Graphics Driver", "546.33"),
        ("Foo Manager v4.2", "Foo Manager", "4.2"),
        ("Foo - 1.2 - Bar", "Foo - Bar", "1.2"),
    ],
)
def test_embedded_versions_are_removed_with_their_keyword(
    display_name: str, product: str, version: str
) -> None:
    result = split_product(display_name, None)
    assert (result.product, result.version) == (product, version)


@pytest.mark.parametrize(
    "display_name",
    [
        "Microsoft Visual C++ 2015-2022 Redistributable",
        "Microsoft ODBC Driver 17 for SQL Server",
        "Citrix Workspace 2309",
        "Office 16 Click-to-Run Extensibility Component",
        "Update for Windows 10 for x64-based Systems (KB5001716)",
        "Dell Command | Update",
        "Microsoft Visual Studio Code (User)",
        "Microsoft Teams (IT)",
        "Microsoft Edge WebView2 Runtime",
        "Windows 11 23H2 Upgrade Assistant",
    ],
)
def test_plain_numbers_years_and_other_groups_stay_in_the_name(display_name: str) -> None:
    assert split_product(display_name, None).product == display_name


def test_trademark_marks_are_dropped_from_the_name() -> None:
    result = split_product("Intel(R) Wi-Fi 6 AX201 160MHz", None)
    assert result.product == "Intel Wi-Fi 6 AX201 160MHz"


@pytest.mark.parametrize(
    ("display_name", "product", "version"),
    [
        ("Python 3.12.1 (64-bit)", "Python 3.12", "3.12.1"),
        ("Python 3.12.1 Core Interpreter (64-bit)", "Python 3.12 Core Interpreter", "3.12.1"),
        ("Microsoft .NET Runtime - 8.0.1 (x64)", "Microsoft .NET Runtime 8.0", "8.0.1"),
        (
            "Microsoft ASP.NET Core 8.0.1 - Shared Framework (x64)",
            "Microsoft ASP.NET Core 8.0 - Shared Framework",
            "8.0.1",
        ),
        (
            "Microsoft Windows Desktop Runtime - 8.0.0 (x64)",
            "Microsoft Windows Desktop Runtime 8.0",
            "8.0.0",
        ),
        ("Microsoft .NET Framework 4.8.1", "Microsoft .NET Framework 4.8", "4.8.1"),
        ("Java SE Development Kit 17.0.9 (64-bit)", "Java SE Development Kit 17", "17.0.9"),
        (
            "Eclipse Temurin JDK with Hotspot 17.0.9+9 (x64)",
            "Eclipse Temurin JDK with Hotspot 17",
            "17.0.9+9",
        ),
        ("PowerShell 7-x64", "PowerShell 7", None),
        ("Ruby 3.2.2-1-x64", "Ruby 3.2", "3.2.2-1"),
    ],
)
def test_side_by_side_runtimes_keep_their_identifying_version_in_the_name(
    display_name: str, product: str, version: str | None
) -> None:
    result = split_product(display_name, None)
    assert (result.product, result.version) == (product, version)


def test_arp_version_never_adds_a_runtime_version_to_the_name() -> None:
    assert split_product("Python Launcher", "3.12.1150.0") == P("Python Launcher", "3.12.1150.0", None, None)


@pytest.mark.parametrize(
    ("display_name", "version", "product", "expected_version"),
    [
        ("Java 8 Update 391", None, "Java 8", "8.0.3910"),
        ("Java 8 Update 391 (64-bit)", "8.0.3910.13", "Java 8", "8.0.3910.13"),
        (
            "Java(TM) SE Development Kit 8 Update 391 (64-bit)",
            None,
            "Java SE Development Kit 8",
            "8.0.3910",
        ),
        ("Java 7 Update 80", None, "Java 7", "7.0.800"),
    ],
)
def test_java_update_number_becomes_the_version(
    display_name: str, version: str | None, product: str, expected_version: str
) -> None:
    result = split_product(display_name, version)
    assert (result.product, result.version) == (product, expected_version)


def test_update_is_only_a_version_keyword_for_java() -> None:
    assert split_product("Windows 10 Update Assistant", None).product == "Windows 10 Update Assistant"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("14.38.33135.0", "14.38.33135.0"),
        (" v23.01 ", "23.01"),
        ("", "14.38.33135"),
        (None, "14.38.33135"),
        ("n/a", "14.38.33135"),
    ],
)
def test_arp_version_is_preferred_over_the_embedded_one(version: str | None, expected: str) -> None:
    name = "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135"
    assert split_product(name, version).version == expected


@pytest.mark.parametrize(
    ("display_name", "version", "expected"),
    [
        (None, None, P(None, None, None, None)),
        ("", None, P(None, None, None, None)),
        ("   ", "1.0", P(None, "1.0", None, None)),
        (None, " v2.1 ", P(None, "2.1", None, None)),
        ("(x64)", None, P(None, None, "x64", None)),
        ("1.2.3", None, P(None, "1.2.3", None, None)),
        ("Foo (", None, P("Foo", None, None, None)),
        ("Foo ((x64)", None, P("Foo", None, "x64", None)),
        ("- - -", None, P(None, None, None, None)),
    ],
)
def test_missing_empty_or_malformed_names_do_not_fail(
    display_name: str | None, version: str | None, expected: ProductName
) -> None:
    assert split_product(display_name, version) == expected


def test_a_bare_upper_case_code_is_not_read_as_a_language() -> None:
    assert split_product("Foo Suite - IT", None).language is None


def test_huge_display_name_is_cut_to_512_characters_before_parsing() -> None:
    result = split_product("Contoso Suite " * 800_000 + "(x64)", "1.0")
    assert result.product is not None and len(result.product) <= 512
    assert result.architecture is None  # the tag was beyond the cut
