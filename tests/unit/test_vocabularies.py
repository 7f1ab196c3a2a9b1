"""Closed vocabularies (issue 13): real values map, anything else is other, and the policy
linter refuses to send a vocabulary-bound field the export does not map."""

from __future__ import annotations

import dataclasses

import pytest

from sccm_cep import model as m
from sccm_cep import normalize as n
from sccm_cep.export.derive import derive
from sccm_cep.privacy import policy as policy_module
from sccm_cep.privacy.policy import Action, lint, load_policies
from sccm_cep.privacy.vocabularies import MAPPED, MAPPERS, bound_fields

HOSTILE = [
    ("os_architecture", "64-bit (jdoe)"),
    ("os_architecture", "64-bit jdoe@corp.example"),
    ("chassis_code", "10 (jdoe)"),
    ("chassis_code", "99"),
    ("sccm_version", "5.00.9132.1011 (jdoe)"),
    ("sccm_version", "5.00.9999.1000"),
    ("site_role", "SMS Management Point (mp03.corp.example)"),
    ("site_role", "mp03.corp.example"),
    ("site_type", "primary (jdoe)"),
    ("site_status", "active (jdoe)"),
    ("site_role", "x" * 10_000),
]


@pytest.mark.parametrize(("vocab", "value"), HOSTILE)
def test_hostile_values_are_other(vocab: str, value: str) -> None:
    assert MAPPERS[vocab](value) == "other"


@pytest.mark.parametrize(
    ("vocab", "value", "expected"),
    [
        ("os_architecture", "64-bit", "x64"),
        ("os_architecture", "64-Bit", "x64"),
        ("os_architecture", "64 bits", "x64"),
        ("os_architecture", "64 ビット", "x64"),
        ("os_architecture", "x64-based PC", "x64"),
        ("os_architecture", "32-bit", "x86"),
        ("os_architecture", "ARM 64-bit Processor", "arm64"),
        ("chassis_code", "{10}", "10"),
        ("chassis_code", "3,9", "3"),
        ("chassis_code", 36, "36"),
        ("sccm_version", "5.00.9132.1011", "2409"),
        ("sccm_version", "5.00.9128.1000", "2403"),
        ("sccm_version", "2409", "2409"),
        ("site_role", "SMS Dmp Connector", "SMS Dmp Connector"),
        ("site_role", "sms  management point", "SMS Management Point"),
        ("site_type", "central_administration", "central_administration"),
        ("site_status", "secondary_upgrade_failed", "secondary_upgrade_failed"),
    ],
)
def test_real_values_map(vocab: str, value: object, expected: str) -> None:
    assert MAPPERS[vocab](value) == expected
    assert expected in n.vocabulary(vocab)


@pytest.mark.parametrize("vocab", sorted(MAPPERS))
def test_null_stays_null_and_mapping_is_stable(vocab: str) -> None:
    assert MAPPERS[vocab](None) is None
    for value in n.vocabulary(vocab):
        assert MAPPERS[vocab](value) == value


def test_every_bound_field_is_mapped_onto_its_vocabulary() -> None:
    assert bound_fields() == MAPPED
    assert set(MAPPED.values()) <= set(MAPPERS)


def test_derive_maps_bound_fields_and_reads_raw_values_first() -> None:
    site = derive(
        m.Site(site_type="primary (jdoe)", status="active", version="5.00.9132.1011 x", build_number=9132)
    )
    assert isinstance(site, m.Site)
    assert (site.site_type, site.status, site.version, site.release) == ("other", "active", "other", "2409")
    client = derive(m.ClientVersion(client_version="5.00.9135.1000", device_count=3))
    assert isinstance(client, m.ClientVersion)
    assert isinstance(site, m.Site)
    assert (client.client_version, client.release) == ("2503", "2503")
    chassis = derive(m.HardwareChassis(chassis_type="{10}", device_count=2))
    assert isinstance(chassis, m.HardwareChassis)
    assert (chassis.chassis_type, chassis.chassis, chassis.form_factor) == ("10", "Notebook", "laptop")
    device = derive(m.Device(architecture="64-bit (jdoe)", client_version="5.00.9141.1000", chassis_type="9"))
    assert isinstance(device, m.Device)
    assert (device.architecture, device.client_version, device.chassis_type) == ("other", "2509", "9")
    assert derive(derive(device)) == derive(device)


def test_linter_refuses_to_send_a_bound_field_the_export_does_not_map(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policies = load_policies().policies
    assert lint(policies.values()) == []
    unmapped = {k: v for k, v in MAPPED.items() if k != ("operating_system", "architecture")}
    monkeypatch.setattr(policy_module, "MAPPED", unmapped)
    problems = lint(policies.values())
    assert len(problems) == 1 and "'architecture'" in problems[0] and "os_architecture" in problems[0]
    # Dropping (or pseudonymizing) the field is fine: no raw value leaves.
    os_policy = policies["operating_system"]
    dropped = dataclasses.replace(os_policy.fields["architecture"], action=Action.DROP)
    fixed = dataclasses.replace(os_policy, fields={**os_policy.fields, "architecture": dropped})
    assert lint([*(p for p in policies.values() if p.record != "operating_system"), fixed]) == []
