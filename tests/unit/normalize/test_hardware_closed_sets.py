"""hardware_vendor and hardware_model_name: closed sets, so a maker or model string that names
a person, a host or the customer leaves as "other", never as itself."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import hardware_model_name, hardware_vendor


@pytest.mark.parametrize(
    ("raw", "vendor"),
    [
        ("Dell Inc.", "Dell"),
        ("LENOVO", "Lenovo"),
        ("Hewlett-Packard", "HP"),
        ("VMware, Inc.", "VMware"),
        ("Ambrose Thistlewaite Systems", "other"),  # a person's name as a maker
        ("Kestrelmoor Freight IT", "other"),  # the customer
        ("To Be Filled By O.E.M.", None),
        (None, None),
    ],
)
def test_vendor_is_a_maker_the_catalog_knows_or_other(raw: str | None, vendor: str | None) -> None:
    assert hardware_vendor(raw) == vendor


@pytest.mark.parametrize(
    ("maker", "model"),
    [
        ("Dell Inc.", "Latitude 5440"),
        ("Dell Inc.", "Latitude 9440 2-in-1"),
        ("Dell Inc.", "OptiPlex Micro 7010"),
        ("HP", "HP EliteBook 840 G8 Notebook PC"),
        ("HP", "HP ProDesk 400 G9 Small Form Factor PC"),
        ("HPE", "ProLiant DL380 Gen10 Plus"),
        ("LENOVO", "21HD0045GE"),
        ("Microsoft Corporation", "Surface Laptop 5"),
        ("Microsoft Corporation", "Virtual Machine"),
        ("VMware, Inc.", "VMware7,1"),
    ],
)
def test_real_models_are_kept_as_reported(maker: str, model: str) -> None:
    assert hardware_model_name(maker, model) == model


@pytest.mark.parametrize(
    ("maker", "model"),
    [
        ("Dell Inc.", "OptiPlex 7010 (Perpetua Dunmore)"),  # a person's name
        ("Dell Inc.", "Latitude 5440 Kestrelmoor"),  # the customer
        ("Quarry Systems", "X1"),  # a maker the catalog does not know
    ],
)
def test_a_model_with_any_unknown_word_is_other(maker: str, model: str) -> None:
    assert hardware_model_name(maker, model) == "other"


def test_missing_or_placeholder_models_stay_missing() -> None:
    assert hardware_model_name("Dell Inc.", None) is None
    assert hardware_model_name("Dell Inc.", "To Be Filled By O.E.M.") is None
