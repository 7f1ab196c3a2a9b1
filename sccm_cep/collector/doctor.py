"""Offline checks of the machine sccm-cep runs on: Python, ODBC, keyring, data folder, secrets,
state store, clock.

Every check returns a ``Check`` and never raises; none prints, and none reads or returns a secret.
Who can use the data folder, the secrets and the state file is checked in ``doctor_files``.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from sccm_cep import platform as host_platform
from sccm_cep.collector.doctor_files import (
    CapturedDocument,
    Check,
    Severity,
    _data_dir_permissions,
    _fail,
    _ok,
    _public_program,
    _reason,
    _secrets,
    _state_file,
    capture_folder_problem,
    write_capture,
)
from sccm_cep.errors import SccmCepError
from sccm_cep.platform import Platform
from sccm_cep.platform.config import SECRETS_FOLDER
from sccm_cep.privacy.identifiers import has_identifier

__all__ = ["Check", "Severity", "has_errors", "run_checks", "winrm_checks"]


SQL_SERVER_DRIVERS = ("ODBC Driver 18 for SQL Server", "ODBC Driver 17 for SQL Server")
STATE_TIMEOUT_S = 5
MIN_YEAR, MAX_YEAR = 2024, 2100
MIN_PYTHON = (3, 11)

# Optional libraries are imported through this one seam, so tests can make them fail.
_import: Callable[[str], ModuleType] = importlib.import_module


def run_checks(
    *, state_url: str | None, data_dir: Path, now: datetime | None = None, host: Platform | None = None
) -> list[Check]:
    """All checks, in a fixed order; the state store is only connected to, never written.

    ``host``: the platform seam (this host's by default; tests pass another)."""
    seam = host or host_platform.current()
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("python", _python),
        ("odbc", _odbc),
        ("keyring", _keyring),
        ("data-dir", lambda: _data_dir(data_dir, seam)),
        ("data-dir-permissions", lambda: _data_dir_permissions(data_dir, seam)),
        ("secrets", lambda: _secrets(data_dir / SECRETS_FOLDER, seam)),
        ("state-store", lambda: _state_store(state_url)),
        ("state-file", lambda: _state_file(state_url, seam)),
        ("clock", lambda: _clock(now)),
        ("timezone", _timezone),
    ]
    return [_guarded(name, check) for name, check in checks]


def winrm_checks(connector: Any, capture_dir: Path | None, *, tool_version: str) -> list[Check]:
    """Run every collection script through the WinRM connector and check its document against the
    script's schema: one check per site script, one per client script over all clients. With
    ``capture_dir``, save each document treated for leaving the site (the connector's
    ``capture_treatments``: pseudonyms under a key that is not kept, programs and publishers
    outside the reviewed catalog and strings with identifiers withheld) as ``<host>/<script>.json`` with a manifest."""
    if capture_dir is not None and (problem := capture_folder_problem(capture_dir)):
        return [_fail("winrm-capture", "error", problem, "give a new or empty folder to --capture")]
    documents: list[CapturedDocument] = []
    checks: list[Check] = []
    clients: dict[str, list[str | None]] = {}
    try:
        for item in connector.capture(has_identifier, _public_program):
            error: SccmCepError | None = item.error
            if item.host != "site":
                clients.setdefault(item.script, []).append(error.one_line() if error else None)
            elif error is not None:
                checks.append(_fail(f"winrm:{item.script}", "error", error.one_line(), error.hint))
            else:
                detail = f"{len(item.rows)} row(s), valid against {item.script}.schema.json"
                checks.append(_ok(f"winrm:{item.script}", detail))
            if error is None:
                documents.append(CapturedDocument(item.host, item.script, item.rows, item.withheld))
    except SccmCepError as exc:
        checks.append(_fail("winrm", "error", exc.one_line(), exc.hint))
    for script, outcomes in clients.items():
        failed = [o for o in outcomes if o is not None]
        detail = (
            f"{len(outcomes) - len(failed)} of {len(outcomes)} client(s) valid against {script}.schema.json"
        )
        if failed:
            checks.append(_fail(f"winrm:{script}", "warning", f"{detail}; first failure: {failed[0]}", None))
        else:
            checks.append(_ok(f"winrm:{script}", detail))
    if capture_dir is not None and not documents:
        return [*checks, _fail("winrm-capture", "error", "nothing was captured", "fix the checks above")]
    if capture_dir is not None:
        complete = not any(not c.ok for c in checks)
        withheld = sum(d.withheld for d in documents)
        try:
            write_capture(
                capture_dir,
                documents,
                connector.capture_treatments,
                tool_version=tool_version,
                complete=complete,
            )
        except SccmCepError as exc:
            return [*checks, _fail("winrm-capture", "error", exc.one_line(), exc.hint)]
        detail = f"{len(documents)} document(s) saved in {capture_dir}; {withheld} value(s) withheld"
        checks.append(_ok("winrm-capture", detail + ("" if complete else "; incomplete, see above")))
    return checks


