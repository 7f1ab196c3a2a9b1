"""Benchmark: sccm-cep's export against the database floor, on synthetic sites of several sizes.

For each backend and size, in one run and on the same data: the floor (the connector's own
statements executed and fully fetched with a bare DB-API cursor, no Python processing), and
sccm-cep's export at each level in a fresh process (median of ``--runs``), with its peak
RSS. Sites are generated once and cached (SQLite files under bench/.cache, PostgreSQL
schemas named bench_<size>).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from fixtures.synthetic_site import build_site, pg_schema_url
from sccm_cep.export.pipeline import build_request
from sccm_cep.model import Level
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.sccm_sql import statements as st

CACHE = Path(__file__).resolve().parent / ".cache"
PG_BASE = os.environ.get("SCCM_CEP_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def site_url(backend: str, devices: int, console: Console) -> str:
    if backend == "sqlite":
        path = CACHE / f"site-{devices}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            _generate(f"sqlite:///{tmp}", devices, console)
            tmp.rename(path)
        return url
    url = pg_schema_url(PG_BASE, f"bench_{devices}")
    engine = create_engine(url)
    with engine.connect() as conn:
        ok = conn.execute(
            text(
                "select count(*) from information_schema.tables"
                " where table_schema = :s and table_name = 'bench_done'"
            ),
            {"s": f"bench_{devices}"},
        ).scalar()
    if not ok:
        _generate(url, devices, console)
        with engine.begin() as conn:
            conn.execute(text("create table bench_done (x int)"))
    engine.dispose()
    return url


def _generate(url: str, devices: int, console: Console) -> None:
    started = time.perf_counter()
    site = build_site(url, devices=devices, seed=1)
    console.print(
        f"generated {devices:,} devices on {url.split(':')[0]} in "
        f"{time.perf_counter() - started:.1f} s ({sum(site.row_counts.values()):,} rows)"
    )


def floor(url: str, level: Level) -> tuple[float, int]:
    """Seconds and rows for the connector's own statements through a bare DB-API cursor."""
    connector = SqlConnector(url)
    request = build_request(load_policies(), level)
    statements = [s.plan.statement(s.fields) for s in connector.streams(request)]  # type: ignore[attr-defined]
    statements += [st.rule_counts(), st.baseline_targets(), st.compliance_counts()]
    engine = connector._engine
    compiled = [
        str(s.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})) for s in statements
    ]
    rows = 0
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        for sql in compiled:
            cur = raw.cursor()
            cur.execute(sql)
            while batch := cur.fetchmany(5000):
                rows += len(batch)
            cur.close()
    finally:
        raw.close()
    seconds = time.perf_counter() - started
    connector.close()
    return seconds, rows


def scanned(url: str, level: Level) -> int:
    """Rows in the views the export reads: what the database has to scan."""
    connector = SqlConnector(url)
    request = build_request(load_policies(), level)
    views = {v for s in connector.streams(request) for v in s.plan.views}  # type: ignore[attr-defined]
    present = connector.present_views()
    total = 0
    with connector._engine.connect() as conn:
        for view in sorted(views):
            if present.get(view):
                total += conn.exec_driver_sql(f'select count(*) from "{view}"').scalar() or 0
    connector.close()
    return total


def measure(url: str, level: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.child", url, level], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"export failed: {proc.stdout}{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="10000,50000,175000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--levels", default="basic,enhanced")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=150)
    console.print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    table = Table(title="sccm-cep export vs. database floor (median of runs)")
    for col in (
        "backend",
        "devices",
        "level",
        "rows scanned",
        "floor s",
        "sccm-cep s",
        "rows/s",
        "ratio",
        "peak RSS MiB",
    ):
        table.add_column(col, justify="left" if col in ("backend", "level") else "right")
    for backend in args.backends.split(","):
        for devices in (int(s) for s in args.sizes.split(",")):
            url = site_url(backend, devices, console)
            for level in args.levels.split(","):
                floors = [floor(url, Level(level)) for _ in range(args.runs)]
                floor_s = statistics.median(f[0] for f in floors)
                runs = [measure(url, level) for _ in range(args.runs)]
                secs = statistics.median(r["seconds"] for r in runs)
                peak = max(r["peak_mib"] for r in runs)
                rows = scanned(url, Level(level))
                table.add_row(
                    backend,
                    f"{devices:,}",
                    level,
                    f"{rows:,}",
                    f"{floor_s:.2f}",
                    f"{secs:.2f}",
                    f"{rows / secs:,.0f}",
                    f"{secs / floor_s:.2f}",
                    f"{peak:.0f}",
                )
                console.print(
                    f"{backend} {devices:,} {level}: floor {floor_s:.2f} s, "
                    f"export {secs:.2f} s, peak {peak:.0f} MiB"
                )
    console.print(table)


if __name__ == "__main__":
    main()
