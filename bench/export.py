"""The export part of the benchmark: sccm-cep's export against the database floor.

For each backend and size, in one run and on the same data: the floor (the connector's own
statements executed and fully fetched with a bare DB-API cursor, no Python processing), and
sccm-cep's export at each level in a fresh process, alternated with the floor (medians of
``runs``; the ratio is the median of each pair's), with its peak RSS. Sites are generated once
and cached (SQLite files under bench/.cache, PostgreSQL schemas named bench_<size>).
"""

from __future__ import annotations

import json
import os
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
    statements = [s.plan.statement(s.fields) for s in connector.streams(request)]
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
    views = {v for s in connector.streams(request) for v in s.plan.views}
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


def help_seconds(runs: int) -> float:
    """Wall time of ``sccm-cep --help`` (the console script next to this Python), median of runs."""
    script = Path(sys.executable).with_name("sccm-cep")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sccm_cep"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*command, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def compare(url: str, level: str, runs: int) -> dict[str, Any]:
    """Floor and export measured in turn (floor, export, floor, export, ...), so a burst of load
    from other work on the machine hits both alike; medians of each, and of the pairs' ratios."""
    floors, exports = [], []
    for _ in range(runs):
        floors.append(floor(url, Level(level))[0])
        exports.append(measure(url, level))
    return {
        "floor": statistics.median(floors),
        "export": statistics.median(r["seconds"] for r in exports),
        "ratio": statistics.median(r["seconds"] / f for r, f in zip(exports, floors, strict=True)),
        "peak": max(r["peak_mib"] for r in exports),
    }


def export_table(
    console: Console, sizes: list[int], backends: list[str], levels: list[str], runs: int
) -> Table:
    """Floor and export for each backend, size and level, one row each (printed as they come)."""
    table = Table(title=f"sccm-cep export vs. database floor (median of {runs} alternated runs)")
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
        "goal (enhanced ≤ 1.5×, ≤ 256 MiB)",
    ):
        table.add_column(col, justify="left" if col in ("backend", "level") else "right")
    for backend in backends:
        for devices in sizes:
            url = site_url(backend, devices, console)
            for level in levels:
                got = compare(url, level, runs)
                rows = scanned(url, Level(level))
                met = got["ratio"] <= 1.5 and got["peak"] <= 256
                table.add_row(
                    backend,
                    f"{devices:,}",
                    level,
                    f"{rows:,}",
                    f"{got['floor']:.2f}",
                    f"{got['export']:.2f}",
                    f"{rows / got['export']:,.0f}",
                    f"{got['ratio']:.2f}",
                    f"{got['peak']:.0f}",
                    ("met" if met else "not met") if level == "enhanced" else "",
                )
                console.print(
                    f"export {backend} {devices:,} {level}: floor {got['floor']:.2f} s,"
                    f" export {got['export']:.2f} s, ratio {got['ratio']:.2f}, peak {got['peak']:.0f} MiB"
                )
    return table
