"""A receipts file as hostile input (``bundle import-receipts``): any bytes are either imported or
refused with one BundleError line (exit 12), the file is checked whole before the store changes,
and nothing but a bounded regular file is ever read."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep.collector.store import Store
from sccm_cep.delivery import import_receipts
from sccm_cep.delivery.bundle import MAX_RECEIPTS_BYTES, RECEIPTS_FORMAT
from sccm_cep.delivery.upload import BundleError
from sccm_cep.errors import ExitCode
from tests.fuzz.conftest import Meter, budget

NOW = datetime(2026, 11, 1)
CAP = 32 * 2**20
DOC = "0d7f4a7c-52f4-5b8e-9a51-3c1a8b2f6e10"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path_factory.mktemp('receipts') / 'state.db'}")
    yield s
    s.dispose()


def _receipts(*items: Any, **top: Any) -> dict[str, Any]:
    return {"format": RECEIPTS_FORMAT, "version": 1, "receipts": list(items), **top}


def _good(doc_id: str = DOC, status: str = "sent", code: Any = 201) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "status": status,
        "time": "2026-11-01T00:00:00Z",
        "code": code,
        "reason": "",
    }


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
_RECEIPT = st.fixed_dictionaries(
    {},
    optional={
        "document_id": st.just(DOC) | st.uuids().map(str) | _JSON,
        "status": st.sampled_from(["sent", "quarantined", "waiting", "SENT"]) | _JSON,
        "code": st.integers(-10, 1000) | _JSON,
        "time": _JSON,
    },
)
_WELL_FORMED = st.builds(
    _good,
    doc_id=st.just(DOC) | st.uuids().map(str),
    status=st.sampled_from(["sent", "quarantined", "waiting", "failed"]),
    code=st.sampled_from([200, 201, 409, 503, None]),
)
_FILES = st.one_of(
    st.binary(max_size=400),
    st.lists(_WELL_FORMED, max_size=5).map(lambda r: json.dumps(_receipts(*r)).encode()),
    _JSON.map(lambda v: json.dumps(v).encode()),
    st.lists(_RECEIPT | _JSON, max_size=5).map(lambda r: json.dumps(_receipts(*r)).encode()),
)


def test_any_receipts_file_is_imported_or_refused_in_one_line(
    store: Store, tmp_path: Path, meter: Callable[..., Meter]
) -> None:
    m_ = meter(CAP, "receipts files")
    path = tmp_path / "receipts.json"

    @budget(200)
    @given(_FILES)
    def run(data: bytes) -> None:
        path.write_bytes(data)

        def one() -> None:
            try:
                report = import_receipts(store, path, now=NOW)
            except BundleError as exc:
                assert exc.exit_code == ExitCode.BUNDLE and "\n" not in exc.one_line()
                m_.count("refused")
                return
            assert not report.marked  # the store holds no document
            m_.count("imported")

        m_.run(one)

    run()
    assert m_.outcomes.get("refused") and m_.outcomes.get("imported"), m_.outcomes


# -- the cases that crashed or were taken before (each failed on the old code) ---------------


def _refused(store: Store, path: Path) -> str:
    with pytest.raises(BundleError) as info:
        import_receipts(store, path, now=NOW)
    line = info.value.one_line()
    assert "\n" not in line and info.value.exit_code == ExitCode.BUNDLE
    return line


def test_a_receipts_file_nested_100k_deep_is_refused_not_a_recursion_error(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"format": "sccm-cep-receipts", "receipts": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested deeper than" in _refused(store, path)


def test_a_receipts_file_over_the_cap_is_refused_unread(
    store: Store, tmp_path: Path, meter: Callable[..., Meter]
) -> None:
    path = tmp_path / "r.json"
    with path.open("wb") as f:
        f.truncate(MAX_RECEIPTS_BYTES + 1)  # sparse: no disk used
    m_ = meter(MAX_RECEIPTS_BYTES + 4 * 2**20, "receipts over the cap")
    assert "over 16,777,216 bytes" in m_.run(lambda: _refused(store, path))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX device and pipe files")
@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_receipts_path_that_is_not_a_regular_file_is_never_read(
    store: Store, tmp_path: Path, target: str
) -> None:
    path = tmp_path / "r.json"
    if target == "fifo":
        os.mkfifo(path)  # reading it would block for ever
    else:
        path.symlink_to(target)
    assert "not a regular file" in _refused(store, path)


@pytest.mark.parametrize(
    ("receipt", "words"),
    [
        ("not an object", "receipt 1 is not an object"),
        ({**_good(), "document_id": ["x"]}, "receipt 1 has no document id"),
        ({**_good(), "document_id": "a\x00b"}, "receipt 1 has no document id"),
        ({**_good(), "status": {"sent": 1}}, "receipt 1 has an unknown status"),
        ({**_good(), "code": "x" * 100_000}, "receipt 1 has an HTTP code"),
        ({**_good(), "code": 10**30}, "receipt 1 has an HTTP code"),
    ],
)
def test_a_receipt_of_the_wrong_shape_refuses_the_file_in_one_line(
    store: Store, tmp_path: Path, receipt: Any, words: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_receipts(receipt)))
    line = _refused(store, path)
    assert words in line and "x" * 100 not in line


def test_a_bad_receipt_after_good_ones_changes_nothing(store: Store, tmp_path: Path) -> None:
    """The file is checked whole first: a bad last receipt leaves no trace in the store (the
    old reader went through the receipts one by one and recorded the import)."""
    from sqlalchemy import func, select

    from sccm_cep.collector.store import AuditEvent

    def events() -> int:
        with store.session() as session:
            return int(session.execute(select(func.count()).select_from(AuditEvent)).scalar() or 0)

    before = events()
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_receipts(_good(), {**_good(), "status": 7})))
    _refused(store, path)
    assert events() == before
