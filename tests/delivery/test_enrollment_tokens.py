"""Closed enrollment: a receiver started with a token file takes uploads only with one of its
tokens; a collector given the token's reference sends it, and without it keeps its documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sccm_cep.collector.store import Store
from sccm_cep.delivery import DeliverySettings, send_pending
from sccm_cep.errors import ConfigError
from sccm_cep.receiver.app import Receiver, load_tokens
from tests.delivery.conftest import rows

TOKEN = "tok-7f3c9a1e5b2d8f4c6a0e9b1d3f5a7c9e"


@pytest.fixture
def closed(tmp_path: Path) -> Iterator[Receiver]:
    token_file = tmp_path / "tokens.txt"
    token_file.write_text(f"# vendor enrollment tokens\n{TOKEN}\nother-token-0123456789abcdef\n")
    with Receiver(f"sqlite:///{tmp_path / 'r.db'}", tokens=load_tokens(token_file)) as receiver:
        yield receiver


def test_without_the_token_nothing_is_stored_and_documents_wait(store: Store, closed: Receiver) -> None:
    report = send_pending(store, DeliverySettings(endpoint=closed.url, max_attempts=1))
    assert {r.status for r in report.results} == {"failed"} and report.exit_code == 4
    assert all("enrollment token" in r.reason for r in report.results)
    assert closed.stored() == []
    assert {r.state for r in rows(store)} == {"failed"}  # retried later, never quarantined


def test_a_wrong_token_is_401_and_the_right_one_stores(
    store: Store, closed: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = httpx.post(
        closed.url + "/v1/submission/1.0/x", headers={"Authorization": "Bearer not-it-at-all-0000"}
    )
    assert answer.status_code == 401 and "Bearer" in answer.headers["WWW-Authenticate"]
    monkeypatch.setenv("CEP_ENROLL", TOKEN)
    monkeypatch.setenv("SCCM_CEP_TOKEN", "env:CEP_ENROLL")
    report = send_pending(store, DeliverySettings.resolve(endpoint=closed.url))
    assert [r.status for r in report.results] == ["sent", "sent"]
    assert len(closed.stored()) == 2
    # Health stays open: a load balancer needs no token.
    assert httpx.get(closed.url + "/v1/health").status_code == 200


def test_a_token_file_without_a_usable_token_is_refused(tmp_path: Path) -> None:
    for text in ("", "# only a comment\n", "short\n"):
        path = tmp_path / "t.txt"
        path.write_text(text)
        with pytest.raises(ConfigError):
            load_tokens(path)
