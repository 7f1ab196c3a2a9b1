"""No small cells (issue 13): at level basic every published count is >= k and a multiple of 5."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep import model as m
from sccm_cep.errors import PolicyError
from sccm_cep.model import Level, RecordKind
from sccm_cep.privacy.anonymize import (
    OTHER,
    ROUNDING_BASE,
    AnonymizedPart,
    AnonymizedSubmission,
    Anonymizer,
    SiteSecret,
    count_fields,
    minimum_count,
    round_count,
)
from sccm_cep.privacy.policy import default_policy_dir, load_policies

SECRET = SiteSecret(bytes(range(32)), site="PS1")
POLICIES = load_policies()
K = minimum_count(POLICIES)
AGGREGATES = [rt for rt in m.RECORD_TYPES if rt.KIND is RecordKind.AGGREGATE]


def _submit(level: Level, parts: Mapping[type[m.Record], list[m.Record]]) -> AnonymizedSubmission:
    anon = Anonymizer(POLICIES, SECRET, level, reference=date(2026, 12, 31))
    sections: dict[str, dict[str, AnonymizedPart]] = {}
    for section, types_ in m.SECTIONS.items():
        if not level.includes(types_[0].LEVEL):
            continue
        sections[section] = {}
        for rt in types_:
            records = parts.get(rt, [])
            sections[section][rt.NAME] = anon.part(rt, functools.partial(list, records))
    return anon.finish(site=anon.site_pseudonym("PS1"), period="2026-Q4", sections=sections, sources={})


def _counts(doc: AnonymizedSubmission) -> list[tuple[str, str, Any]]:
    out = []
    for parts in doc.sections.values():
        for part in parts.values():
            rt = m.record_type(part.record)
            for row in part.iter_rows():
                out += [(part.record, f, row[f]) for f in count_fields(rt, row)]
    return out


def test_k_is_the_policies_suppress_below_k() -> None:
    assert K == 5


@pytest.mark.parametrize(
    ("n", "sent"), [(5, 5), (6, 5), (7, 5), (8, 10), (12, 10), (13, 15), (1002, 1000), (1003, 1005)]
)
def test_counts_round_to_the_nearest_multiple_of_5(n: int, sent: int) -> None:
    assert round_count(n, 5) == sent


def test_rounding_never_goes_below_k() -> None:
    assert round_count(7, 7) == 10
    assert round_count(6, 6) == 10


_value = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "Dell", "Windows 11", "Enterprise"]))
_small = st.integers(min_value=0, max_value=40)


@st.composite
def _aggregate_rows(draw: st.DrawFn) -> tuple[type[m.Record], list[m.Record]]:
    rt = draw(st.sampled_from(AGGREGATES))
    weight = rt.WEIGHT
    assert weight is not None
    fields = [f.name for f in dataclasses.fields(rt) if f.name != weight]
    records = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        values: dict[str, Any] = {}
        for f in fields:
            # Integer and boolean fields get numbers; text fields get names (or nothing).
            kind = rt.__dataclass_fields__[f].type
            if "bool" in str(kind):
                values[f] = draw(st.one_of(st.none(), st.booleans()))
            elif "int" in str(kind):
                values[f] = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=64)))
            else:
                values[f] = draw(_value)
        values[weight] = draw(_small)
        records.append(rt(**values))
    return rt, records


@given(_aggregate_rows())
def test_no_published_count_is_below_k_or_off_the_base(case: tuple[type[m.Record], list[m.Record]]) -> None:
    rt, records = case
    doc = _submit(Level.BASIC, {rt: records})
    counts = _counts(doc)
    for record, field, value in counts:
        assert isinstance(value, int) and not isinstance(value, bool), (record, field, value)
        assert value >= K, (record, field, value)
        assert value % ROUNDING_BASE == 0, (record, field, value)
    # Nothing is invented: the rows sent stand for at most the devices read (give or take rounding).
    weight = rt.WEIGHT
    assert weight is not None
    sent = doc.sections[rt.SECTION][rt.NAME].rows
    assert sum(r[weight] for r in sent) <= sum(getattr(r, weight) for r in records) + 2 * len(sent)


def test_small_rows_fold_into_one_other_row() -> None:
    rows: list[m.Record] = [
        m.OperatingSystem(family="Windows 11", release="23H2", edition="Enterprise", device_count=47),
        m.OperatingSystem(family="Windows Server 2019", product_type="domain controller", device_count=1),
        m.OperatingSystem(family="Windows Server 2016", product_type="server", device_count=3),
        m.OperatingSystem(family="Windows 10", release="22H2", edition="Pro", device_count=2),
    ]
    doc = _submit(Level.BASIC, {m.OperatingSystem: rows})
    sent = doc.sections["operating_systems"]["operating_system"].rows
    assert [r["device_count"] for r in sent] == [45, 5]
    other = sent[1]
    assert all(v == OTHER for f, v in other.items() if f != "device_count")
    assert "domain controller" not in repr(sent)
    (note,) = [n for n in doc.suppressed if n.action == "min_count"]
    assert (note.record, note.values, note.devices, note.reason) == ("operating_system", 3, 6, "small_cell")


def test_an_other_row_still_below_k_is_dropped_with_a_note() -> None:
    rows: list[m.Record] = [
        m.HardwareCpu(cpu_family="Intel Core i5", cores=4, logical_processors=8, device_count=30),
        m.HardwareCpu(cpu_family="Intel Xeon", cores=48, logical_processors=96, device_count=1),
    ]
    doc = _submit(Level.BASIC, {m.HardwareCpu: rows})
    sent = doc.sections["hardware"]["hardware_cpu"].rows
    assert [(r["cores"], r["device_count"]) for r in sent] == [(4, 30)]
    reasons = {n.reason for n in doc.suppressed if n.action == "min_count"}
    assert reasons == {"small_cell", "dropped"}


def test_site_object_counts_below_k_are_sent_as_a_band() -> None:
    packages: list[m.Record] = [
        m.Package(package_id="PS100001", package_type="package", program_count=2, deployment_count=12),
        m.Package(package_id="PS100002", package_type="driver", program_count=0, deployment_count=5),
    ]
    baselines: list[m.Record] = [
        m.ConfigurationItem(ci_id="16777", ci_type="configuration_baseline", rule_count=7)
    ]
    doc = _submit(Level.BASIC, {m.Package: packages, m.ConfigurationItem: baselines})
    sent = doc.sections["deployments"]["package"].rows
    assert sorted((r["program_count"], r["deployment_count"]) for r in sent) == [("<5", 5), ("<5", 10)]
    (ci,) = doc.sections["configuration_policies"]["configuration_item"].rows
    assert ci["rule_count"] == 5


def test_rates_of_fewer_than_k_devices_are_withheld() -> None:
    deployments: list[m.Record] = [
        m.Deployment(deployment_id="A", feature_type="application", targeted=3, success_rate=1 / 3),
        m.Deployment(deployment_id="B", feature_type="application", targeted=40, success_rate=0.9),
    ]
    baselines: list[m.Record] = [
        m.ConfigurationItem(ci_id="1", targeted=50, evaluated=2, compliant_rate=0.5, error_rate=0.5),
    ]
    doc = _submit(Level.BASIC, {m.Deployment: deployments, m.ConfigurationItem: baselines})
    rates = {r["targeted"]: r["success_rate"] for r in doc.sections["deployments"]["deployment"].rows}
    assert rates == {"<10": None, "10-100": 0.9}
    (ci,) = doc.sections["configuration_policies"]["configuration_item"].rows
    assert ci["compliant_rate"] is None and ci["error_rate"] is None


def test_enhanced_keeps_exact_counts() -> None:
    # Device rows give exact totals at enhanced anyway; the rule is for level basic.
    rows: list[m.Record] = [m.HardwareMemory(memory_gb=16, device_count=7)]
    doc = _submit(Level.ENHANCED, {m.HardwareMemory: rows})
    assert doc.sections["hardware"]["hardware_memory"].rows == ({"memory_gb": "16-32", "device_count": 7},)


def test_every_aggregate_type_is_covered_by_default() -> None:
    # A record type needs nothing but its weight to come under the rule.
    for rt in AGGREGATES:
        assert rt.WEIGHT in count_fields(rt, POLICIES[rt.NAME].sent_fields(Level.BASIC)), rt.NAME


def test_total_bands_finer_than_the_rounding_are_refused(tmp_path: Path) -> None:
    for path in default_policy_dir().glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    totals = tmp_path / "client_totals.yaml"
    doc = yaml.safe_load(totals.read_text(encoding="utf-8"))
    doc["fields"]["managed"]["edges"] = [100, 502, 1000]
    totals.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(PolicyError, match="multiples of 5"):
        Anonymizer(load_policies(tmp_path), SECRET, Level.BASIC, reference=date(2026, 12, 31))
    Anonymizer(load_policies(tmp_path), SECRET, Level.ENHANCED, reference=date(2026, 12, 31))


def test_shipped_total_bands_are_not_finer_than_the_rounding() -> None:
    # Rows rounded to 5 place a total within +-2 per row of a multiple of 5; a band edge on a
    # multiple of 5 always leaves at least two candidates, so band and rows never pin a total.
    for record in ("client_totals", "directory_coverage", "deployment", "configuration_item"):
        for fp in POLICIES[record].fields.values():
            for edge in fp.params.get("edges", []):
                assert edge % ROUNDING_BASE == 0, (record, fp.name, edge)
