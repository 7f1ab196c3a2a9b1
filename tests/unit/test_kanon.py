"""k-anonymity of device rows (privacy/kanon.py) and its use by the anonymizer (issue 13)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep import model as m
from sccm_cep.errors import PolicyError
from sccm_cep.model import Level
from sccm_cep.privacy.anonymize import Anonymizer, SiteSecret
from sccm_cep.privacy.kanon import OTHER, Hierarchy, band_hierarchy, device_hierarchy, plan
from sccm_cep.privacy.policy import default_policy_dir, load_policies

SECRET = SiteSecret(bytes(range(32)), site="PS1")
POLICIES = load_policies()
MEMORY = band_hierarchy("memory_gb", [4, 8, 16, 32, 64, 128, 256, 512])


def _table(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    return Counter(rows)


def _released(
    counts: Counter[tuple[Any, ...]], hierarchies: list[Hierarchy], k: int
) -> Counter[tuple[Any, ...]]:
    """What would be sent: every row through the plan, suppressed rows left out."""
    chosen = plan(counts, hierarchies, k)
    out: Counter[tuple[Any, ...]] = Counter()
    for combo, n in counts.items():
        lifted = chosen.apply(combo)
        if lifted is not None:
            out[lifted] += n
    return out


# -- hierarchies ---------------------------------------------------------------------------


def test_wider_bands_contain_the_narrower_ones() -> None:
    assert MEMORY.name(1) == "bands 4/16/64/256"
    assert [MEMORY.lift("16-32", 0), MEMORY.lift("<4", 0), MEMORY.lift(">=512", 0)] == [
        "16-64",
        "<4",
        ">=256",
    ]
    assert MEMORY.lift("16-64", 1) == "4-64" and MEMORY.lift("4-64", 2) == ">=4"
    assert MEMORY.lift(">=4", MEMORY.top - 1) == OTHER
    # Every band of each level lies inside exactly one band of the next one.
    labels = ["<4", "4-8", "8-16", "16-32", "32-64", "64-128", "128-256", "256-512", ">=512"]
    for level in range(MEMORY.top):
        groups: dict[Any, set[str]] = {}
        for label in labels:
            groups.setdefault(MEMORY.lift(label, level), set()).add(label)
        labels = sorted(groups)
        assert sum(len(v) for v in groups.values()) >= len(labels)


def test_numbers_are_banded_first() -> None:
    cores = device_hierarchy("cores", {})
    assert [cores.lift(n, 0) for n in (1, 4, 10, 200)] == ["<2", "4-8", "8-16", ">=128"]
    assert cores.lift(cores.lift(10, 0), 1) == "8-32"


def test_named_hierarchies() -> None:
    model = device_hierarchy("model_family", {})
    assert [model.lift(v, 0) for v in ("Dell Latitude", "Lenovo (other)", "Virtual Machine")] == [
        "Dell",
        "Lenovo",
        "Virtual Machine",
    ]
    cpu = device_hierarchy("cpu_family", {})
    assert cpu.lift("Intel Core i5 (13th Gen)", 0) == "Intel Core i5"
    assert cpu.lift("AMD Ryzen 7 PRO", 0) == "AMD Ryzen 7"
    assert cpu.lift("Intel Core i5", 1) == "Intel"
    assert device_hierarchy("chassis", {}).lift("Rack Mount Chassis", 0) == "server"
    assert device_hierarchy("chassis", {}).lift("Notebook", 0) == "laptop"
    assert device_hierarchy("os_family", {}).lift("Windows Server 2022", 0) == "Windows Server"
    assert device_hierarchy("client_version", {}).lift("2509", 0) == "25xx"
    hv = device_hierarchy("hypervisor", {})
    assert (hv.lift("VMware", 0), hv.lift(None, 0), hv.lift(None, 1)) == ("virtual", None, OTHER)
    unknown = device_hierarchy("some_new_field", {})
    assert unknown.top == 1 and unknown.lift("anything", 0) == OTHER


def test_every_maker_with_product_lines_is_one_word() -> None:
    # _vendor takes the family's first word: it must be the whole maker's name.
    data = yaml.safe_load(
        (Path(__file__).parents[2] / "sccm_cep/normalize/data/hardware.yaml").read_text(encoding="utf-8")
    )
    assert all(" " not in vendor for vendor in data["model_lines"])


# -- the search ----------------------------------------------------------------------------


def test_a_unique_row_is_generalized_before_it_is_suppressed() -> None:
    rows = (
        [("Dell Latitude", "16-32")] * 40 + [("Dell Precision", "16-32")] * 3 + [("HP EliteBook", "8-16")] * 7
    )
    hierarchies = [device_hierarchy("model_family", {}), MEMORY]
    chosen = plan(_table(rows), hierarchies, 5, max_suppressed=0.0)
    assert chosen.levels == (1, 0)  # Latitude and Precision merge into Dell: nothing suppressed
    assert chosen.suppressed_rows == 0
    assert _released(_table(rows), hierarchies, 5) == {("Dell", "16-32"): 43, ("HP", "8-16"): 7}


def test_what_generalization_cannot_save_within_the_budget_is_suppressed() -> None:
    rows = [("Dell Latitude", "16-32")] * 98 + [("HP EliteBook", ">=512")] * 2
    hierarchies = [device_hierarchy("model_family", {}), MEMORY]
    chosen = plan(_table(rows), hierarchies, 5)  # 2 % of the rows: within the 5 % budget
    assert chosen.levels == (0, 0)
    assert (chosen.suppressed_rows, chosen.suppressed_classes) == (2, 1)
    assert chosen.apply(("HP EliteBook", ">=512")) is None
    assert chosen.apply(("Unseen", "16-32")) is None  # never counted: not sent (fail closed)


def test_fewer_rows_than_k_release_nothing() -> None:
    rows = [("Dell Latitude", "16-32")] * 4
    assert _released(_table(rows), [device_hierarchy("model_family", {}), MEMORY], 5) == {}


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        ["Dell Latitude", "HP EliteBook", "Lenovo (other)", "other", "x", "16-32", "<4", ">=512"]
    ),
    st.integers(min_value=-3, max_value=300),
    st.booleans(),
    st.floats(allow_nan=False, min_value=-5, max_value=600),
    st.text(max_size=6),
)


@given(
    width=st.integers(min_value=1, max_value=4),
    rows=st.lists(st.lists(_VALUES, min_size=4, max_size=4), max_size=60),
    k=st.integers(min_value=2, max_value=6),
    budget=st.sampled_from([0.0, 0.05, 0.5]),
)
def test_random_tables_are_released_k_anonymous_or_not_at_all(
    width: int, rows: list[list[Any]], k: int, budget: float
) -> None:
    fields = ["model_family", "memory_gb", "cores", "os_release"][:width]
    hierarchies = [
        device_hierarchy(f, {"scheme": "bands", "edges": [4, 8, 16]} if f == "memory_gb" else {})
        for f in fields
    ]
    counts = _table([tuple(r[:width]) for r in rows])
    chosen = plan(counts, hierarchies, k, max_suppressed=budget)
    released: Counter[str] = Counter()
    for combo, n in counts.items():
        lifted = chosen.apply(combo)
        if lifted is not None:
            released[json.dumps(lifted)] += n  # as a receiver reads them: 1, 1.0 and true differ
    assert all(n >= k for n in released.values())
    assert sum(released.values()) + chosen.suppressed_rows == len(rows)
    assert chosen.suppressed_rows <= budget * len(rows) or chosen.levels == tuple(h.top for h in hierarchies)


# -- in the anonymizer ---------------------------------------------------------------------


def _devices(n: int) -> list[m.Record]:
    out: list[m.Record] = []
    for i in range(n):
        out.append(
            m.Device(
                device_id=f"GUID:{i}",
                host_name=f"WKS-{i}",
                os_family="Windows 11",
                os_release="23H2",
                model_family="Dell Latitude" if i % 2 else "Dell Precision",
                cores=4 + i % 7,
                memory_gb=16,
            )
        )
    return out


def _rows(anon: Anonymizer, devices: list[m.Record]) -> list[dict[str, Any]]:
    return list(anon.part(m.Device, lambda: devices).iter_rows())


def test_the_anonymizer_sends_only_k_anonymous_device_rows() -> None:
    anon = Anonymizer(POLICIES, SECRET, Level.ENHANCED, reference=date(2026, 12, 31), period="2026-Q4")
    devices = _devices(30)
    devices.append(
        m.Device(device_id="GUID:odd", host_name="ODD", os_family="Windows 10", cores=48, memory_gb=512)
    )
    rows = _rows(anon, devices)
    combos = Counter(tuple(v for f, v in sorted(r.items()) if f != "device_id") for r in rows)
    assert combos and min(combos.values()) >= anon.k
    assert len(rows) == 30  # the odd one is on no combination of k: not sent
    suppressed = anon.finish(site="s", period="2026-Q4", sections={}, sources={}).suppressed
    notes = [n for n in suppressed if n.record == "device" and n.reason == "k_anonymity"]
    assert any(n.field == "*" and n.devices == 1 and n.threshold == anon.k for n in notes)
    assert {n.field for n in notes if n.action == "generalize"} & {"cores", "model_family"}


def test_device_pseudonyms_are_keyed_per_period_unless_stable(tmp_path: Path) -> None:
    devices = _devices(12)

    def ids(period: str, policies: Any = POLICIES) -> list[str]:
        anon = Anonymizer(policies, SECRET, Level.ENHANCED, reference=date(2026, 12, 31), period=period)
        return sorted(r["device_id"] for r in _rows(anon, devices))

    q3, q4 = ids("2026-Q3"), ids("2026-Q4")
    assert len(q4) == 12 and not set(q3) & set(q4)
    assert SECRET.pseudonym("device/2026-Q4", "GUID:0") in q4

    shutil_copy = tmp_path / "policies"
    shutil_copy.mkdir()
    for path in default_policy_dir().glob("*.yaml"):
        (shutil_copy / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    device = shutil_copy / "device.yaml"
    device.write_text(
        device.read_text(encoding="utf-8").replace(
            "namespace: device\n", "namespace: device\n    stable: true\n", 1
        ),
        encoding="utf-8",
    )
    stable = load_policies(shutil_copy)
    assert stable.digest != POLICIES.digest  # asking for it is a policy change: a new approval
    assert ids("2026-Q3", stable) == ids("2026-Q4", stable)
    assert SECRET.pseudonym("device", "GUID:0") in ids("2026-Q4", stable)


def test_the_linter_takes_stable_only_as_a_device_flag(tmp_path: Path) -> None:
    for path in default_policy_dir().glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    deployment = tmp_path / "deployment.yaml"
    text = deployment.read_text(encoding="utf-8")
    assert "namespace: deployment\n" in text
    deployment.write_text(
        text.replace("namespace: deployment\n", "namespace: deployment\n    stable: true\n", 1)
    )
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert any("'stable' applies to device pseudonyms only" in p for p in caught.value.problems)

    deployment.write_text(text)
    device = tmp_path / "device.yaml"
    device.write_text(
        device.read_text(encoding="utf-8").replace(
            "namespace: device\n", "namespace: device\n    stable: yes please\n", 1
        )
    )
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert any("'stable' has the wrong type" in p for p in caught.value.problems)
