"""Identifier detection in names: each detector finds its kind and leaves product names alone;
hidden, split and disguised identifiers are still found, and the anonymizer withholds them."""

from __future__ import annotations

import csv
import functools
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep import model as m
from sccm_cep.export.derive import derive
from sccm_cep.model import Level
from sccm_cep.privacy._confusables import CONFUSABLES
from sccm_cep.privacy.anonymize import OTHER, Anonymizer, SiteSecret
from sccm_cep.privacy.identifiers import KINDS, find_identifiers, has_identifier, normalize_for_detection
from sccm_cep.privacy.policy import PolicySet, load_policies

SECRET = SiteSecret(bytes(range(32)), site="PS1")

POSITIVES: dict[str, list[str]] = {
    "email": ["jdoe@contoso.com", "Tool by j.doe+it@mail.contoso.de", "jdoe @ contoso.com"],
    "upn": ["hortensia.quackenbush@ad.quarry.local", "jdoe@CONTOSO", "svc-sccm@corp.internal"],
    "account": ["CONTOSO\\jdoe", "Installer (VDMQUARRY\\adm-pbrackwater)", "ad.contoso\\svc$"],
    "unc": ["\\\\fs01\\apps\\tool.msi", "Share \\\\nas02", "\\\\?\\UNC\\srv\\share"],
    "path": ["C:\\Tools\\Payroll", "D:/apps/x", "%APPDATA%\\Tool", "~/bin/tool"],
    "profile_path": ["\\Users\\jdoe\\AppData", "/home/jdoe/bin", "/Users/jdoe", "C:\\Users\\jdoe"],
    "sid": ["S-1-5-21-2718281828-3141592653-1618033988-24601", "owner s-1-5-21-1-2-3-500"],
    "guid": ["{6F9619FF-8B86-D011-B42D-00C04FC964FF}", "Agent 4c4c4544-0051-4b10-8037-b7c04f5a3731"],
    "mac": ["F4:39:09:5E:71:C3", "3c-7c-3f-a9-1d-62", "00155D0A1B2C", "NIC 0015.5d0a.1b2c"],
    "ipv4": ["10.77.148.203", "Agent for 172.29.231.57", "10.1.2.0/24"],
    "ipv6": ["fd7a:3c41:9e02:4b17::2c7", "fe80::5d3a:71ff:fe0c:9b1e", "2001:db8::1"],
    "phone": [
        "+49 6221 7394188",
        "Helpdesk (212) 555-0100",
        "555-123-4567",
        "+44 20 7946 0958",
        "030 12345678",
    ],
    "iban": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004"],
    "host": [
        "srv01.contoso.com",
        "qkbwks-7731.ad.vandermolen-quarry.example",
        "DESKTOP-4K2JR8L",
        "wks42.lan",
    ],
    "url": ["https://intranet.contoso.com/tool", "www.contoso.com"],
}

# Real product, publisher, model and CPU names that look a little like identifiers.
NEGATIVES = [
    "Node.js",
    "Microsoft .NET Framework 4.8",
    "Microsoft .NET Framework 4.8.1 Targeting Pack",
    "ASP.NET Core 8.0 Shared Framework",
    "Microsoft 365 Apps for enterprise - en-us",
    "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135",
    "Intel(R) Core(TM) i7-1165G7 @ 2.80GHz",
    "AMD Ryzen 7 PRO 5850U with Radeon Graphics",
    "SETI@home",
    "Active@ ISO Burner",
    "7-Zip 23.01 (x64)",
    "Notepad++",
    "System.Net.Http",
    "Google Chrome 120.0.6099.130",
    "Office 2016 16.0.4266.1001",
    "Windows Driver Package - Intel (e1dexpress) Net (06/12/2023 12.19.1.32)",
    "Python 3.12.1 (64-bit)",
    "Build 10.0.0.1",
    "HP EliteBook 840 G8 Notebook PC",
    "20XW0026US",
    "Latitude 5440",
    "KB5034441",
    "Dell Inc.",
    "Hewlett-Packard",
    "VMware7,1",
    "Apache Parquet for .NET",
    "Windows 10 Update Assistant",
]


@pytest.mark.parametrize(("kind", "text"), [(k, t) for k, texts in POSITIVES.items() for t in texts])
def test_each_detector_finds_its_kind(kind: str, text: str) -> None:
    kinds = {f.kind for f in find_identifiers(text)}
    assert kind in kinds, (text, kinds)
    assert kind in KINDS


