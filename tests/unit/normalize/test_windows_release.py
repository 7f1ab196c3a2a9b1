"""windows_release: family, feature release, build and edition, decided by the build."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import OsRelease, windows_release


@pytest.mark.parametrize(
    ("build", "family", "release"),
    [
        ("10240", "Windows 10", "1507"),
        ("10586", "Windows 10", "1511"),
        ("14393", "Windows 10", "1607"),
        ("15063", "Windows 10", "1703"),
        ("16299", "Windows 10", "1709"),
        ("17134", "Windows 10", "1803"),
        ("17763", "Windows 10", "1809"),
        ("18362", "Windows 10", "1903"),
        ("18363", "Windows 10", "1909"),
        ("19041", "Windows 10", "2004"),
        ("19042", "Windows 10", "20H2"),
        ("19043", "Windows 10", "21H1"),
        ("19044", "Windows 10", "21H2"),
        ("19045", "Windows 10", "22H2"),
        ("22000", "Windows 11", "21H2"),
        ("22621", "Windows 11", "22H2"),
        ("22631", "Windows 11", "23H2"),
        ("26100", "Windows 11", "24H2"),
        ("26200", "Windows 11", "25H2"),
    ],
)
def test_client_build_decides_family_and_release(build: str, family: str, release: str) -> None:
    result = windows_release("Microsoft Windows 10 Enterprise", f"10.0.{build}")
    assert (result.family, result.release, result.build) == (family, release, build)
    assert result.display == f"{family} {release}"


def test_windows_11_reporting_a_windows_10_caption_is_windows_11() -> None:
    assert windows_release("Microsoft Windows 10 Pro", "10.0.22631").family == "Windows 11"


@pytest.mark.parametrize(
    ("caption", "version", "family", "release"),
    [
        ("Microsoft Windows Server 2016 Standard", "10.0.14393", "Windows Server 2016", None),
        ("Microsoft Windows Server 2019 Datacenter", "10.0.17763", "Windows Server 2019", None),
        ("Microsoft Windows Server 2022 Datacenter", "10.0.20348", "Windows Server 2022", None),
        ("Microsoft Windows Server 2025 Standard", "10.0.26100", "Windows Server 2025", None),
        ("Microsoft Windows Server Datacenter", "10.0.18363", "Windows Server", "1909"),
        ("Microsoft Windows Server Standard", "10.0.25398", "Windows Server", "23H2"),
        ("Microsoft Windows Server 2012 R2 Standard", "6.3.9600", "Windows Server 2012 R2", None),
        ("Microsoft Windows Server 2008 R2 Enterprise", "6.1.7601", "Windows Server 2008 R2", None),
        ("Microsoft® Windows Server® 2008 R2 Enterprise", None, "Windows Server 2008 R2", None),
        ("Microsoft Windows Server 2019 Standard", "10.0.20348", "Windows Server 2022", None),
        ("Microsoft Hyper-V Server 2019", "10.0.17763", "Windows Server 2019", None),
        ("Microsoft Azure Stack HCI", "10.0.20349", "Azure Stack HCI", "22H2"),
    ],
)
def test_server_caption_maps_the_build_to_the_server_product(
    caption: str, version: str | None, family: str, release: str | None
) -> None:
    result = windows_release(caption, version)
    assert (result.family, result.release) == (family, release)


@pytest.mark.parametrize(
    ("caption", "version", "family", "build"),
    [
        ("Microsoft Windows NT Workstation 10.0", "10.0.22631", "Windows 11", "22631"),
        ("Microsoft Windows NT Workstation 10.0", None, "Windows", None),
        ("Microsoft Windows NT Workstation 6.1", None, "Windows 7", None),
        ("Microsoft Windows NT Workstation 10.0 (Tablet Edition)", "10.0.19045", "Windows 10", "19045"),
        ("Microsoft Windows NT Server 10.0", "10.0.20348", "Windows Server 2022", "20348"),
        ("Microsoft Windows NT Advanced Server 10.0", None, "Windows Server", None),
        ("Microsoft Windows NT Server 6.3", None, "Windows Server 2012 R2", None),
    ],
)
def test_v_r_system_nt_captions_are_understood(
    caption: str, version: str | None, family: str, build: str | None
) -> None:
    result = windows_release(caption, version)
    assert (result.family, result.build, result.edition) == (family, build, None)


@pytest.mark.parametrize(
    ("caption", "edition"),
    [
        ("Microsoft Windows 11 Enterprise", "Enterprise"),
        ("Microsoft Windows 11 Enterprise N", "Enterprise"),
        ("Microsoft Windows 11 Pro", "Pro"),
        ("Microsoft Windows 7 Professional", "Pro"),
        ("Microsoft Windows 11 Education", "Education"),
        ("Microsoft Windows 11 Pro Education", "Pro Education"),
        ("Microsoft Windows 11 Pro for Workstations", "Pro for Workstations"),
        ("Microsoft Windows 10 Enterprise LTSC", "Enterprise LTSC"),
        ("Microsoft Windows 10 Enterprise 2016 LTSB", "Enterprise LTSC"),
        ("Microsoft Windows 10 IoT Enterprise LTSC", "IoT Enterprise LTSC"),
        ("Microsoft Windows 11 IoT Enterprise", "IoT Enterprise"),
        ("Microsoft Windows 11 Enterprise multi-session", "Enterprise multi-session"),
        ("Microsoft Windows 11 Home", "Home"),
        ("Microsoft Windows Server 2022 Standard", "Standard"),
        ("Microsoft Windows Server 2022 Datacenter", "Datacenter"),
        ("Microsoft Windows Server 2022 Datacenter: Azure Edition", "Datacenter: Azure Edition"),
        ("Microsoft Windows Server 2019 Essentials", "Essentials"),
        ("Microsoft Windows Server 2016 Datacenter Evaluation", "Datacenter"),
        ("Microsoft Windows 11", None),
    ],
)
def test_edition_comes_from_the_caption(caption: str, edition: str | None) -> None:
    assert windows_release(caption, "10.0.22631").edition == edition


@pytest.mark.parametrize(
    ("caption", "version", "family"),
    [
        (None, "10.0.26100", "Windows 11"),
        (None, "26200", "Windows 11"),
        (None, "19045", "Windows 10"),
        ("Microsoft Windows 10 Education", None, "Windows 10"),
        ("Microsoft Windows 11 Pro", None, "Windows 11"),
        ("Microsoft Windows 8.1 Pro", None, "Windows 8.1"),
        ("Microsoft Windows 7 Enterprise", "6.1.7601", "Windows 7"),
        ("Microsoft Windows XP Professional", "5.1.2600", "Windows XP"),
        ("Microsoft Windows 11 Enterprise", "10.0.27723", "Windows 11"),  # an Insider build
        ("Windows", "garbage", "Windows"),
    ],
)
def test_family_falls_back_to_what_is_known(caption: str | None, version: str | None, family: str) -> None:
    assert windows_release(caption, version).family == family


def test_unknown_build_has_no_release() -> None:
    result = windows_release("Microsoft Windows 11 Enterprise", "10.0.27723")
    assert result.release is None and result.display == "Windows 11"


@pytest.mark.parametrize("version", ["10.0.27723", "10.0.4155512", "10.0.55512345.1", "4155512"])
def test_a_build_the_catalog_does_not_know_is_not_reported(version: str) -> None:
    # The build is a closed vocabulary: a version column cannot carry arbitrary digits out.
    assert windows_release("Microsoft Windows 11 Enterprise", version).build is None


def test_every_catalog_build_is_reported() -> None:
    for version, build in (("10.0.19045", "19045"), ("10.0.26100.1", "26100"), ("6.1.7601", "7601")):
        assert windows_release("Microsoft Windows 10 Enterprise", version).build == build


def test_update_revision_is_not_part_of_the_build() -> None:
    assert windows_release(None, "10.0.22631.2861").build == "22631"


@pytest.mark.parametrize(
    ("caption", "version"),
    [
        (None, None),
        ("", ""),
        ("   ", " "),
        ("Mac OS X", "14.2.1"),
        ("Ubuntu 22.04 LTS", "5.15"),
        ("\x00\x01", None),
    ],
)
def test_no_windows_evidence_gives_family_other(caption: str | None, version: str | None) -> None:
    assert windows_release(caption, version) == OsRelease("Other", None, None, None, "Other")


def test_huge_caption_does_not_fail() -> None:
    result = windows_release("Microsoft Windows 11 Enterprise " * 500_000, "10.0.22631" * 100_000)
    assert result.family.startswith("Windows")
