"""The receiver's check of a submission gives the full validator's verdict and message.

``check_document`` checks a submission's rows with the checks compiled from the schema's row
definitions and only its envelope with the JSON Schema validator. These tests mutate real fleet
submissions (hostile values, row shapes, rows arrays and sections of the wrong kind, unknown
sections and records) and hold it to the full validator: valid exactly when the validator finds
no error, and otherwise the Violation the full path gives.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable, Iterator
from functools import cache
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fleet import fleet
from sccm_cep.contract import validation
from sccm_cep.contract.submission import MAX_INT, MAX_TEXT, load_schema
from sccm_cep.contract.upload import DocumentKind
from sccm_cep.contract.validation import Violation, check_document, schema_violation, validator_for

Doc = dict[str, Any]

#: Field values of every kind a JSON body (and a careless caller) can hold.
HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.0,
    1.5,
    MAX_INT,
    MAX_INT + 1,
    -MAX_INT - 1,
    2**70,
    float(MAX_INT) + 1.0,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "1",
    "x" * MAX_TEXT,
    "x" * (MAX_TEXT + 1),
    "é" * MAX_TEXT,
    [],
    ["x"],
    {},
    {"a": 1},
    (1,),
]
#: What a row may be instead of an object.
NOT_ROWS: list[Any] = [None, "row", 1, [], [{}], True]
#: What a rows array or a section may be instead of the right kind.
NOT_ARRAYS: list[Any] = [None, "rows", 0, {}, {"device": []}, (), True]
NOT_SECTIONS: list[Any] = [None, "section", 0, [], [{}], True]


def _defs() -> dict[str, Any]:
    defs: dict[str, Any] = load_schema()["$defs"]
    return defs


def _sections(doc: Doc | None = None) -> dict[str, list[str]]:
    """Section -> its rows arrays, read from the schema (those ``doc`` has, if given)."""
    properties = load_schema()["properties"]
    return {
        name: list(spec["properties"])
        for name, spec in properties.items()
        if spec.get("type") == "object"
        and all("items" in p for p in spec["properties"].values())
        and (doc is None or name in doc)
    }


def _valid_row(record: str) -> Doc:
    """A row the schema accepts, every field set (for record types the fleet leaves empty)."""
    row: Doc = {}
    for name, spec in _defs()[record]["properties"].items():
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        row[name] = 1 if "integer" in types else "x" if "string" in types else None
    return row


@cache
def _fleet() -> tuple[bytes, ...]:
    return tuple(upload.text for upload in fleet(12, seed=7, validate=False))


def _submissions() -> list[Doc]:
    docs = [json.loads(text) for text in _fleet()]
    return [doc for doc in docs if doc["kind"] == DocumentKind.SUBMISSION]


def _small(doc: Doc) -> Doc:
    """``doc`` with each rows array cut to three rows, and one row where it had none, so every
    record type has rows to mutate and a full validation stays quick."""
    for section, records in _sections(doc).items():
        for record in records:
            doc[section][record] = doc[section][record][:3] or [_valid_row(record)]
    return doc


def _expect_same(doc: Any) -> bool:
    """``check_document`` says what the full validator says; returns whether ``doc`` is valid."""
    expected = schema_violation(validator_for(DocumentKind.SUBMISSION), doc)
    got = check_document(doc)
    assert got == expected, (got, expected)
    return expected is None


#: A place in a document: keys and row indexes from the top.
Path = tuple[str | int, ...]
#: The value that deletes what a path names.
DROP: Any = object()


def _mutants(base: Doc) -> Iterator[tuple[Path, Any]]:
    """Mutations of ``base``: a place and the value to put there (appended one past a list's
    end; DROP deletes)."""
    for section, records in _sections(base).items():
        for record in records:
            seen: set[str] = set()
            for i, (name, spec) in enumerate(_defs()[record]["properties"].items()):
                # every value on the first field of each kind, a fifth of them on the others
                kind = json.dumps({k: v for k, v in spec.items() if k != "description"}, sort_keys=True)
                values = HOSTILE[i % 5 :: 5] if kind in seen else HOSTILE
                seen.add(kind)
                for value in values:
                    yield (section, record, -1, name), value
            for required in _defs()[record].get("required", ()):
                yield (section, record, 0, required), DROP
            yield (section, record, 0, "unknown_field"), "x"
            for row in NOT_ROWS:
                yield (section, record, len(base[section][record])), row
            for rows in NOT_ARRAYS:
                yield (section, record), rows
            yield (section, record), DROP
        yield (section, "unknown_record"), []
        for value in NOT_SECTIONS:
            yield (section,), value
        yield (section,), DROP
    yield ("unknown_section",), {"software": []}
    yield ("devices",), {"device": [_valid_row("device")]}  # at level basic
    yield ("level",), "enhanced"  # without devices
    yield ("feedback",), {"score": 11}


def _mutated(base: Doc, path: Path, value: Any) -> Doc:
    doc = copy.deepcopy(base)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    last = path[-1]
    if value is DROP:
        del target[last]
    elif isinstance(target, list) and last == len(target):
        target.append(value)
    else:
        target[last] = value
    return doc


def test_the_shipped_schema_takes_the_fast_path_for_every_record_type() -> None:
    plan = validation._submission_plan()
    assert plan is not None
    assert {section: sorted(checks) for section, checks in plan.items()} == {
        section: sorted(records) for section, records in _sections().items()
    }
    assert {check.record for checks in plan.values() for check in checks.values()} == set(_defs())


def test_a_valid_submission_is_accepted_without_the_full_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> Violation:
        raise AssertionError("the full validator ran on a valid submission")

    docs = _submissions()
    assert all(next(iter(validator_for(DocumentKind.SUBMISSION).iter_errors(d)), None) is None for d in docs)
    monkeypatch.setattr(validation, "schema_violation", refuse)
    assert docs and all(check_document(doc) is None for doc in docs)


def test_real_submissions_and_deletions_get_the_full_validators_verdict() -> None:
    docs = [json.loads(text) for text in _fleet()]
    assert {doc["kind"] for doc in docs} == {"submission", "deletion-request"}
    assert all(check_document(doc) is None for doc in docs)
    deletion = next(doc for doc in docs if doc["kind"] == "deletion-request")
    deletion["unknown"] = 1
    validator = validator_for(DocumentKind.DELETION_REQUEST)
    assert check_document(deletion) == schema_violation(validator, deletion) is not None


def test_a_bad_row_at_the_end_of_a_full_size_submission_gets_the_full_validators_message() -> None:
    for doc in _submissions()[:4]:
        rows = max(
            (doc[section][record] for section, records in _sections(doc).items() for record in records),
            key=len,
        )
        rows.append({**rows[-1], "unknown_field": 1})
        assert not _expect_same(doc)
        rows[-1] = {k: True for k in rows[-2]}
        assert not _expect_same(doc)


def test_mutated_submissions_get_the_full_validators_verdict_and_message() -> None:
    base = _small(_submissions()[0])
    assert _expect_same(base)
    accepted = refused = 0
    for path, value in _mutants(base):
        valid = _expect_same(_mutated(base, path, value))
        accepted += valid
        refused += not valid
    assert accepted > 200 and refused > 1000  # both verdicts are exercised


def test_random_mutations_get_the_full_validators_verdict() -> None:
    rng = random.Random(11)
    bases = [_small(doc) for doc in _submissions()]
    sections = _sections(bases[0])
    accepted = refused = 0
    for _ in range(200):
        doc = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            section = rng.choice(list(sections))
            record = rng.choice(sections[section])
            row = rng.choice(doc[section][record])
            row[rng.choice([*_defs()[record]["properties"], "extra"])] = rng.choice(HOSTILE)
        valid = _expect_same(doc)
        accepted += valid
        refused += not valid
    assert accepted > 20 and refused > 20


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=MAX_TEXT + 2),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=3,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_values_get_the_full_validators_verdict(data: st.DataObject) -> None:
    doc = _small(_submissions()[0])
    sections = _sections(doc)
    section = data.draw(st.sampled_from(sorted(sections)))
    record = data.draw(st.sampled_from(sections[section]))
    name = data.draw(st.sampled_from([*_defs()[record]["properties"], "extra"]) | st.text(max_size=3))
    doc[section][record][0][name] = data.draw(JSON_VALUES)
    _expect_same(doc)


def test_a_document_that_is_no_dict_gets_the_full_validators_verdict() -> None:
    doc = _submissions()[0]
    assert check_document(doc) is None
    assert not _expect_same(MappingProxyType(doc))


def test_when_a_row_check_and_the_validator_disagree_the_document_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class RefusesAll:
        def ok(self, row: Any) -> bool:
            return False

    plan = validation._submission_plan()
    assert plan is not None
    refusing = {section: dict.fromkeys(checks, RefusesAll()) for section, checks in plan.items()}
    monkeypatch.setattr(validation, "_submission_plan", lambda: refusing)
    violation = check_document(_submissions()[0])
    assert violation is not None and "compiled row check" in str(violation)


def _schema_with(change: Callable[[Doc], object]) -> Doc:
    schema = copy.deepcopy(load_schema())
    change(schema)
    return schema


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["$defs"]["software"]["properties"]["publisher"].__setitem__("pattern", "^a"),
        lambda s: s.__setitem__("$schema", "http://json-schema.org/draft-07/schema#"),
        lambda s: s.__setitem__("allOf", [{"properties": {"software": {"maxProperties": 0}}}]),
        lambda s: s.__setitem__("patternProperties", {"^soft": {"type": "object"}}),
        lambda s: s["then"].__setitem__("additionalProperties", {"type": "object"}),
        lambda s: s.__setitem__("$ref", "#/$defs/site"),
        lambda s: s.__setitem__("properties", {}),
    ],
    ids=["pattern", "draft-07", "allOf", "patternProperties", "then-additional", "ref", "no-sections"],
)
def test_a_schema_where_the_fast_path_is_not_provably_exact_gets_no_plan(
    change: Callable[[Doc], object],
) -> None:
    assert validation._rows_plan(load_schema()) is not None
    assert validation._rows_plan(_schema_with(change)) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["properties"]["software"]["properties"]["software"].__setitem__("maxItems", 5),
        lambda s: s["properties"]["software"]["properties"]["software"]["items"].__setitem__(
            "minProperties", 1
        ),
        lambda s: s["properties"]["software"].__setitem__("minProperties", 1),
        lambda s: s["properties"]["software"]["properties"]["software"]["items"].__setitem__("$ref", "#/x"),
    ],
    ids=["array-keyword", "items-sibling", "section-keyword", "foreign-ref"],
)
def test_a_section_with_more_than_rows_arrays_is_left_to_the_validator(
    change: Callable[[Doc], object],
) -> None:
    plan = validation._rows_plan(_schema_with(change))
    assert plan is not None and "software" not in plan and "operating_systems" in plan
