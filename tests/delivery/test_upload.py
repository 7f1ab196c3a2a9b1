"""Upload against the real reference receiver on 127.0.0.1: retries, refusals, crashes."""

from __future__ import annotations

import email.utils
import gzip
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import update

from sccm_cep.cli import cli
from sccm_cep.cli.oplog import log_path
from sccm_cep.collector.store import Outbox, Store
from sccm_cep.contract.submission import canonical_json
from sccm_cep.delivery import DeliverySettings, Document, Uploader, check_endpoint, send_pending
from sccm_cep.delivery import outbox as outbox_mod
from sccm_cep.errors import ConfigError
from tests.delivery.conftest import Clock, document, rows
from tests.support.receiver import Fault, FaultyReceiver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _add_invalid(store: Store, extra: dict[str, Any]) -> str:
    """A pending submission the receiver will refuse (an unknown top-level field)."""
    first = rows(store)[0]
    doc = {**document(first), **extra, "document_id": "00000000-0000-5000-8000-000000000001"}
    with store.session() as session:
        session.add(
            Outbox.pending(
                first.site_id, "submission", "2027-Q2", 0, doc["document_id"], canonical_json(doc).encode()
            )
        )
        session.commit()
    return str(doc["document_id"])


def test_pending_documents_are_sent_once_and_marked_sent(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings
) -> None:
    report = send_pending(store, settings)
    assert [r.status for r in report.results] == ["sent", "sent"] and report.exit_code == 0
    assert receiver.stored() == sorted(r.document_id for r in rows(store))
    assert all(r.state == "sent" and r.sent_at is not None and r.attempts == 1 for r in rows(store))
    # Nothing is due any more: a second run does not contact the receiver.
    before = receiver.requests
    assert send_pending(store, settings).results == ()
    assert receiver.requests == before


def test_a_duplicate_counts_as_success(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings
) -> None:
    send_pending(store, settings)
    with store.session() as session:
        session.execute(update(Outbox).values(state="pending"))
        session.commit()
    report = send_pending(store, settings)
    assert {(r.status, r.code) for r in report.results} == {("sent", 409)}
    assert "already had" in report.results[0].reason
    assert len(receiver.stored()) == 2


def test_503_with_retry_after_is_honoured_then_sent(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, clock: Clock
) -> None:
    receiver.fail_next(2, Fault(status=503, retry_after="7"))
    report = send_pending(store, settings)
    assert [r.status for r in report.results] == ["sent", "sent"]
    assert clock.slept == [7, 7] and report.results[0].attempts == 3
    assert rows(store)[0].attempts == 3


def test_429_with_an_http_date_is_honoured(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, clock: Clock
) -> None:
    when = email.utils.format_datetime((clock.now + timedelta(seconds=30)).replace(tzinfo=UTC), usegmt=True)
    receiver.fail_next(1, Fault(status=429, retry_after=when))
    report = send_pending(store, settings)
    assert [r.status for r in report.results] == ["sent", "sent"] and clock.slept == [30.0]


def test_an_overloaded_receiver_leaves_documents_pending_for_a_later_run(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, clock: Clock
) -> None:
    receiver.fail_next(6, Fault(status=503, retry_after="600"))  # longer than we sleep through
    report = send_pending(store, settings)
    assert [r.status for r in report.results] == ["waiting", "waiting"] and report.exit_code == 0
    assert clock.slept == [] and all(r.state == "pending" and r.next_attempt_at for r in rows(store))
    asked = receiver.requests
    assert send_pending(store, settings).results == () and receiver.requests == asked  # not yet due
    clock.now += timedelta(seconds=601)
    receiver.faults.clear()
    assert [r.status for r in send_pending(store, settings).results] == ["sent", "sent"]


def test_backoff_is_bounded_with_full_jitter_and_attempts_are_bounded(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, clock: Clock
) -> None:
    receiver.fail_next(100, Fault(status=502))
    short = DeliverySettings(
        **{**settings.__dict__, "max_attempts": 4, "backoff_base": 1.0, "backoff_cap": 3.0}
    )
    report = send_pending(store, short)
    assert [r.status for r in report.results] == ["unreachable", "unreachable"] and report.exit_code == 4
    assert receiver.requests == 8 and len(clock.slept) == 6
    assert all(0 <= s <= 3.0 for s in clock.slept)
    assert all(r.state == "pending" and r.next_attempt_at is not None for r in rows(store))