@pytest.mark.parametrize("text", NEGATIVES)
def test_product_names_are_not_identifiers(text: str) -> None:
    assert find_identifiers(text) == (), text


@pytest.mark.parametrize(
    "text",
    [
        "BUILTIN\\Administrators",
        "NT AUTHORITY\\SYSTEM",
        "1.2.3.4.5",  # too many parts for an address
        "12:30:45",  # a time, not IPv6
        "4111 1111 1111 1112",  # Luhn fails
        "DE00 3704 0044 0532 0130 00",  # IBAN checksum fails
        "Users Guide",
    ],
)
def test_lookalikes_of_each_kind_are_left_alone(text: str) -> None:
    assert find_identifiers(text) == (), text


def test_public_software_catalog_false_positive_rate_is_small() -> None:
    catalog = Path("/work/shared/data/public-software.csv")
    if not catalog.exists():
        pytest.skip("the shared public-software catalog is not on this machine")
    with catalog.open(encoding="utf-8") as f:
        names = [row["product_name"] for row in csv.DictReader(f)]
    flagged = [n for n in names if has_identifier(n)]
    assert len(names) > 10_000
    # Measured: 30 of 14,585 (0.21 %), nearly all names that are a public domain ("draw.io").
    assert len(flagged) / len(names) < 0.005, flagged[:20]


# -- hidden and disguised identifiers -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jdoe\u200b@corp.example",  # zero-width space
        "jdoe\u2060@corp\u200d.example",  # word joiner, zero-width joiner
        "ｊｄｏｅ＠ｃｏｒｐ．ｅｘａｍｐｌｅ",  # full width
        "јdое@соrр.ехаmрlе",  # Cyrillic look-alikes
        "jdoe\u00ad@corp.example",  # soft hyphen
        "1０.７７.１４８.２０３",  # full-width digits
        "Ѕ-1-5-21-1-2-3-500",  # Cyrillic S
    ],
)
def test_disguised_identifiers_are_found(text: str) -> None:
    assert has_identifier(text)


def test_nul_is_a_finding_and_never_joins_pieces() -> None:
    kinds = {(f.kind, f.form) for f in find_identifiers("jdoe\x00@corp.example")}
    assert ("nul", "raw") in kinds
    assert "\x00" not in normalize_for_detection("a\x00b") and normalize_for_detection("a\x00b") == "a b"
    # The tidied form that reaches the anonymizer (NUL already a space) is still withheld.
    assert has_identifier("jdoe @corp.example")
    assert has_identifier("jdoe@corp .example")
    assert has_identifier("10.77 .148.203")


def test_bidi_override_is_a_finding() -> None:
    # Displayed right to left, "moc.elpmaxe@eodj" reads as an address.
    assert {f.kind for f in find_identifiers("Tool \u202emoc.elpmaxe@eodj")} >= {"bidi"}
    assert has_identifier("Tool\u2066x\u2069")


def test_oversized_names_are_withheld_unscanned() -> None:
    assert [f.kind for f in find_identifiers("a" * 5000)] == ["oversize"]


def test_normalization_folds_for_detection_only() -> None:
    assert normalize_for_detection("Ｃｏｎｔｏｓｏ\u200b Тооl\u202e") == "Contoso Tool"


# -- properties -------------------------------------------------------------------------------

IDENTIFIERS = st.sampled_from(
    [
        "hortensia.quackenbush@vandermolen-quarry.example",
        "otto.zwiebelmann@contoso.com",
        "VDMQUARRY\\hortensia.quackenbush",
        "CONTOSO\\jdoe",
        "\\\\fs-quarryhd01\\home$\\otto",
        "C:\\Users\\otto.zwiebelmann\\Downloads",
        "S-1-5-21-2718281828-3141592653-1618033988-24601",
        "F4:39:09:5E:71:C3",
        "F439095E71C3",
        "10.77.148.203",
        "fd7a:3c41:9e02:4b17::2c7",
        "{4C4C4544-0051-4B10-8037-B7C04F5A3731}",
        "+49 6221 7394188",
        "DE89 3704 0044 0532 0130 00",
        "4111 1111 1111 1111",
        "qkbwks-7731.ad.vandermolen-quarry.example",
        "srv01.contoso.com",
    ]
)
WORDS = st.lists(
    st.sampled_from(
        ["Contoso", "Payroll", "Client", "Agent", "Suite", "Tool", "for", "x64", "-", "2024", "Pro"]
    ),
    max_size=4,
)
HIDDEN = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202d", "\u2066", "\u2069"]
_LOOKALIKE = {ascii_: other for other, ascii_ in CONFUSABLES.items() if len(ascii_) == 1 and ascii_.isalpha()}


