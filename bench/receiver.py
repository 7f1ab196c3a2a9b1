"""Benchmark: the receiver at vendor scale, on PostgreSQL.

    python -m bench.receiver [--ingest-sites 1000] [--processes 1,2,4] [--report-sites 1000,10000]

Ingest: the fleet simulator's documents (``bench.fleet``) uploaded on loopback to 1, 2 and 4
``sccm-cep receiver serve`` processes on one fresh database; documents per second and the
peak RSS (VmHWM) of the receiver processes. Report: ``receiver report`` in a fresh process
(``bench/report_child.py``; median of ``--runs``; its own peak RSS) over databases of 1,000 and
10,000 sites, timed whole from outside (the interpreter and every import included) and its work
alone (opening the database, the statements, the output), each next to a bare SQL aggregate
over the same fact tables (a GROUP BY of every fact, fully fetched through a DB-API cursor),
the two alternating. Report databases are filled once by ``store_document`` directly (not over HTTP)
and kept as schemas ``bench_rx_<sites>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench import compile_project
from bench.fleet import fleet, upload_all
from fixtures.synthetic_site import drop_pg_schema, pg_schema_url
from sccm_cep.contract.upload import UploadTarget
from sccm_cep.receiver.store import open_receiver_db, store_document

PG_BASE = os.environ.get("SCCM_CEP_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Issue 15: the report within 10x of the bare aggregate.
REPORT_GOAL = 10.0
BARE = "SELECT figure, label1, label2, SUM(weight) FROM fact_values GROUP BY figure, label1, label2"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_receivers(db: str, processes: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """``processes`` ``sccm-cep receiver serve`` on ``db``, started one after the other (none
    races to create a table), each answering its health check: (processes, their URLs). A
    receiver that does not start raises RuntimeError with the end of its error output; the
    ones already started are stopped first."""
    exe = str(Path(sys.executable).with_name("sccm-cep"))
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(processes):
            port = _port()
            command = [
                exe,
                "receiver",
                "serve",
                "--db",
                db,
                "--listen",
                f"127.0.0.1:{port}",
                "--max-in-flight",
                "64",
            ]
            urls.append(f"http://127.0.0.1:{port}")
            # Errors to a file, not a pipe (a busy receiver would fill one and stall); the child
            # keeps its own handle once started.
            with tempfile.TemporaryFile() as log:
                procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log))
                _wait_healthy(procs[-1], urls[-1], log)
    except BaseException:
        stop_receivers(procs)
        raise
    return procs, urls


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/v1/health").raise_for_status()
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"the receiver on {url} did not start: {log.read()[-2000:]!r}") from None
            time.sleep(0.1)


def stop_receivers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=15)


def ingest(sites: int, processes: int, concurrency: int) -> dict[str, Any]:
    """Upload ``sites`` sites' documents to ``processes`` receivers on a fresh schema."""
    uploads = list(fleet(sites, seed=1))
    schema = f"bench_rx_ingest_{processes}"
    drop_pg_schema(PG_BASE, schema)
    db = pg_schema_url(PG_BASE, schema)
    open_receiver_db(db).dispose()  # tables made before the clock starts
    procs, urls = start_receivers(db, processes)
    try:
        started = time.perf_counter()
        tally = upload_all(uploads, urls, concurrency)
        seconds = time.perf_counter() - started
        peaks = [_vm_hwm_mib(p.pid) for p in procs]
    finally:
        stop_receivers(procs)
        drop_pg_schema(PG_BASE, schema)
    if not set(tally.answers) <= {201, 409}:
        raise SystemExit(f"unexpected answers: {dict(tally.answers)}")
    return {"documents": len(uploads), "seconds": seconds, "peak_mib": max(peaks), "retries": tally.retries}


def report_db(sites: int, console: Console) -> str:
    """The schema of ``sites`` sites, filled on first use."""
    schema = f"bench_rx_{sites}"
    url = pg_schema_url(PG_BASE, schema)
    engine = open_receiver_db(url)
    try:
        with engine.connect() as conn:
            done = conn.execute(
                text(
                    "select count(*) from information_schema.tables where table_schema = :s and table_name = 'bench_done'"
                ),
                {"s": schema},
            ).scalar()
        if not done:
            _fill(engine, sites, console)
            with engine.begin() as conn:
                conn.execute(text("create table bench_done (x int)"))
            with engine.connect() as conn:  # what autovacuum does soon after a bulk load
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE received_documents, fact_submissions, fact_values"
                )
    finally:
        engine.dispose()
    return url