def test_a_400_quarantines_with_the_reason_and_is_never_retried(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings
) -> None:
    doc_id = _add_invalid(store, {"hostname": "LT-QUACKENBUSH"})
    report = send_pending(store, settings)
    (bad,) = [r for r in report.results if r.document_id == doc_id]
    assert bad.status == "quarantined" and bad.code == 400 and "schema" in bad.reason
    assert "QUACKENBUSH" not in bad.reason and report.exit_code == 11
    row = next(r for r in rows(store) if r.document_id == doc_id)
    assert row.state == "quarantined" and row.attempts == 1 and "HTTP 400" in (row.last_status or "")
    asked = receiver.requests
    assert send_pending(store, settings).results == () and receiver.requests == asked


def test_a_reason_quoting_the_document_is_withheld(clock: Clock) -> None:
    body = canonical_json({"kind": "submission", "hardware": {"x": [{"name": "LT-QUACKENBUSH"}]}}).encode()

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "invalid", "reason": "bad value 'LT-QUACKENBUSH' at x/0"})

    settings = DeliverySettings(
        endpoint="https://cep.example.test",
        transport=httpx.MockTransport(refuse),
        clock=clock,
        sleep=clock.sleep,
    )
    with Uploader(settings) as up:
        out = up.deliver(Document("submission", "1.0", "d" * 36, gzip.compress(body)), text=lambda: body)
    assert out.status == "quarantined" and "QUACKENBUSH" not in out.reason and "not shown" in out.reason


def test_the_post_carries_gzip_json_to_the_documented_path(clock: Clock) -> None:
    seen: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"status": "stored"})

    settings = DeliverySettings(endpoint="https://cep.example.test/base/", transport=httpx.MockTransport(ok))
    with Uploader(settings) as up:
        out = up.deliver(Document("submission", "1.0", "a" * 36, gzip.compress(b"{}")), text=lambda: b"{}")
    assert out.status == "sent"
    (req,) = seen
    assert str(req.url) == f"https://cep.example.test/base/v1/submission/1.0/{'a' * 36}"
    assert req.headers["Content-Encoding"] == "gzip" and req.headers["Content-Type"] == "application/json"
    assert gzip.decompress(req.content) == b"{}"


def test_413_is_quarantined_and_never_loops(store: Store, tmp_path: Any, settings: DeliverySettings) -> None:
    with FaultyReceiver(f"sqlite:///{tmp_path / 'small.db'}", max_body=100) as small:  # SQLite works too
        report = send_pending(store, DeliverySettings(**{**settings.__dict__, "endpoint": small.url}))
        assert {(r.status, r.code) for r in report.results} == {("quarantined", 413)}
        assert small.requests == 2 and report.exit_code == 11


def test_the_size_limit_is_checked_before_sending(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings
) -> None:
    report = send_pending(store, DeliverySettings(**{**settings.__dict__, "max_bytes": 50}))
    assert {r.status for r in report.results} == {"quarantined"} and "limit" in report.results[0].reason
    assert receiver.requests == 0


def test_a_dropped_connection_is_retried(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, clock: Clock
) -> None:
    receiver.fail_next(1, Fault(drop=True))
    report = send_pending(store, settings)
    assert [r.status for r in report.results] == ["sent", "sent"] and len(clock.slept) == 1


def test_a_timeout_is_retried_and_the_receiver_keeps_one_copy(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings
) -> None:
    # The hung request is stored after the client gave up. The timeout leaves a loaded machine
    # (2 cores, coverage on) a full second for every request that is not held.
    receiver.fail_next(1, Fault(hang=2.5))
    report = send_pending(store, DeliverySettings(**{**settings.__dict__, "read_timeout": 1.0}))
    assert [r.status for r in report.results] == ["sent", "sent"]
    assert len(receiver.stored()) == 2


def test_a_crash_after_posting_leaves_sending_and_the_next_run_finishes(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: Any) -> None:
        raise KeyboardInterrupt  # the process dies between the POST and marking the row

    monkeypatch.setattr(outbox_mod, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        send_pending(store, settings)
    assert [r.state for r in rows(store)] == ["sending", "pending"]
    monkeypatch.undo()
    report = send_pending(store, settings)
    assert [(r.status, r.code) for r in report.results] == [("sent", 409), ("sent", 201)]
    assert len(receiver.stored()) == 2 and {r.state for r in rows(store)} == {"sent"}


def test_an_unreachable_endpoint_exits_4_and_keeps_documents_pending(state_url: str, store: Store) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--state",
            state_url,
            "send",
            "--endpoint",
            f"http://127.0.0.1:{_free_port()}",
            "--max-attempts",
            "1",
        ],
    )
    assert result.exit_code == 4, result.output
    assert "error: delivery:" in result.output and "Traceback" not in result.output
    assert {r.state for r in rows(store)} == {"pending"}


def test_send_command_prints_json_and_exits_0(state_url: str, receiver: FaultyReceiver) -> None:
    result = CliRunner().invoke(cli, ["--state", state_url, "send", "--endpoint", receiver.url, "--json"])
    assert result.exit_code == 0, result.output
    assert '"sent": 2' in result.output


