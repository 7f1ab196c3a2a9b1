"""WinRM script output as hostile input: any text a host prints is either a validated document
that the mapping turns into records, or one SourceQueryError line naming the script and the JSON
path, never the value; size and nesting are capped before the parser runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep import model as m
from sccm_cep.errors import SourceQueryError
from sccm_cep_connectors.winrm import mapping
from sccm_cep_connectors.winrm.connector import MAX_OUTPUT_DEPTH, _parse
from sccm_cep_connectors.winrm.scripts import load_schema
from sccm_cep_connectors.winrm.settings import parse_host
from sccm_cep_connectors.winrm.transport import OUTPUT_CAPS, WinrmSession, output_cap
from tests.fuzz.conftest import Meter, budget

ADDRESS = parse_host("sccm01.corp.example")
SCRIPTS = sorted(OUTPUT_CAPS)
SECRET = "CANARY-7f3a-do-not-print"
#: Peak Python memory of parsing and mapping one fuzzed document.
CAP = 64 * 2**20

# -- documents shaped like each script's schema, then spoiled --------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.just(SECRET),
)
_ANY_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts (the shapes a real host prints)."""
    kinds = schema.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    options: list[st.SearchStrategy[Any]] = []
    for kind in kinds:
        if kind == "null":
            options.append(st.none())
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "integer":
            options.append(st.integers(min_value=schema.get("minimum", -(2**40)), max_value=2**40))
        elif kind == "string":
            options.append(st.text(max_size=schema.get("maxLength", 60)))
        elif kind == "array":
            options.append(st.lists(_valid(schema.get("items", {})), max_size=schema.get("maxItems", 3)))
        elif kind == "object":
            props = schema.get("properties", {})
            options.append(st.fixed_dictionaries({k: _valid(v) for k, v in props.items()}))
    return st.one_of(options) if options else _ANY_JSON


def _spoil(doc: Any, data: st.DataObject) -> Any:
    """One value somewhere in the document replaced by any JSON value (or left as it is)."""
    if isinstance(doc, list) and doc and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(doc) - 1))
        return [*doc[:i], _spoil(doc[i], data), *doc[i + 1 :]]
    if isinstance(doc, dict) and doc and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc)))
        return {**doc, key: _spoil(doc[key], data)}
    return data.draw(_ANY_JSON) if data.draw(st.booleans()) else doc


_REQUEST = {name: frozenset(fields) for name, fields in mapping.CLIENT_RECORDS.items()}


def _map(script: str, rows: list[dict[str, Any]]) -> int:
    """Feed a validated document through the mapping the connector uses; the number of records."""
    records = 0
    for name, (site_script, fields) in mapping.SITE_RECORDS.items():
        if site_script == script:
            records += sum(1 for _ in mapping.site_rows(m.record_type(name), rows, fields))
    if script in ("client_inventory", "client_software"):
        counts = mapping.ClientCounts(_REQUEST)
        counts.add(
            rows[0] if script == "client_inventory" and rows else None,
            rows if script == "client_software" else None,
        )
        for name, fields in _REQUEST.items():
            records += sum(1 for _ in counts.records(m.record_type(name), fields))
    return records


def _check(meter: Meter, script: str, text: str) -> None:
    def one() -> None:
        try:
            rows = _parse(text, script, ADDRESS)
        except SourceQueryError as exc:
            line = exc.one_line()
            assert "\n" not in line and f"{script}.ps1 on {ADDRESS}" in line, line
            assert SECRET not in line and SECRET not in repr(exc)
            meter.count("refused")
            return
        _map(script, rows)
        meter.count("mapped")

    meter.run(one)


@pytest.mark.parametrize("script", SCRIPTS)
def test_spoiled_script_documents_are_mapped_or_refused_naming_the_path(
    script: str, meter: Callable[..., Meter]
) -> None:
    m_ = meter(CAP, f"winrm {script}.ps1 documents")
    schema = load_schema(script)

    @budget(60)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        doc = _spoil(data.draw(_valid(schema)), data)
        _check(m_, script, json.dumps(doc, allow_nan=True))

    run()
    assert m_.outcomes.get("mapped") and m_.outcomes.get("refused"), m_.outcomes


