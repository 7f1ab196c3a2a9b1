"""What leaves the machine is what was written, and only where it may go: a stored body that no
longer matches its sha256 is never sent, and plain http never goes through a proxy."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from sccm_cep.cli import cli
from sccm_cep.collector.store import Outbox, Store
from sccm_cep.delivery import DeliverySettings, Uploader, send_pending
from sccm_cep.delivery.outbox import body_damage
from sccm_cep.errors import ConfigError
from tests.delivery.conftest import document, rows
from tests.support.receiver import FaultyReceiver


class TrapProxy:
    """A listening socket that counts every connection made to it (a proxy that must stay idle)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def trap() -> Iterator[TrapProxy]:
    proxy = TrapProxy()
    yield proxy
    proxy.close()


def _tamper(store: Store, body: bytes) -> None:
    first = rows(store)[0]
    with store.session() as session:
        session.execute(update(Outbox).where(Outbox.id == first.id).values(body=body))
        session.commit()


def test_a_body_changed_in_the_store_is_quarantined_not_sent(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings
) -> None:
    first = rows(store)[0]
    doc = document(first)
    changed = gzip.compress(gzip.decompress(first.body or b"").replace(doc["site"].encode(), b"f" * 32))
    _tamper(store, changed)
    report = send_pending(store, settings)
    by_id = {r.document_id: r for r in report.results}
    assert by_id[first.document_id].status == "quarantined"
    assert "sha256" in by_id[first.document_id].reason
    assert report.exit_code == 11
    # The other document went; the changed one did not, and its row keeps what it holds.
    assert receiver.stored() == sorted(r.document_id for r in rows(store) if r.id != first.id)
    after = next(r for r in rows(store) if r.id == first.id)
    assert after.state == "quarantined" and after.body == changed


@pytest.mark.parametrize("body", [b"", b"not gzip at all", gzip.compress(b"{}")[:-6]])
def test_an_unreadable_stored_body_is_never_sent(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, body: bytes
) -> None:
    first = rows(store)[0]
    _tamper(store, body)
    report = send_pending(store, settings)
    outcome = next(r for r in report.results if r.document_id == first.document_id)
    assert outcome.status == "quarantined" and first.document_id not in receiver.stored()


def test_an_intact_body_passes_and_a_longer_one_is_caught() -> None:
    text = b'{"a": 1}'
    import hashlib

    digest = hashlib.sha256(text).hexdigest()
    assert body_damage(gzip.compress(text), digest, len(text)) is None
    assert body_damage(gzip.compress(text + b" "), digest, len(text)) is not None
    assert body_damage(gzip.compress(text), digest, len(text) + 1) is not None


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_environment_proxies_never_see_a_plain_http_upload(
    store: Store,
    receiver: FaultyReceiver,
    settings: DeliverySettings,
    trap: TrapProxy,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, trap.url)
    report = send_pending(store, settings)
    assert [r.status for r in report.results] == ["sent", "sent"]
    assert trap.connections == 0


def test_an_explicit_proxy_with_plain_http_is_refused(receiver: FaultyReceiver, trap: TrapProxy) -> None:
    with pytest.raises(ConfigError, match="never reached through a proxy"):
        Uploader(DeliverySettings(endpoint=receiver.url, proxy=trap.url))
    assert trap.connections == 0


def test_the_cli_refuses_a_proxy_for_plain_http_in_one_line(
    state_url: str, receiver: FaultyReceiver, trap: TrapProxy
) -> None:
    result = CliRunner().invoke(
        cli, ["--state", state_url, "send", "--endpoint", receiver.url, "--proxy", trap.url]
    )
    assert result.exit_code == 3, result.output
    assert "proxy" in result.output and trap.connections == 0
    assert receiver.stored() == []
