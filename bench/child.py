"""One measured export in a fresh process; prints seconds and peak RSS as JSON.

Run by ``bench`` so every measurement starts from an empty process and its peak memory is
its own.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from sccm_cep.cli.app import cli


def peak_rss_kib() -> int:
    """This process's peak resident memory. ``ru_maxrss`` survives exec, so a child forked
    from a big parent would report the parent's peak; VmHWM belongs to this address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(url: str, level: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = CliRunner().invoke(
            cli,
            [
                "export",
                "--db",
                url,
                "--out",
                str(Path(tmp) / "out"),
                "--level",
                level,
                "--period",
                "2026-Q4",
                "--json",
            ],
            env={"SCCM_CEP_DATA_DIR": str(Path(tmp) / "data")},
        )
        seconds = time.perf_counter() - started
    if result.exit_code != 0:
        print(json.dumps({"error": result.output[-500:]}))
        sys.exit(1)
    report = json.loads(result.stdout)
    peak_kib = peak_rss_kib()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": peak_kib / 1024,
                "bytes": report["bytes"],
                "rows_read": sum(r["read"] for r in report["records"].values()),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
