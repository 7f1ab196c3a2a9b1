"""Run the ``sccm-cep`` command line with a checkpoint observer that stops the process for good
at one step, after writing the step's name to a marker file, so a test can kill it exactly there.

    python -m tests.support.pause_run STEP MARKER_FILE -- sccm-cep arguments...

Steps are ``sccm_cep.delivery.checkpoints.Step`` values. The production code only calls
``checkpoints.reached``; the pause lives here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sccm_cep.delivery import checkpoints
from sccm_cep.delivery.checkpoints import Step

__all__ = ["main", "pause_at"]


def pause_at(step: Step, marker: Path) -> checkpoints.Observer:
    """An observer that, at ``step``, writes ``marker`` and then sleeps until killed."""

    def observer(reached: Step) -> None:
        if reached is not step:
            return
        marker.write_text(step.value, encoding="utf-8")
        while True:
            time.sleep(60)

    return observer


def main(argv: list[str]) -> None:
    step, marker, sep, *args = argv
    if sep != "--":
        raise SystemExit("usage: python -m tests.support.pause_run STEP MARKER_FILE -- ARGS...")
    checkpoints.observe(pause_at(Step(step), Path(marker)))
    from sccm_cep.cli import main as cli_main

    sys.argv = ["sccm-cep", *args]
    cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])
