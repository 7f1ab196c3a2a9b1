"""The receiver's request parser as hostile input, through the WSGI environ directly: any
method, path, header and body (random bytes, mutated real documents, gzip of anything) is
answered 2xx or 4xx (or 503 to come back later), never 5xx, in bounded memory."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep.receiver.app import ReceiverApp
from sccm_cep.receiver.store import open_receiver_db
from tests.fuzz.conftest import Meter, budget

CAP = 128 * 2**20


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverApp]:
    engine = open_receiver_db(f"sqlite:///{tmp_path_factory.mktemp('receiver') / 'receiver.db'}")
    yield ReceiverApp(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def real_docs(template_state: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(template_state) as conn:
        bodies = [r[0] for r in conn.execute("select body from outbox order by id")]
    return [json.loads(gzip.decompress(b)) for b in bodies]


def _call(app: ReceiverApp, environ: dict[str, Any]) -> int:
    seen: list[str] = []
    out = b"".join(app(environ, lambda status, headers: seen.append(status)))
    status = int(seen[0].split()[0])
    if status != 204 and out:
        json.loads(out)  # every answer is a JSON object
    return status


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _mutated(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A real document with keys dropped, replaced or added, at the top or one level down."""
    out = dict(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(sorted(out)) | st.text(max_size=8))
        choice = data.draw(st.sampled_from(["drop", "replace", "inner"]))
        if choice == "drop":
            out.pop(key, None)
        elif choice == "inner" and isinstance(out.get(key), dict) and out[key]:
            inner = dict(out[key])
            inner[data.draw(st.sampled_from(sorted(inner)))] = data.draw(_JSON)
            out[key] = inner
        else:
            out[key] = data.draw(_JSON)
    return out


@st.composite
def _requests(draw: st.DrawFn, docs: list[dict[str, Any]]) -> dict[str, Any]:
    doc = draw(st.sampled_from(docs))
    kind = draw(st.sampled_from(["body", "mutated", "raw"]))
    if kind == "raw":
        body = draw(st.binary(max_size=500))
    else:
        text = json.dumps(_mutated(doc, draw(st.data())) if kind == "mutated" else doc).encode()
        body = gzip.compress(text) if draw(st.booleans()) else text
        if draw(st.booleans()):
            body = body + draw(st.binary(max_size=8))
    doc_id = str(doc.get("document_id", ""))
    path = draw(
        st.sampled_from([f"/v1/submission/1.0/{doc_id}", f"/v1/deletion-request/1.0/{doc_id}", "/v1/health"])
        | st.text(max_size=60).map(lambda t: "/v1/" + t)
    )
    length = draw(st.sampled_from([str(len(body)), "", "-1", "abc", str(2**70)]))
    environ = {
        "REQUEST_METHOD": draw(st.sampled_from(["POST", "POST", "GET", "PUT", "DELETE", ""])),
        "PATH_INFO": path,
        "CONTENT_LENGTH": length,
        "CONTENT_TYPE": draw(st.sampled_from(["application/json", "text/plain", ""]) | st.text(max_size=30)),
        "HTTP_CONTENT_ENCODING": draw(st.sampled_from(["gzip", "identity", "br", ""])),
        "wsgi.input": io.BytesIO(body),
    }
    extra = draw(
        st.dictionaries(
            st.sampled_from(["HTTP_AUTHORIZATION", "HTTP_X_SCCM_CEP_SIGNATURE"]), st.text(max_size=80)
        )
    )
    return {**environ, **extra}


def test_any_request_is_answered_2xx_or_4xx_never_5xx(
    app: ReceiverApp, real_docs: list[dict[str, Any]], meter: Callable[..., Meter]
) -> None:
    m_ = meter(CAP, "receiver requests")

    @budget(200)
    @given(_requests(real_docs))
    def run(environ: dict[str, Any]) -> None:
        status = m_.run(lambda: _call(app, environ))
        assert status < 500 or status == 503, (status, environ["PATH_INFO"][:80])
        m_.count(f"{status // 100}xx")

    run()
    assert m_.outcomes.get("2xx") and m_.outcomes.get("4xx"), m_.outcomes
