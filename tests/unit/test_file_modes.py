"""Everything sccm-cep creates is private to its account whatever the umask, and a killed run
leaves nothing in the system's temporary folder."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sccm_cep.collector.store import Store
from sccm_cep.errors import OutputError
from sccm_cep.platform.workdir import STALE_AFTER, private_workdir, sweep_stale
from sccm_cep.privacy.approval import save_snapshot, snapshot_path
from sccm_cep.privacy.policy import load_policies
from sccm_cep.receiver.store import open_receiver_db

pytestmark = pytest.mark.skipif(
    os.name != "posix", reason="POSIX mode bits (Windows: ACLs, tests/unit/platform)"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_the_store_its_folder_and_its_locks_are_private_under_umask_000(
    data_dir: Path, open_umask: None
) -> None:
    store = Store(f"sqlite:///{data_dir / 'state.db'}")
    with store.site_lock(1, "PS1"):
        locks = sorted(data_dir.glob("*.lock"))
    store.dispose()
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "state.db") == 0o600
    assert locks and all(_mode(p) == 0o600 for p in locks)


def test_an_approved_catalog_snapshot_is_private(data_dir: Path, open_umask: None) -> None:
    path = save_snapshot(load_policies())
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_a_snapshot_that_cannot_be_written_leaves_no_empty_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sccm_cep.privacy.approval as approval

    def full_disk(path: Path, data: bytes, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(approval, "write_private_file", full_disk)
    policies = load_policies()
    with pytest.raises(OutputError, match="No space left"):
        save_snapshot(policies)
    assert not snapshot_path(policies.digest).exists()


def test_the_receivers_sqlite_file_is_private(tmp_path: Path, open_umask: None) -> None:
    engine = open_receiver_db(f"sqlite:///{tmp_path / 'receiver.db'}")
    engine.dispose()
    assert _mode(tmp_path / "receiver.db") == 0o600


def test_a_runs_working_folder_is_private_in_the_data_folder_and_removed(
    data_dir: Path, open_umask: None
) -> None:
    with private_workdir("run-") as folder:
        assert folder.parent == data_dir / "tmp" and _mode(folder) == 0o700
        (folder / "doc.json").write_text("{}")
    assert not folder.exists()


def test_what_a_killed_run_left_is_swept_at_the_next_start(data_dir: Path) -> None:
    with private_workdir("run-"):
        pass
    left = data_dir / "tmp" / "run-killed"
    left.mkdir()
    (left / "submission.json").write_text("{}")
    fresh = data_dir / "tmp" / "run-live"
    fresh.mkdir()
    old = time.time() - STALE_AFTER - 60
    os.utime(left, (old, old))
    assert sweep_stale() == 1
    assert not left.exists() and fresh.exists()
