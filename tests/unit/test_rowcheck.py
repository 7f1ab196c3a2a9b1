"""The writer's compiled row checks give the published schema's verdict, row for row.

The writer checks rows by type (sccm_cep/contract/rowcheck.py) instead of running the JSON
Schema validator on each; these tests hold the two to the same answers on every record type,
with hostile values and shapes, so the schema file stays the contract.
"""

from __future__ import annotations

import enum
import math
import random
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import jsonschema
import pytest

from sccm_cep.contract.rowcheck import Unsupported, compile_row
from sccm_cep.contract.submission import MAX_INT, MAX_TEXT, load_schema
from sccm_cep.errors import SubmissionError
from sccm_cep.export import write


class _Str(enum.StrEnum):
    A = "a"


class _Int(enum.IntEnum):
    ONE = 1


HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    MAX_INT,
    MAX_INT + 1,
    -MAX_INT,
    -MAX_INT - 1,
    2**70,
    0.0,
    1.0,
    1.5,
    -0.5,
    float(MAX_INT) + 1.0,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "other",
    "x" * MAX_TEXT,
    "x" * (MAX_TEXT + 1),
    "é" * MAX_TEXT,  # code points, not bytes
    "\U0001f600" * (MAX_TEXT + 1),
    "1",
    b"bytes",
    [],
    [1],
    {},
    {"a": 1},
    (1,),
    Decimal("2.5"),
    Decimal(MAX_INT + 1),
    Fraction(1, 3),
    _Str.A,
    _Int.ONE,
    date(2026, 1, 1),
    object(),
]


def _defs() -> dict[str, Any]:
    defs: dict[str, Any] = load_schema()["$defs"]
    return defs


def _verdict(record: str, row: Any) -> bool:
    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(_defs()[record]).is_valid(row)


def _base(record: str) -> dict[str, Any]:
    definition = _defs()[record]
    return {
        name: (1 if name in definition.get("required", ()) else None) for name in definition["properties"]
    }


RECORDS = sorted(_defs())


def test_every_row_definition_compiles_so_no_record_falls_back_to_the_slow_validator() -> None:
    for record in RECORDS:
        check = compile_row(record, _defs()[record])
        assert set(check.fields) == set(_defs()[record]["properties"])


@pytest.mark.parametrize("record", RECORDS)
def test_hostile_values_in_every_field_get_the_schemas_verdict(record: str) -> None:
    check = compile_row(record, _defs()[record])
    refused = 0
    for name in _defs()[record]["properties"]:
        for value in HOSTILE:
            row = {**_base(record), name: value}
            expected = _verdict(record, row)
            assert check.ok(row) is expected, (name, repr(value)[:40])
            refused += not expected
    assert refused > 0  # the sample holds values the schema refuses, for every record


@pytest.mark.parametrize("record", RECORDS)
def test_hostile_shapes_get_the_schemas_verdict(record: str) -> None:
    check = compile_row(record, _defs()[record])
    base = _base(record)
    shapes: list[Any] = [
        base,
        {},
        {**base, "extra": 1},
        {**base, "__proto__": None},
        {**base, 1: None},
        {k: v for k, v in list(base.items())[1:]},
        [base],
        None,
        "row",
    ]
    for row in shapes:
        assert check.ok(row) is _verdict(record, row), repr(row)[:60]


def test_random_rows_get_the_schemas_verdict() -> None:
    rng = random.Random(15)
    checks = {r: compile_row(r, _defs()[r]) for r in RECORDS}
    accepted = refused = 0
    for _ in range(3000):
        record = rng.choice(RECORDS)
        names = list(_defs()[record]["properties"])
        row = {n: rng.choice(HOSTILE[:26]) for n in rng.sample(names, rng.randint(0, len(names)))}
        if rng.random() < 0.1:
            row["unknown_field"] = "x"
        expected = _verdict(record, row)
        assert checks[record].ok(row) is expected, (record, row)
        accepted += expected
        refused += not expected
    assert accepted > 100 and refused > 100


def test_a_definition_the_check_cannot_judge_is_refused_when_compiled() -> None:
    definition = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
    }
    with pytest.raises(Unsupported):
        compile_row("x", definition)
    with pytest.raises(Unsupported):
        compile_row("x", {"type": "object", "properties": {}})  # open: extra fields allowed


def test_the_writer_refuses_a_bad_row_with_the_schemas_message_and_passes_a_good_one() -> None:
    record = "device"
    write._check_row(record, _base(record))
    with pytest.raises(SubmissionError) as caught:
        write._check_row(record, {**_base(record), "cores": True})
    assert "does not validate against" in str(caught.value)
    assert "True" not in str(caught.value)  # never the value


def test_when_the_compiled_check_and_the_schema_disagree_the_row_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class RefusesAll:
        def ok(self, row: Any) -> bool:
            return False

    monkeypatch.setattr(write, "_row_check", lambda record: RefusesAll())
    with pytest.raises(SubmissionError, match="compiled row check"):
        write._check_row("device", _base("device"))
