"""The log file: only outcome lines and warnings, rotation that tolerates other processes, and
no failure when the data folder cannot be written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sccm_cep.cli import oplog


@pytest.fixture
def configured(data_dir: Path) -> Iterator[Path]:
    oplog.configure_logging(verbose=False)
    yield oplog.log_path()
    for handler in list(oplog._installed):
        logging.getLogger().removeHandler(handler)
        handler.close()
    oplog._installed.clear()


def test_the_file_gets_outcome_lines_and_warnings_but_not_progress(configured: Path, data_dir: Path) -> None:
    assert configured == data_dir / "logs" / "sccm-cep.log"
    logging.getLogger("sccm_cep.collector.runner").info("collecting software from sccm_sql")
    logging.getLogger("sccm_cep.ops").info("run --due: 1 site, 1 not due; exit 0")
    logging.getLogger("sccm_cep.delivery").warning("a warning of ours")
    logging.getLogger("httpx").warning("a library's warning")
    lines = configured.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("INFO sccm_cep.ops: run --due: 1 site, 1 not due; exit 0")
    assert lines[1].endswith("WARNING sccm_cep.delivery: a warning of ours")


def test_the_file_rotates_and_a_failed_rotation_is_not_an_error(tmp_path: Path) -> None:
    errors: list[str] = []
    handler = oplog.SharedRotatingFileHandler(tmp_path / "logs" / "x.log", on_error=errors.append)
    handler.maxBytes = 300
    record = logging.LogRecord("sccm_cep.ops", logging.INFO, __file__, 1, "x" * 100, None, None)
    for _ in range(10):
        handler.handle(record)
    assert (tmp_path / "logs" / "x.log.1").is_file() and handler.stream is None

    def refuse(source: str, dest: str) -> None:
        raise PermissionError(13, "in use by another process")

    before = (tmp_path / "logs" / "x.log").stat().st_size
    handler.rotate = refuse  # type: ignore[method-assign]
    handler.handle(record)
    assert (tmp_path / "logs" / "x.log").stat().st_size > before  # written to the current file
    assert errors == []
    handler.close()


def test_an_unwritable_data_folder_does_not_fail_and_verbose_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(blocker))
    oplog.configure_logging(verbose=True)
    try:
        logging.getLogger("sccm_cep.ops").info("send: nothing to send; exit 0")
        logging.getLogger("sccm_cep.ops").info("send: nothing to send; exit 0")
    finally:
        oplog.configure_logging(verbose=False)
        for handler in list(oplog._installed):
            logging.getLogger().removeHandler(handler)
            handler.close()
        oplog._installed.clear()
    err = capsys.readouterr().err
    assert err.count("cannot be written") == 1 and "Traceback" not in err and "Logging error" not in err


def test_the_event_log_is_used_only_on_windows_and_its_absence_is_explained() -> None:
    assert oplog.event_log_handler("linux") == (None, None)
    handler, note = oplog.event_log_handler("win32")  # pywin32 is not installed here
    assert handler is None and note is not None and "pywin32" in note
