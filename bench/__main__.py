"""Benchmark, in one run, everything issue 15 measures, printed side by side at the end.

    python -m bench [--parts export,receiver,help] [--sizes 10000,175000] [--backends sqlite,postgresql]
                    [--levels enhanced] [--runs 3] [--ingest-sites 1000] [--processes 1,2,4]
                    [--report-sites 1000,10000]

* export: sccm-cep's export against the database floor at each size, backend and level
  (``bench/export.py``);
* receiver: ingest of the fleet simulator's documents by 1, 2 and 4 receiver processes, and
  ``receiver report`` next to a bare SQL aggregate at 1,000 and 10,000 sites (``bench/receiver.py``);
* help: the wall time of ``sccm-cep --help``.

Sites, fleets and report databases are generated once and cached (bench/.cache, PostgreSQL
schemas ``bench_*``), so the first run takes longer. PostgreSQL: $SCCM_CEP_BENCH_PG or
127.0.0.1:5432, database test.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from rich.console import Console

from bench import compile_project
from bench.export import export_table, help_seconds
from bench.receiver import ingest_table, int_list, report_table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="export,receiver,help")
    parser.add_argument("--sizes", default="10000,175000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--levels", default="enhanced")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ingest-sites", type=int, default=1000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--report-sites", default="1000,10000")
    args = parser.parse_args()
    compile_project()
    parts = set(args.parts.split(","))
    console = Console(width=160)
    started = time.perf_counter()
    console.print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    tables = []
    if "export" in parts:
        tables.append(
            export_table(
                console, int_list(args.sizes), args.backends.split(","), args.levels.split(","), args.runs
            )
        )
    if "receiver" in parts:
        tables.append(ingest_table(console, args.ingest_sites, int_list(args.processes), args.concurrency))
        tables.append(report_table(console, int_list(args.report_sites), max(args.runs, 5)))
    for table in tables:
        console.print(table)
    if "help" in parts:
        console.print(f"sccm-cep --help: {help_seconds(max(args.runs, 5)):.2f} s wall (median)")
    console.print(
        f"benchmark took {time.perf_counter() - started:.0f} s; load average at the end"
        f" {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
