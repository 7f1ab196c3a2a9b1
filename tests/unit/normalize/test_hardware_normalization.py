"""Chassis type and form factor, hypervisor detection and model families."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import FORM_FACTORS, chassis_name, form_factor, hypervisor, model_family

SMBIOS = {
    1: "Other", 2: "Unknown", 3: "Desktop", 4: "Low Profile Desktop", 5: "Pizza Box",
    6: "Mini Tower", 7: "Tower", 8: "Portable", 9: "Laptop", 10: "Notebook", 11: "Hand Held",
    12: "Docking Station", 13: "All in One", 14: "Sub Notebook", 15: "Space-saving",
    16: "Lunch Box", 17: "Main Server Chassis", 18: "Expansion Chassis", 19: "SubChassis",
    20: "Bus Expansion Chassis", 21: "Peripheral Chassis", 22: "RAID Chassis",
    23: "Rack Mount Chassis", 24: "Sealed-case PC", 25: "Multi-system Chassis",
    26: "Compact PCI", 27: "Advanced TCA", 28: "Blade", 29: "Blade Enclosure", 30: "Tablet",
    31: "Convertible", 32: "Detachable", 33: "IoT Gateway", 34: "Embedded PC", 35: "Mini PC",
    36: "Stick PC",
}  # fmt: skip


@pytest.mark.parametrize(("number", "name"), sorted(SMBIOS.items()))
def test_every_smbios_chassis_type_has_its_name(number: int, name: str) -> None:
    assert chassis_name(number) == name
    assert chassis_name(str(number)) == name


@pytest.mark.parametrize(
    ("value", "name"),
    [("{10}", "Notebook"), (" 9 ", "Laptop"), ("3,9", "Desktop"), ("{2,9}", "Laptop"), ("{1}", "Other")],
)
def test_chassis_types_value_may_hold_braces_and_lists(value: str, name: str) -> None:
    assert chassis_name(value) == name


@pytest.mark.parametrize("value", [None, "", "   ", "abc", "99", "0", True, -1, "{}"])
def test_unknown_chassis_values_have_no_name_and_form_other(value: object) -> None:
    assert chassis_name(value) is None  # type: ignore[arg-type]
    assert form_factor(value) == "other"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "form"),
    [
        (3, "desktop"), (4, "desktop"), (6, "desktop"), (7, "desktop"), (13, "desktop"),
        (35, "desktop"), (36, "desktop"), (8, "laptop"), (9, "laptop"), (10, "laptop"),
        (14, "laptop"), (31, "laptop"), (30, "tablet"), (32, "tablet"), (11, "tablet"),
        (17, "server"), (23, "server"), (28, "server"), (1, "other"), (2, "other"),
        (12, "other"), (33, "other"), (34, "other"), ("{10}", "laptop"),
    ],
)  # fmt: skip
def test_form_factor_groups_chassis_types(value: int | str, form: str) -> None:
    assert form_factor(value) == form


def test_form_factor_is_always_one_of_the_five_values() -> None:
    assert {form_factor(n) for n in range(0, 40)} <= set(FORM_FACTORS)


@pytest.mark.parametrize(
    ("manufacturer", "model", "expected"),
    [
        ("Microsoft Corporation", "Virtual Machine", "Hyper-V"),
        ("VMware, Inc.", "VMware7,1", "VMware"),
        ("VMware, Inc.", "VMware Virtual Platform", "VMware"),
        (None, "VMware20,1", "VMware"),
        ("QEMU", "Standard PC (Q35 + ICH9, 2009)", "QEMU"),
        ("Red Hat", "KVM", "KVM"),
        ("OpenStack Foundation", "OpenStack Nova", "KVM"),
        ("innotek GmbH", "VirtualBox", "VirtualBox"),
        ("Oracle Corporation", "VirtualBox", "VirtualBox"),
        ("Xen", "HVM domU", "Xen"),
        ("Amazon EC2", "t3.large", "Amazon EC2"),
        ("Google", "Google Compute Engine", "Google Compute Engine"),
        ("Nutanix", "AHV", "Nutanix AHV"),
        ("Parallels Software International Inc.", "Parallels Virtual Platform", "Parallels"),
        ("Microsoft Corporation", "Surface Pro 9", None),
        ("Dell Inc.", "Latitude 5440", None),
        ("LENOVO", "21HD003AUS", None),
        (None, None, None),
        ("", "  ", None),
    ],
)
def test_hypervisor_is_recognized_from_manufacturer_and_model(
    manufacturer: str | None, model: str | None, expected: str | None
) -> None:
    assert hypervisor(manufacturer, model) == expected


@pytest.mark.parametrize(
    ("manufacturer", "model", "expected"),
    [
        ("Dell Inc.", "Latitude 5440", "Dell Latitude"),
        ("Dell Inc.", "OptiPlex 7010", "Dell OptiPlex"),
        ("Dell Inc.", "Precision 5570", "Dell Precision"),
        ("Dell Inc.", "PowerEdge R750", "Dell PowerEdge"),
        ("Dell Inc.", "XPS 13 9315", "Dell XPS"),
        ("Dell Inc.", "Vostro 3520", "Dell Vostro"),
        ("HP", "HP EliteBook 840 G10 Notebook PC", "HP EliteBook"),
        ("HP", "HP ProBook 450 G9", "HP ProBook"),
        ("Hewlett-Packard", "HP ProDesk 600 G6 Small Form Factor PC", "HP ProDesk"),
        ("HP", "HP EliteDesk 800 G8 Desktop Mini PC", "HP EliteDesk"),
        ("HP", "HP ZBook Fury 16 G10", "HP ZBook"),
        ("HP", "HP Z2 Tower G9 Workstation", "HP Z Workstation"),
        ("HPE", "ProLiant DL380 Gen10", "HPE ProLiant"),
        ("LENOVO", "ThinkPad T14 Gen 4", "Lenovo ThinkPad"),
        ("LENOVO", "11T3S0LA00", "Lenovo ThinkCentre"),
        ("LENOVO", "30FM", "Lenovo ThinkStation"),
        ("LENOVO", "7X06CTO1WW", "Lenovo ThinkSystem"),
        ("LENOVO", "21HD003AUS", "Lenovo (other)"),
        ("Microsoft Corporation", "Surface Pro 9", "Microsoft Surface"),
        ("Microsoft Corporation", "Surface Laptop 5", "Microsoft Surface"),
        ("Microsoft Corporation", "Virtual Machine", "Virtual Machine"),
        ("VMware, Inc.", "VMware7,1", "Virtual Machine"),
        ("ASUSTeK COMPUTER INC.", "ExpertBook B9400CEA", "ASUS ExpertBook"),
        ("FUJITSU", "LIFEBOOK U7411", "Fujitsu LIFEBOOK"),
        ("Panasonic Corporation", "FZ-55-2", "Panasonic Toughbook"),
        ("Dell Inc.", "Unknown Model 123", "Dell (other)"),
        ("Dell Inc.", None, "Dell (other)"),
        ("Gigabyte Technology Co., Ltd.", "B550M DS3H", "other"),
        # An unknown manufacturer never comes back as its own text.
        ("WS0042 jsmith Builds", "Latitude 5440", "other"),
        ("To Be Filled By O.E.M.", "To Be Filled By O.E.M.", None),
        ("System manufacturer", "System Product Name", None),
        (None, "Latitude 5440", None),
        (None, None, None),
    ],
)
def test_model_family_is_vendor_plus_product_line(
    manufacturer: str | None, model: str | None, expected: str | None
) -> None:
    assert model_family(manufacturer, model) == expected


def test_hardware_functions_accept_huge_input() -> None:
    huge = "Dell Inc. " * 1_000_000
    assert model_family(huge, "Latitude " * 1_000_000) is not None
    assert hypervisor(huge, huge) is None
    assert chassis_name("9," * 5_000_000) == "Laptop"