def _fill(engine: Engine, sites: int, console: Console) -> None:
    started = time.perf_counter()
    count = 0
    for upload in fleet(sites, seed=2, validate=False):
        target = UploadTarget(upload.kind, "1.0", upload.document_id)
        store_document(engine, target, json.loads(upload.text), upload.text, None)
        count += 1
    console.print(f"filled {sites:,} sites ({count:,} documents) in {time.perf_counter() - started:.0f} s")


def bare_sql(url: str) -> float:
    """Seconds for the bare aggregate over the fact tables, fully fetched."""
    engine = open_receiver_db(url)
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        cur = raw.cursor()
        cur.execute(BARE)
        while cur.fetchmany(5000):
            pass
        cur.close()
        return time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()


def measure_report(url: str) -> dict[str, Any]:
    """One ``receiver report`` in a fresh process (``bench/report_child.py``): its wall time
    from outside (``seconds``: the interpreter, every import, the work, the exit), the work
    alone as the process timed it, and its peak RSS."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.report_child", url],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"receiver report failed: {proc.stdout}{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "seconds": seconds}


def ingest_table(console: Console, sites: int, processes: list[int], concurrency: int) -> Table:
    """Ingest with each number of receiver processes, one row each."""
    table = Table(title=f"receiver ingest on PostgreSQL ({sites:,} sites, {concurrency} uploaders)")
    for col in ("processes", "documents", "seconds", "docs/s", "peak RSS MiB (largest process)"):
        table.add_column(col, justify="right")
    for n in processes:
        got = ingest(sites, n, concurrency)
        table.add_row(
            str(n),
            f"{got['documents']:,}",
            f"{got['seconds']:.1f}",
            f"{got['documents'] / got['seconds']:.1f}",
            f"{got['peak_mib']:.0f}",
        )
        console.print(
            f"ingest with {n} process(es): {got['documents'] / got['seconds']:.1f} docs/s,"
            f" peak {got['peak_mib']:.0f} MiB, {got['retries']} retries after 503"
        )
    return table


def report_table(console: Console, sizes: list[int], runs: int) -> Table:
    """``receiver report`` next to the bare aggregate at each number of sites, one row each.
    Bare and report runs alternate, so a burst of load hits both alike; the ratio is the
    median of the pairs' ratios (as the export's against its floor)."""
    table = Table(title=f"receiver report vs. bare SQL aggregate on PostgreSQL (median of {runs})")
    for col in (
        "sites",
        "documents",
        "fact rows",
        "bare SQL s",
        "report s (whole process)",
        "of which the work s",
        "ratio (whole)",
        "ratio (work)",
        "report peak RSS MiB",
        f"goal (work ≤ {REPORT_GOAL:g}×)",
    ):
        table.add_column(col, justify="right")
    for sites in sizes:
        url = report_db(sites, console)
        pairs = [(bare_sql(url), measure_report(url)) for _ in range(runs)]
        bare = statistics.median(b for b, _r in pairs)
        secs = statistics.median(r["seconds"] for _b, r in pairs)
        work = statistics.median(r["work"] for _b, r in pairs)
        whole = statistics.median(r["seconds"] / b for b, r in pairs)
        ratio = statistics.median(r["work"] / b for b, r in pairs)
        peak = max(r["peak_mib"] for _b, r in pairs)
        table.add_row(
            f"{sites:,}",
            f"{pairs[0][1]['documents']:,}",
            f"{fact_rows(url):,}",
            f"{bare:.3f}",
            f"{secs:.2f}",
            f"{work:.3f}",
            f"{whole:.1f}",
            f"{ratio:.1f}",
            f"{peak:.0f}",
            "met" if ratio <= REPORT_GOAL else "missed",
        )
        console.print(
            f"report at {sites:,} sites: bare {bare:.3f} s, report {secs:.2f} s ({whole:.1f}x),"
            f" its work {work:.3f} s ({ratio:.1f}x), peak {peak:.0f} MiB"
        )
    return table


def fact_rows(url: str) -> int:
    engine = open_receiver_db(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("select count(*) from fact_values")).scalar_one())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver", description=__doc__.split("\n")[0])
    parser.add_argument("--ingest-sites", type=int, default=1000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--report-sites", default="1000,10000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    compile_project()
    console = Console(width=150)
    console.print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    ingest = ingest_table(console, args.ingest_sites, int_list(args.processes), args.concurrency)
    report = report_table(console, int_list(args.report_sites), args.runs)
    console.print(ingest)
    console.print(report)


def int_list(text: str) -> list[int]:
    """The numbers of a comma-separated option ("1000,10000")."""
    return [int(x) for x in text.split(",") if x]


if __name__ == "__main__":
    main()
