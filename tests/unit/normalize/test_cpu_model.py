"""cpu_model: a processor name in one spelling from recognized words only, else "other"."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import cpu_model


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("13th Gen Intel(R) Core(TM) i5-1345U", "13th Gen Intel Core i5-1345U"),
        ("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "Intel Xeon Gold 6338"),
        ("Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz", "Intel Xeon Gold 5318Y"),
        ("AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics", "AMD Ryzen 7 PRO 7840U"),
        ("AMD Ryzen 5 PRO 5650U with Radeon Graphics", "AMD Ryzen 5 PRO 5650U"),
        ("AMD EPYC 7543 32-Core Processor", "AMD EPYC 7543"),
        ("Intel(R) Core(TM) Ultra 7 165U", "Intel Core Ultra 7 165U"),
        ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "Intel Xeon E5-2680 v4"),
        ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", "Intel Celeron N4020"),
        ("Intel(R) Core(TM)2 Duo CPU E8400 @ 3.00GHz", "Intel Core 2 Duo E8400"),
        ("INTEL(R) CORE(TM) I7-8650U CPU @ 1.90GHZ", "Intel Core i7-8650U"),
    ],
)
def test_real_processor_names_get_one_spelling(name: str, model: str) -> None:
    assert cpu_model(name) == model


@pytest.mark.parametrize(
    "name",
    [
        "Intel(R) Xeon(R) Gold 6338 (Beatrix Halloway)",  # a person's name
        "Intel(R) Core(TM) i7-1165G7 CONTOSO\\jdoe",  # an account
        "AMD Ryzen 7 PRO 5850U kmfvdi-118.kestrelmoor.lan",  # a host name
        "Intel(R) Core(TM) i5-1345U jdoe@corp.example",
        "Quarry CPU 3000",  # an unknown family
        "Common KVM processor",
    ],
)
def test_a_name_with_any_unknown_word_is_other(name: str) -> None:
    assert cpu_model(name) == "other"


def test_missing_names_stay_missing() -> None:
    assert cpu_model(None) is None
    assert cpu_model("   ") is None
