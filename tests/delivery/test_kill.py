"""A ``run --due`` process killed (SIGKILL) at each step of export → outbox → upload leaves a
consistent store, and the next ``run --due`` finishes the job: one accepted document per period.

The timing is deterministic: the killed run goes through ``tests/support/pause_run.py``, whose
checkpoint observer stops the process at the step after writing a marker file; the test then
kills it there. The run that finishes the job is the plain ``sccm-cep`` program.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from sccm_cep.collector.store import Store
from sccm_cep.delivery.checkpoints import Step
from sccm_cep.receiver.app import Receiver
from sccm_cep.receiver.store import received_documents
from tests.delivery.conftest import rows

ROOT = Path(__file__).resolve().parents[2]
SCCM_CEP = [str(Path(sys.executable).with_name("sccm-cep"))]
PERIODS = ["2026-Q4", "2027-Q1", "2027-Q2"]  # two pending in the template, 2027-Q2 due on 2027-04-02


def _run_due(program: list[str], state_url: str, endpoint: str) -> subprocess.Popen[bytes]:
    args = [*program, "--state", state_url, "run", "--due", "--as-of", "2027-04-02", "--endpoint", endpoint]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("step", list(Step))
def test_a_run_killed_at_each_step_is_finished_by_the_next_run(
    step: Step, tmp_path: Path, state_url: str, receiver: Receiver
) -> None:
    marker = tmp_path / "paused"
    paused = [sys.executable, "-m", "tests.support.pause_run", step.value, str(marker), "--"]
    killed = _run_due(paused, state_url, receiver.url)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert killed.poll() is None, killed.communicate()
            assert time.monotonic() < deadline, f"the run never reached {step}"
            time.sleep(0.05)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
    assert killed.returncode == -signal.SIGKILL

    store = Store(state_url)
    try:
        before = rows(store)
        expected = {
            "export": ["pending", "pending"],  # the new period's document never reached the outbox
            "outbox-committed": ["pending", "pending", "pending"],
            "upload": ["sending", "pending", "pending"],  # claimed, not posted
            "posted": ["sending", "pending", "pending"],  # posted and stored, not yet marked
        }[step]
        assert [r.state for r in before] == expected
        assert len(receiver.stored()) == (1 if step == "posted" else 0)

        final = _run_due(SCCM_CEP, state_url, receiver.url)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, (out + err).decode(errors="replace")

        after = rows(store)
        assert [(r.period, r.revision, r.state) for r in after] == [(p, 0, "sent") for p in PERIODS]
        assert len({r.document_id for r in after}) == 3
    finally:
        store.dispose()
    with receiver.engine.connect() as conn:
        received = conn.execute(
            select(received_documents.c.period, received_documents.c.document_id, received_documents.c.body)
        ).all()
    assert sorted(r.period for r in received) == PERIODS  # exactly one accepted document per period
    assert {r.document_id for r in received} == {r.document_id for r in after}
    assert all(json.loads(gzip.decompress(r.body))["period"] == r.period for r in received)