def test_send_command_exits_11_when_something_is_quarantined(
    state_url: str, store: Store, receiver: FaultyReceiver
) -> None:
    _add_invalid(store, {"hostname": "x"})
    result = CliRunner().invoke(cli, ["--state", state_url, "send", "--endpoint", receiver.url])
    assert result.exit_code == 11, result.output
    assert "quarantined" in result.output


@pytest.mark.parametrize(
    "url",
    ["http://cep.example.com", "http://10.1.2.3:8080", "ftp://127.0.0.1", "https://u:p@cep.example.com", ""],
)
def test_only_https_or_loopback_http_endpoints_are_accepted(url: str) -> None:
    with pytest.raises(ConfigError):
        check_endpoint(url)


@pytest.mark.parametrize(
    "url", ["https://cep.example.com/", "http://127.0.0.1:8080", "http://[::1]:9", "http://localhost"]
)
def test_https_and_loopback_endpoints_pass(url: str) -> None:
    assert not check_endpoint(url).endswith("/")


def test_http_to_a_remote_host_is_refused_by_the_cli(state_url: str) -> None:
    result = CliRunner().invoke(cli, ["--state", state_url, "send", "--endpoint", "http://cep.example.com"])
    assert result.exit_code == 3 and "loopback" in result.output


def test_the_endpoint_comes_from_the_environment(
    state_url: str, receiver: FaultyReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCCM_CEP_ENDPOINT", receiver.url)
    result = CliRunner().invoke(cli, ["--state", state_url, "send"])
    assert result.exit_code == 0, result.output
    assert len(receiver.stored()) == 2


def test_canaries_never_reach_outputs_logs_or_the_store_status(
    state_url: str, store: Store, receiver: FaultyReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    from fixtures.synthetic_site import CANARIES

    planted = [v for values in CANARIES.values() for v in values]
    _add_invalid(store, {"hostname": planted})
    receiver.fail_next(1, Fault(status=503, retry_after="0"))
    with caplog.at_level("INFO"):
        result = CliRunner().invoke(cli, ["--state", state_url, "-v", "send", "--endpoint", receiver.url])
    assert result.exit_code == 11, result.output
    with store.engine.connect() as conn:
        audit = " ".join(str(r) for r in conn.exec_driver_sql("select detail from audit_events"))
    logged = log_path().read_text(encoding="utf-8")
    # The log file exists and is part of what is searched.
    assert "send: 2 sent, 1 quarantined; exit 11" in logged
    seen = result.output + caplog.text + logged + audit + " ".join(str(r.last_status) for r in rows(store))
    for value in planted:
        assert value not in seen


def test_send_tries_now_what_waits_for_its_back_off_and_says_so_in_one_line(
    state_url: str, store: Store, receiver: FaultyReceiver, clock: Clock
) -> None:
    # An outage: the receiver asks for an hour; both documents wait until then.
    clock.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    outage = DeliverySettings(endpoint=receiver.url, sleep=clock.sleep, clock=clock, max_attempts=1)
    receiver.fail_next(2, Fault(status=503, retry_after="3600"))
    waited = send_pending(store, outage)
    retry = clock.now + timedelta(hours=1)
    assert waited.summary() == f"2 waiting for the receiver (next try {retry:%Y-%m-%d %H:%M} UTC)"
    # The scheduled run keeps the back-off: nothing is tried before the hour is up.
    assert send_pending(store, outage).results == () and receiver.stored() == []
    # An operator's send means now.
    result = CliRunner().invoke(cli, ["--state", state_url, "send", "--endpoint", receiver.url])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2 sent"
    assert len(receiver.stored()) == 2 and {r.state for r in rows(store)} == {"sent"}
    again = CliRunner().invoke(cli, ["--state", state_url, "send", "--endpoint", receiver.url])
    assert again.exit_code == 0 and again.stdout.strip() == "nothing to send"
    logged = log_path().read_text(encoding="utf-8").splitlines()
    assert [line.split("sccm_cep.ops: ")[1] for line in logged] == [
        "send: 2 sent; exit 0",
        "send: nothing to send; exit 0",
    ]


def test_send_while_the_receiver_is_still_down_says_when_it_tries_again(
    state_url: str, store: Store, receiver: FaultyReceiver
) -> None:
    receiver.fail_next(10, Fault(status=503, retry_after="3600"))
    result = CliRunner().invoke(
        cli, ["--state", state_url, "send", "--endpoint", receiver.url, "--max-attempts", "1"]
    )
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith("2 waiting for the receiver (next try ") and line.endswith(" UTC)")
