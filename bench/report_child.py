"""One ``sccm-cep receiver report --json`` in a fresh process: prints, as JSON, the seconds of
the command's own work (opening the database, its statements, the output) and the process's
peak RSS.

Only the standard library is loaded at the top, so the parent, which times this whole process
from outside, counts the interpreter and every import (psycopg, SQLAlchemy, the CLI) as a
user's ``sccm-cep receiver report`` pays them; the work is timed here once they are loaded.
"""

from __future__ import annotations

import json
import sys
import time


def main(url: str) -> None:
    import psycopg  # noqa: F401  (what the command loads, before the work is timed)
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401
    from click.testing import CliRunner

    import sccm_cep.receiver.report  # noqa: F401
    from bench.child import peak_rss_kib
    from sccm_cep.cli.app import cli

    started = time.perf_counter()
    result = CliRunner().invoke(cli, ["receiver", "report", "--db", url, "--json", "--k", "5"])
    work = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(result.output[-2000:])
    report = json.loads(result.stdout)
    print(json.dumps({"work": work, "peak_mib": peak_rss_kib() / 1024, "documents": report["documents"]}))


if __name__ == "__main__":
    main(sys.argv[1])
