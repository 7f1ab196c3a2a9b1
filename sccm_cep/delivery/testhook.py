"""A test hook: ``SCCM_CEP_TEST_PAUSE_AT=<step>`` makes the process stop at that step, so a
test can kill it there (steps: ``export``, ``outbox-committed``, ``upload``, ``posted``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["PAUSE_STEPS", "pause_at"]

PAUSE_STEPS = ("export", "outbox-committed", "upload", "posted")


def pause_at(step: str) -> None:
    """Sleep for good when ``SCCM_CEP_TEST_PAUSE_AT`` names ``step``, after writing the step to
    ``SCCM_CEP_TEST_PAUSE_FILE`` (if set) so the test knows the process got there."""
    if os.environ.get("SCCM_CEP_TEST_PAUSE_AT") != step:
        return
    marker = os.environ.get("SCCM_CEP_TEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(step, encoding="utf-8")
    while True:  # until killed
        time.sleep(60)
