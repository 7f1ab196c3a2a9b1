"""The public surface of sccm_cep.normalize: ``__all__`` is honest, results are frozen,
and every function takes None and hostile input without raising, in little time."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest

import sccm_cep.normalize as normalize
from sccm_cep.normalize import (
    NormalizationStats,
    OsRelease,
    ProductName,
    chassis_name,
    clean_version,
    cpu_family,
    form_factor,
    hypervisor,
    major_minor,
    model_family,
    normalize_publisher,
    publisher_key,
    sccm_build,
    sccm_release,
    split_product,
    windows_release,
)

TEN_MB = 10 * 1024 * 1024

HOSTILE: list[object] = [
    None,
    "",
    " ",
    "\t\r\n",
    "\x00\x01\x02",
    "\u200b\ufeff",
    "   Microsoft   ",
    "Ünïcödé ✓ 日本語 עברית",
    "(((((((((((",
    ")))]]]",
    "- - - - -",
    "." * 1000,
    ":" * 1000,
    "1." * 1000,
    "a" * 100_000,
    "x64 " * 10_000,
    "\\" * 1000,
    b"bytes",
    12345,
    3.5,
    ["list"],
    {"a": 1},
]

ONE_ARG: list[Callable[[Any], Any]] = [
    normalize_publisher,
    publisher_key,
    major_minor,
    clean_version,
    sccm_release,
    sccm_build,
    chassis_name,
    form_factor,
    cpu_family,
]
TWO_ARGS: list[Callable[[Any, Any], Any]] = [split_product, windows_release, hypervisor, model_family]


def test_all_names_exist_and_nothing_public_is_missing_from_all() -> None:
    for name in normalize.__all__:
        assert hasattr(normalize, name), name
    public = {
        name
        for name, value in vars(normalize).items()
        if not name.startswith("_") and not isinstance(value, type(normalize)) and name != "annotations"
    }
    assert public == set(normalize.__all__)


@pytest.mark.parametrize("result_type", [ProductName, OsRelease])
def test_result_types_are_frozen_dataclasses(result_type: type) -> None:
    assert dataclasses.is_dataclass(result_type)
    assert result_type.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("func", ONE_ARG, ids=lambda f: f.__name__)
def test_one_argument_functions_accept_hostile_input(func: Callable[[Any], Any], value: object) -> None:
    result = func(value)
    assert result is None or isinstance(result, str | int)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("func", TWO_ARGS, ids=lambda f: f.__name__)
def test_two_argument_functions_accept_hostile_input(
    func: Callable[[Any, Any], Any], value: object
) -> None:
    func(value, value)
    func(value, None)
    func(None, value)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_stats_accept_hostile_publishers(value: object) -> None:
    stats = NormalizationStats()
    stats.add(value)  # type: ignore[arg-type]
    assert stats.summary().total == 1


def test_ten_megabyte_inputs_finish_well_under_a_second() -> None:
    huge = ("Microsoft Corporation 7-Zip 23.01 (x64) " * (TEN_MB // 40))[:TEN_MB]
    started = time.perf_counter()
    for func in ONE_ARG:
        func(huge)
    for func2 in TWO_ARGS:
        func2(huge, huge)
    NormalizationStats().add(huge)
    assert time.perf_counter() - started < 1.0