@st.composite
def disguised(draw: st.DrawFn) -> tuple[str, str]:
    """(an identifier, the same identifier with zero-width/bidi/full-width/look-alike tricks)."""
    ident = draw(IDENTIFIERS)
    out: list[str] = []
    for ch in ident:
        trick = draw(st.sampled_from(["plain", "plain", "plain", "fullwidth", "lookalike", "hidden"]))
        if trick == "fullwidth" and "!" <= ch <= "~":
            out.append(chr(ord(ch) + 0xFEE0))
        elif trick == "lookalike" and ch in _LOOKALIKE:
            out.append(_LOOKALIKE[ch])
        elif trick == "hidden":
            out.append(draw(st.sampled_from(HIDDEN)) + ch)
        else:
            out.append(ch)
    return ident, "".join(out)


@functools.cache
def _policies() -> PolicySet:
    """The shipped policies, read once: the property test below builds an anonymizer per example."""
    return load_policies()


def _anonymizer() -> Anonymizer:
    return Anonymizer(_policies(), SECRET, Level.BASIC, reference=date(2026, 12, 31))


def _core(text: str) -> str:
    """The comparison form used to check that nothing of an identifier got through."""
    return "".join(normalize_for_detection(unicodedata.normalize("NFKC", text)).split()).casefold()


@given(planted=disguised(), before=WORDS, after=WORDS)
def test_planted_identifier_is_always_found(
    planted: tuple[str, str], before: list[str], after: list[str]
) -> None:
    _, text = planted
    name = " ".join([*before, text, *after])
    assert has_identifier(name), repr(name)


@given(planted=disguised(), before=WORDS, after=WORDS, devices=st.integers(5, 50_000))
def test_planted_identifier_never_leaves_the_anonymizer(
    planted: tuple[str, str], before: list[str], after: list[str], devices: int
) -> None:
    ident, text = planted
    raw = " ".join([*before, text, *after])
    # The path a real name takes: derive tidies it, then the anonymizer decides.
    record = derive(m.Software(publisher=raw, product=raw, version="1.0", installations=devices))
    ordinary = m.Software(publisher="Mozilla", product="Firefox", version="121.0", installations=devices)
    anonymizer = _anonymizer()
    part = anonymizer.part(m.Software, lambda: [record, ordinary])
    sent = " ".join(str(v) for row in part.rows for v in row.values())
    assert _core(ident) not in _core(sent)
    assert "Firefox" in sent
    for row in part.rows:
        if row["product"] != "Firefox":
            assert row["product"] in (OTHER, None)
            assert row["publisher"] in (OTHER, None)


def test_identifier_names_are_withheld_on_any_number_of_devices() -> None:
    anonymizer = _anonymizer()
    part = anonymizer.part(
        m.HardwareModel,
        lambda: [
            m.HardwareModel(
                model="Latitude 5440", vendor="Dell", model_family="Dell Latitude", device_count=900
            ),
            m.HardwareModel(
                model="Lab PC srv01.contoso.com",
                vendor="Dell",
                model_family="Dell Latitude",
                device_count=800,
            ),
        ],
    )
    assert {r["model"] for r in part.rows} == {"Latitude 5440", OTHER}
    cpu = anonymizer.part(
        m.HardwareCpu, lambda: [m.HardwareCpu(cpu_name="CPU of jdoe@contoso.com", cores=4, device_count=50)]
    )
    assert {r["cpu_name"] for r in cpu.rows} == {OTHER}
    notes = [n for n in anonymizer.finish(site="x", period="2026-Q4", sections={}, sources={}).suppressed]
    withheld = {(n.record, n.field): n for n in notes if n.reason == "identifier"}
    assert withheld[("hardware_model", "model")].values == 1
    assert withheld[("hardware_model", "model")].devices == 800
    assert withheld[("hardware_cpu", "cpu_name")].devices == 50
    assert all(n.reason == "identifier" for n in notes)