@budget(150)
@given(
    st.sampled_from(SCRIPTS),
    st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)
def test_any_text_is_a_document_or_one_error_line(script: str, text: str) -> None:
    try:
        rows = _parse(text, script, ADDRESS)
    except SourceQueryError as exc:
        assert "\n" not in exc.one_line()
        return
    assert isinstance(rows, list)
    _map(script, rows)


# -- the cases that crashed or passed before (each failed on the old code) --------------------


def test_output_nested_100k_deep_is_a_clear_error_not_a_recursion_error(meter: Callable[..., Meter]) -> None:
    m_ = meter(CAP, "winrm nesting bomb")
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SourceQueryError) as info:
        m_.run(lambda: _parse(text, "site", ADDRESS))
    assert (
        f"site.ps1 on {ADDRESS} printed JSON nested deeper than {MAX_OUTPUT_DEPTH} levels"
        in info.value.message
    )


def test_output_over_the_scripts_cap_is_refused_before_parsing() -> None:
    row = {"DisplayName": "x" * 1000, "Publisher": None, "DisplayVersion": None}
    text = json.dumps([row] * (output_cap("client_software") // 1000 + 10))
    with pytest.raises(SourceQueryError, match=r"client_software\.ps1 .* over 16,777,216 bytes"):
        _parse(text, "client_software", ADDRESS)
    assert output_cap("provider") < output_cap("site") < output_cap("packages")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e300", "expected integer or null"),  # a float the standard check took as an integer
        ("2.0", "expected integer or null"),
        (str(2**70), "expected integer or null"),  # past any WMI or SQL integer
        ("true", "expected integer or null"),
    ],
)
def test_wrong_value_types_name_the_script_and_the_field_path_never_the_value(
    value: str, reason: str
) -> None:
    text = (
        '[{"SiteCode": "PS1", "ReportingSiteCode": null, "Type": 2, "Version": "5.0",'
        f' "BuildNumber": {value}, "Status": 1}}]'
    )
    with pytest.raises(SourceQueryError) as info:
        _parse(text, "site", ADDRESS)
    line = info.value.one_line()
    assert f"site.ps1 on {ADDRESS}" in line and f"site.schema.json at $[0].BuildNumber: {reason}" in line
    assert value not in line


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    with pytest.raises(SourceQueryError, match="did not print valid JSON"):
        _parse(
            f'[{{"Discovered": {constant}, "Managed": 1, "Active": 1, "Virtual": 0}}]',
            "site_clients",
            ADDRESS,
        )


class _Endless:
    """A pywinrm protocol whose command prints 1 MiB of output per poll, forever."""

    def __init__(self) -> None:
        self.polls = 0
        self.cleaned = False

    def open_shell(self, codepage: int) -> str:
        return "shell"

    def run_command(self, shell: str, exe: str, args: list[str]) -> str:
        return "cmd"

    def get_command_output_raw(self, shell: str, command: str) -> tuple[bytes, bytes, int, bool]:
        self.polls += 1
        return b"[" + b" " * (2**20 - 1), b"", 0, False

    def cleanup_command(self, shell: str, command: str) -> None:
        self.cleaned = True


def test_the_winrm_transport_stops_reading_at_the_scripts_cap(meter: Callable[..., Meter]) -> None:
    import time

    import winrm.exceptions  # noqa: F401  (imported by run(): loaded here, outside the measure)

    session = object.__new__(WinrmSession)
    session._address = ADDRESS
    session._shell = None
    protocol = _Endless()
    session._protocol = protocol
    m_ = meter(8 * output_cap("client_inventory"), "winrm endless output")
    with pytest.raises(
        SourceQueryError, match=r"client_inventory\.ps1 on .* printed more than 1,048,576 bytes"
    ):
        m_.run(lambda: session.run("client_inventory", "Get-Thing", deadline=time.monotonic() + 60))
    assert protocol.polls == 2 and protocol.cleaned