def has_errors(checks: Sequence[Check]) -> bool:
    """Whether any check failed with severity ``error`` (the CLI's non-zero exit)."""
    return any(not c.ok and c.severity == "error" for c in checks)


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:
        # Only the type: an unexpected message could carry a path or a value we do not vet.
        return _fail(
            name,
            "error",
            f"the check itself failed ({type(exc).__name__})",
            "report it; SCCM_CEP_DEBUG=1 shows the traceback",
        )


def _python(version: Sequence[int] | None = None) -> Check:
    found = tuple(version or sys.version_info[:3])
    detail = f"Python {'.'.join(str(part) for part in found)} ({platform.python_implementation()})"
    if found[:2] < MIN_PYTHON:
        return _fail("python", "error", detail + " is older than 3.11", "install Python 3.11 or newer")
    return _ok("python", detail)


def _odbc_runtime_fix() -> str:
    if sys.platform == "win32":
        return "install ODBC Driver 18 for SQL Server"
    if sys.platform == "darwin":
        return "brew install unixodbc"
    return "apt-get install unixodbc (or your distribution's unixODBC package)"


def _odbc() -> Check:
    try:
        pyodbc = _import("pyodbc")
    except ModuleNotFoundError as exc:
        if exc.name != "pyodbc":
            return _fail("odbc", "warning", f"pyodbc cannot load {exc.name}", _odbc_runtime_fix())
        return _fail(
            "odbc",
            "warning",
            "pyodbc is not installed; SQL Server sites cannot be read",
            "pip install 'sccm-cep[mssql]'",
        )
    except ImportError:
        # pyodbc is a C extension linked to libodbc; without the ODBC runtime its import fails.
        return _fail(
            "odbc", "warning", "pyodbc is installed but the ODBC runtime is missing", _odbc_runtime_fix()
        )
    try:
        drivers = [str(name) for name in pyodbc.drivers()]
    except Exception:
        return _fail("odbc", "warning", "the ODBC driver list cannot be read", _odbc_runtime_fix())
    usable = [d for d in drivers if d in SQL_SERVER_DRIVERS or "freetds" in d.lower()]
    if usable:
        return _ok("odbc", "SQL Server drivers: " + ", ".join(usable))
    found = ", ".join(drivers) if drivers else "none"
    fix = "install ODBC Driver 18 for SQL Server"
    if sys.platform != "win32":
        fix += " (Microsoft's packages), or FreeTDS: apt-get install tdsodbc"
    return _fail("odbc", "warning", f"no SQL Server ODBC driver (installed drivers: {found})", fix)


def _keyring() -> Check:
    try:
        keyring = _import("keyring")
    except ModuleNotFoundError as exc:
        if exc.name == "keyring":
            return _fail(
                "keyring",
                "info",
                "keyring is not installed; env: and file: references still work",
                "pip install 'sccm-cep[keyring]' to use keyring: references",
            )
        return _fail("keyring", "warning", f"keyring cannot load {exc.name}", "reinstall 'sccm-cep[keyring]'")
    except ImportError:
        return _fail("keyring", "warning", "keyring failed to import", "reinstall 'sccm-cep[keyring]'")
    try:
        backend = keyring.get_keyring()
    except Exception as exc:
        return _fail(
            "keyring",
            "warning",
            f"no keyring backend could be loaded ({type(exc).__name__})",
            "check PYTHON_KEYRING_BACKEND and the keyring configuration; file: references still work",
        )
    kind = type(backend)
    name = f"{kind.__module__}.{kind.__qualname__}"
    # Only the backend's type is looked at: reading an entry could unlock a store or show a value.
    if kind.__module__ in ("keyring.backends.fail", "keyring.backends.null"):
        return _fail(
            "keyring",
            "warning",
            f"no usable keyring backend ({name}); keyring: references will fail",
            "start and unlock a Secret Service (GNOME Keyring, KWallet) or set PYTHON_KEYRING_BACKEND; "
            "file: references still work",
        )
    return _ok("keyring", f"backend {name}")


