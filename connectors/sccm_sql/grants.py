"""T-SQL for a read-only login: SELECT on exactly the views this connector declares, nothing else.

``python -m sccm_cep_connectors.sccm_sql.grants --site PS1 --login 'CORP\\svc-cep'`` prints a
script for a sysadmin to run on the site database's SQL Server. A login with a backslash is a
Windows login (a user, a group or a gMSA ``DOMAIN\\name$``); any other name is a SQL login whose
password is a placeholder to replace before running.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence

from .views import VIEWS

__all__ = ["PASSWORD_PLACEHOLDER", "grant_script", "main"]

#: Left in the script for a SQL login; the person running it puts the real password here.
PASSWORD_PLACEHOLDER = "<replace with a strong password>"

_SITE_CODE = re.compile(r"[A-Za-z0-9]{3}")
_WINDOWS_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,62}\\[A-Za-z0-9][A-Za-z0-9 ._\-]{0,62}\$?")
_SQL_LOGIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")


def _bracket(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def _nstring(text: str) -> str:
    return "N'" + text.replace("'", "''") + "'"


def grant_script(site: str, login: str, *, views: Iterable[str] | None = None) -> str:
    """The T-SQL script; ValueError names a site code or login it will not put in SQL."""
    if not _SITE_CODE.fullmatch(site):
        raise ValueError("a site code is three letters or digits, e.g. PS1")
    windows = "\\" in login
    if not (_WINDOWS_LOGIN if windows else _SQL_LOGIN).fullmatch(login):
        raise ValueError(
            "a login is DOMAIN\\name (a Windows account, group or gMSA ending in $) or a SQL login name"
            " of letters, digits, '_', '.' and '-'"
        )
    database = f"CM_{site.upper()}"
    names = sorted(VIEWS if views is None else views)
    who = _bracket(login)
    lines = [
        f"-- sccm-cep: a read-only login for site {site.upper()}: SELECT on the {len(names)} views the",
        "-- SQL connector reads, and nothing else (no db_datareader, no write, no other object).",
        "-- Run as a sysadmin on the SQL Server that holds the site database. With an availability",
        "-- group, create the login on every replica the collector may read from.",
    ]
    if windows:
        lines += [
            "USE [master];",
            f"CREATE LOGIN {who} FROM WINDOWS WITH DEFAULT_DATABASE = {_bracket(database)};",
        ]
    else:
        lines += [
            "-- Replace the password placeholder with the one kept in the collector's secret store.",
            "USE [master];",
            f"CREATE LOGIN {who} WITH PASSWORD = {_nstring(PASSWORD_PLACEHOLDER)},"
            f" CHECK_POLICY = ON, DEFAULT_DATABASE = {_bracket(database)};",
        ]
    lines += [
        f"USE {_bracket(database)};",
        f"CREATE USER {who} FOR LOGIN {who} WITH DEFAULT_SCHEMA = [dbo];",
    ]
    lines += [f"GRANT SELECT ON [dbo].{_bracket(name)} TO {who};" for name in names]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sccm_cep_connectors.sccm_sql.grants",
        description="Print T-SQL that creates a read-only login for the sccm-cep SQL connector.",
    )
    parser.add_argument("--site", required=True, help="the site code: the database is CM_<SITE>")
    parser.add_argument(
        "--login",
        required=True,
        help="DOMAIN\\name for a Windows login (DOMAIN\\name$ for a gMSA); anything else is a SQL login",
    )
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(grant_script(args.site, args.login))
    except ValueError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
