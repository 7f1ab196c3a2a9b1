"""The anonymizer: only policy-named fields leave, rare values are hidden, pseudonyms are keyed."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sccm_cep import model as m
from sccm_cep.model import Level
from sccm_cep.privacy.anonymize import OTHER, AnonymizedSubmission, Anonymizer, SiteSecret
from sccm_cep.privacy.policy import load_policies

SECRET = SiteSecret(bytes(range(32)), site="PS1")
REFERENCE = date(2026, 12, 31)


def _anonymizer(level: Level = Level.BASIC, secret: SiteSecret = SECRET) -> Anonymizer:
    return Anonymizer(load_policies(), secret, level, reference=REFERENCE)


def _software(*rows: tuple[str, str, str, int]) -> list[m.Record]:
    return [m.Software(publisher=p, product=t, version=v, installations=n) for p, t, v, n in rows]


def test_title_on_fewer_than_k_devices_becomes_other() -> None:
    part = _anonymizer().part(
        m.Software,
        lambda: _software(
            # A public title (its publisher is in the reviewed catalog); an unrecognized one
            # would be counted as 'unrecognized' whatever k (tests/unit/test_recognized.py).
            ("Mozilla", "Thunderbird", "115.0", 3),
            ("Mozilla", "Firefox", "120.0.1", 40),
            ("Mozilla", "Firefox", "121.0", 5),
        ),
    )
    products = {r["product"] for r in part.rows}
    assert products == {"Firefox", OTHER}
    assert all(r["product"] != "Thunderbird" for r in part.rows)


def test_overlapping_variants_do_not_add_up_past_k() -> None:
    # x86 and x64 builds on the same 3 devices: 6 rows-worth, but only 3 devices for sure.
    part = _anonymizer().part(
        m.Software,
        lambda: _software(
            ("Mozilla", "Thunderbird", "115.0", 3),
            ("Mozilla", "Thunderbird", "115.1", 3),
        ),
    )
    assert {r["product"] for r in part.rows} == {OTHER}


def test_disjoint_rows_add_up_for_k() -> None:
    part = _anonymizer().part(
        m.HardwareModel,
        lambda: [
            m.HardwareModel(
                manufacturer="Dell Inc.",
                model="Latitude 5440",
                model_family="Dell Latitude",
                vendor="Dell",
                device_count=3,
            ),
            m.HardwareModel(
                manufacturer="Dell Inc.",
                model="Latitude 5440",
                model_family="Dell Latitude",
                vendor="Dell",
                device_count=3,
            ),
        ],
    )
    assert part.rows == (
        {
            "model": "Latitude 5440",
            "vendor": "Dell",
            "model_family": "Dell Latitude",
            "hypervisor": None,
            "is_virtual": None,
            "device_count": 6,
        },
    )


def test_versions_are_cut_to_major_minor_and_merged() -> None:
    part = _anonymizer().part(
        m.Software,
        lambda: _software(
            ("Google", "Chrome", "120.0.6099.130", 10),
            ("Google", "Chrome", "120.0.6099.217", 7),
        ),
    )
    assert part.rows == (
        {"publisher": "Google", "product": "Chrome", "version": "120.0", "installations": 17},
    )


def test_dropped_fields_never_leave() -> None:
    part = _anonymizer().part(
        m.Package,
        lambda: [
            m.Package(
                package_id="PS100001",
                name="Office for Jane Doe",
                description="call 555-0143",
                source_path=r"\\fs01\pkg\office",
                package_type="package",
                program_count=2,
            ),
        ],
    )
    (row,) = part.rows
    assert set(row) == {"package_id", "package_type", "program_count", "deployment_count", "source_date"}
    assert row["package_id"] != "PS100001" and len(row["package_id"]) == 32


def test_pseudonyms_are_stable_and_keyed() -> None:
    other = SiteSecret(b"\x01" * 32, site="PS1")
    a = _anonymizer().site_pseudonym("PS1")
    assert a == _anonymizer().site_pseudonym("ps1 ")
    assert a != _anonymizer(secret=other).site_pseudonym("PS1")
    assert SECRET.pseudonym("site", "PS1") != SECRET.pseudonym("package", "PS1")


def test_two_sites_with_one_secret_share_no_pseudonym() -> None:
    key = bytes(range(32))
    ps1, ps2 = SiteSecret(key, site="PS1"), SiteSecret(key, site="ps2")
    for namespace in ("site", "device", "deployment", "package", "ci"):
        for value in ("PS1", "GUID:1", "PS100001", ""):
            assert ps1.pseudonym(namespace, value) != ps2.pseudonym(namespace, value)
            # ... nor with what releases before per-site keys sent.
            assert ps1.pseudonym(namespace, value) != ps1.legacy_pseudonym(namespace, value)
    assert SiteSecret(key, site=" ps1 ").pseudonym("device", "GUID:1") == ps1.pseudonym("device", "GUID:1")
    a = Anonymizer(load_policies(), ps1, Level.BASIC, reference=REFERENCE)
    b = Anonymizer(load_policies(), ps2, Level.BASIC, reference=REFERENCE)
    assert a.site_pseudonym("PS1") != b.site_pseudonym("PS2")


def test_legacy_pseudonyms_are_what_earlier_releases_computed() -> None:
    import hashlib
    import hmac

    subkey = hmac.new(bytes(range(32)), b"sccm-cep/v1/site", hashlib.sha256).digest()
    expected = hmac.new(subkey, b"ps1", hashlib.sha256).hexdigest()[:32]
    assert SECRET.legacy_pseudonym("site", " PS1") == expected


def test_a_secret_serves_only_its_own_site() -> None:
    with pytest.raises(ValueError):
        _anonymizer().site_pseudonym("PS2")
    for bad in ("", "  ", "P/1", "P\x001"):
        with pytest.raises(ValueError):
            SiteSecret(bytes(range(32)), site=bad)


def test_secret_never_shows_in_repr() -> None:
    assert "hidden" in repr(SECRET) and "\\x00" not in repr(SECRET) and "PS1" not in repr(SECRET)
    with pytest.raises(ValueError):
        SiteSecret(b"short", site="PS1")


def test_an_unknown_processor_or_maker_is_sent_as_other_never_as_its_name() -> None:
    from sccm_cep.export.derive import derive

    # On one device, as the processor string was: the name is hidden, and so is the family.
    planted = "WS0042 jsmith Workstation CPU @ 3.0GHz"
    cpu = _anonymizer().part(
        m.HardwareCpu,
        lambda: [derive(m.HardwareCpu(cpu_name=planted, cores=4, logical_processors=8, device_count=1))],
    )
    assert [(r["cpu_name"], r["cpu_family"]) for r in cpu.rows] == [(OTHER, OTHER)]
    # A derived field that is a closed set says "other" even where the count would keep it.
    common = derive(m.HardwareCpu(cpu_name=planted, cores=4, logical_processors=8, device_count=40))
    assert common.cpu_family == OTHER  # type: ignore[attr-defined]
    maker = derive(m.HardwareModel(manufacturer="WS0042 jsmith Labs", model="X1", device_count=40))
    assert maker.model_family == OTHER  # type: ignore[attr-defined]


def test_generalize_schemes() -> None:
    anon = _anonymizer()
    (totals,) = anon.part(
        m.ClientTotals, lambda: [m.ClientTotals(discovered=12_345, managed=99, active=None, virtual=175_000)]
    ).rows
    assert totals == {"discovered": "10000-25000", "managed": "<100", "active": None, "virtual": ">=175000"}
    (dep,) = anon.part(
        m.Deployment,
        lambda: [
            m.Deployment(
                deployment_id="1",
                feature_type="application",
                success_rate=0.8333,
                created=datetime(2025, 8, 3),
                targeted=250,
            )
        ],
    ).rows
    assert dep["success_rate"] == 0.85 and dep["created"] == "2025-Q3" and dep["targeted"] == "100-1000"
    (bios,) = anon.part(m.HardwareBios, lambda: [m.HardwareBios(release_year=2019, device_count=4)]).rows
    assert bios == {"release_year": "5-8", "device_count": 4}


def test_enhanced_fields_only_at_enhanced() -> None:
    assert "device" not in {rt.NAME for rt in m.RECORD_TYPES if Level.BASIC.includes(rt.LEVEL)}
    devices = [
        m.Device(device_id=f"GUID:{i}", host_name=f"WKS-{i}", model_family="Dell Latitude", memory_gb=16)
        for i in range(40)
    ]
    devices.append(m.Device(device_id="GUID:x", host_name="WKS-x", model_family="Rare Box", memory_gb=8))
    part = _anonymizer(Level.ENHANCED).part(m.Device, lambda: devices)
    rows = list(part.iter_rows())
    # The rare one is alone on its combination (k-anonymity, tests/unit/test_kanon.py): not sent.
    assert len(rows) == 40
    assert all("host_name" not in r for r in rows)
    assert {r["model_family"] for r in rows} == {"Dell Latitude"}
    assert rows[0]["memory_gb"] == "16-32"


def test_anonymized_submission_cannot_be_forged() -> None:
    with pytest.raises(TypeError):
        AnonymizedSubmission(
            site="x",
            level=Level.BASIC,
            period="2026-Q4",
            policy_digest="",
            sections={},
            sources={},
            suppressed=(),
        )