def _data_dir(folder: Path, seam: Platform) -> Check:
    name = "data-dir"
    fix = f"create {folder} writable by this user (mkdir -p, chmod 700) or set SCCM_CEP_DATA_DIR"
    created = False
    if not folder.exists():
        try:
            # The tool makes it on first use anyway; making it now proves it can be made.
            created = host_platform.make_private_folder(folder, seam)
        except OSError as exc:
            return _fail(
                name, "error", f"{folder} does not exist and cannot be created ({_reason(exc)})", fix
            )
    if not folder.is_dir():
        return _fail(name, "error", f"{folder} is not a folder", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".sccm-cep-doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return _fail(name, "error", f"{folder} is not writable ({_reason(exc)})", fix)
    return _ok(name, f"{folder} is writable" + (" (created it)" if created else ""))


def _state_store(state_url: str | None) -> Check:
    name = "state-store"
    if state_url is None:
        return _ok(name, "no state store URL given; the default store in the data folder is used")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(state_url)
    except (ArgumentError, ValueError):
        # Never echo the text: a mistyped URL can still hold a password.
        return _fail(
            name,
            "error",
            "the state store URL is not a valid SQLAlchemy URL",
            "use e.g. sqlite:////var/lib/sccm-cep/state.db or postgresql+psycopg://user@host/db",
        )
    # A password can also ride in the query (?password=); hide it there as well.
    hidden = {k for k in url.query if "password" in k.lower() or k.lower() == "pwd"}
    secrets = [s for s in (url.password, *(str(url.query[k]) for k in hidden)) if s]
    shown = url.set(query={k: ("***" if k in hidden else v) for k, v in url.query.items()}).render_as_string(
        hide_password=True
    )
    backend = url.get_backend_name()
    if backend == "sqlite":
        problem = _sqlite_folder_problem(url.database)
        if problem:
            return _fail(name, "error", f"{shown}: {problem}", "point the URL at a writable folder")
        if not url.database or url.database == ":memory:":
            return _fail(
                name,
                "warning",
                f"{shown} is in memory and forgets everything",
                "use a file: sqlite:////full/path/state.db",
            )
        if not Path(url.database).exists():
            # Connecting would create the file; its folder is writable, which is what matters.
            return _ok(name, f"{shown}: the folder is writable; the file is made on first use")
    connect_args = {
        "sqlite": {"timeout": STATE_TIMEOUT_S},
        "postgresql": {"connect_timeout": STATE_TIMEOUT_S},
        "mysql": {"connect_timeout": STATE_TIMEOUT_S},
        "mssql": {"timeout": STATE_TIMEOUT_S},
    }.get(backend, {})
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError:
        return _fail(
            name,
            "error",
            f"{shown}: SQLAlchemy has no dialect '{url.drivername}'",
            "use sqlite:// or postgresql+psycopg://",
        )
    except ImportError as exc:
        return _fail(
            name,
            "error",
            f"{shown}: the database driver is not installed ({exc.name or 'import failed'})",
            f"install the {url.drivername} driver (for PostgreSQL: pip install 'sccm-cep[postgres]')",
        )
    except Exception as exc:
        return _fail(name, "error", f"{shown}: {_redacted(exc, secrets)}", "check the URL's options")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        return _fail(
            name,
            "error",
            f"{shown}: cannot connect ({_redacted(exc, secrets)})",
            "check host, port, database name and the login",
        )
    finally:
        engine.dispose()
    return _ok(name, f"{shown}: connected")


def _sqlite_folder_problem(database: str | None) -> str | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    folder = Path(database).absolute().parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".sccm-cep-doctor-"):
            pass
    except OSError as exc:
        return f"the folder {folder} is not writable ({_reason(exc)})"
    return None


def _clock(now: datetime | None) -> Check:
    moment = now or datetime.now(UTC)
    stamp = moment.isoformat(timespec="seconds")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return _fail(
            "clock",
            "error",
            f"the system clock says {stamp}",
            "set the clock (e.g. timedatectl set-ntp true, or w32tm /resync); "
            "submission periods and due dates follow it",
        )
    return _ok("clock", f"the system clock says {stamp}")


def _timezone() -> Check:
    name = "timezone"
    local = datetime.now().astimezone()
    detail = f"{local.tzname()} (UTC{local.strftime('%z')})"
    if os.name == "nt":
        return _ok(name, detail)
    # Without TZ or /etc/localtime the C library silently falls back to UTC.
    if os.environ.get("TZ") or Path("/etc/localtime").exists():
        return _ok(name, detail)
    return _fail(
        name,
        "info",
        f"no local time zone is configured; UTC is assumed ({time.tzname[0]})",
        "set TZ=Area/City or run timedatectl set-timezone Area/City; scheduled times follow it",
    )


def _redacted(exc: BaseException, secrets: Sequence[str]) -> str:
    # DBAPI errors carry the driver's message in .orig; SQLAlchemy's own text adds the statement
    # and a link. Keep one line, and blank out the password in case a driver echoes it.
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    message = lines[0] if lines else type(inner).__name__
    for secret in secrets:
        message = message.replace(secret, "***")
    return message[:300]
