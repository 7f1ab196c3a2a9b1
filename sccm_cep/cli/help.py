"""Examples and environment variables for every command's ``--help``, kept in one table.

Commands are defined where their behaviour lives; what their help shows beyond the options
is written here, once, and a test checks that every command has an example.
"""

from __future__ import annotations

import click

__all__ = ["EXAMPLES", "GLOBAL_ENVIRONMENT", "add_examples"]

# Environment variables every command reads (the root group's options and a few more).
GLOBAL_ENVIRONMENT = {
    "SCCM_CEP_DATA_DIR": "data folder: state store, site keys, logs (same as --data-dir)",
    "SCCM_CEP_STATE": "state store URL (same as --state)",
    "SCCM_CEP_ENDPOINT": "the receiver's https:// URL for run and send (same as --endpoint)",
    "SCCM_CEP_DEBUG": "1: show the traceback of an internal error",
}

_DB = "'mssql+pyodbc://@SQL01/CM_PS1?driver=ODBC+Driver+18+for+SQL+Server&trusted_connection=yes'"

EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "sccm-cep export --db sqlite:///site.db --out ./out",
        "sccm-cep --data-dir C:\\ProgramData\\sccm-cep run --due",
    ),
    "export": (
        f"sccm-cep export --db {_DB} --out .\\submissions",
        "sccm-cep export --db sqlite:///site.db --out ./out --level enhanced --json",
        "sccm-cep export --winrm sccm01.corp.example --winrm-user 'CORP\\svc-cep' "
        "--winrm-password env:WINRM_PASSWORD --out ./out",
    ),
    "policy": ("sccm-cep policy lint",),
    "policy lint": ("sccm-cep policy lint --policies ./policies",),
    "policy approve": ("sccm-cep policy approve --by 'J. Privacy Officer' --note 'Q4 review'",),
    "policy history": ("sccm-cep policy history --json",),
    "fields": ("sccm-cep fields --level basic", "sccm-cep fields --format csv > fields.csv"),
    "preview": ("sccm-cep preview PS1", "sccm-cep preview PS1 --explain --level enhanced"),
    "report": ("sccm-cep report PS1 --out ps1-review.html",),
    "diff": ("sccm-cep diff PS1", "sccm-cep diff PS1 --from 2026-Q3 --to 2026-Q4 --json"),
    "verify-pseudonym": ("sccm-cep verify-pseudonym PS1 --kind device --value WS0042",),
    "site": ("sccm-cep site list",),
    "site register": (
        f"sccm-cep site register PS1 --db {_DB} --name 'Head office'",
        "sccm-cep site register PS1 --db 'mssql+pyodbc://cep_reader@SQL01/CM_PS1?driver=ODBC+Driver+18+for+SQL+Server'"
        " --password env:SITE_DB_PASSWORD",
        "sccm-cep site register PS1 --from-ad --ldap ldaps://dc01.corp.example",
    ),
    "site discover": (
        "sccm-cep site discover --ldap ldaps://dc01.corp.example --auth kerberos",
        "sccm-cep site discover --domain corp.example --bind-dn svc-cep@corp.example "
        "--ldap-password env:LDAP_PASSWORD --json",
    ),
    "site list": ("sccm-cep site list --json",),
    "site show": ("sccm-cep site show PS1",),
    "site check": ("sccm-cep site check PS1",),
    "site remove": ("sccm-cep site remove PS1 --yes",),
    "site rotate-key": ("sccm-cep site rotate-key PS1",),
    "site export-key": ("sccm-cep site export-key PS1 --out PS1.cepkey",),
    "site import-key": ("sccm-cep site import-key PS1 PS1.cepkey --passphrase env:KEY_PASSPHRASE",),
    "join": ("sccm-cep join PS1", "sccm-cep join PS1 --level enhanced --cadence biweekly --yes"),
    "leave": ("sccm-cep leave PS1 --yes",),
    "status": ("sccm-cep status", "sccm-cep status --json"),
    "run": (
        "sccm-cep run --due",
        "sccm-cep run --site PS1 --period 2026-Q4 --force",
        "sccm-cep run --due --as-of 2027-01-08 --json",
    ),
    "outbox": ("sccm-cep outbox list",),
    "outbox list": ("sccm-cep outbox list --site PS1 --json",),
    "outbox show": ("sccm-cep outbox show 453f5f01-bb5b-57f8-9ae0-bd0ccb9e5881",),
    "feedback": ("sccm-cep feedback PS1 --score 9 --comment 'Easy to review'",),
    "send": ("sccm-cep send --endpoint https://cep.example.com", "sccm-cep send --site PS1 --json"),
    "bundle": ("sccm-cep bundle prepare --site PS1 --out PS1.zip",),
    "bundle prepare": ("sccm-cep bundle prepare --site PS1 --out PS1.zip",),
    "bundle upload": ("sccm-cep bundle upload PS1.zip --endpoint https://cep.example.com",),
    "bundle import": ("sccm-cep bundle import PS1.zip.receipts.json",),
    "schedule": ("sccm-cep schedule show --kind windows-task",),
    "schedule install": (
        "sccm-cep --data-dir C:\\ProgramData\\sccm-cep schedule install --kind windows-task --user 'CORP\\svc-cep$'",
        "sccm-cep schedule install --kind systemd --target ./units",
        "sccm-cep schedule install --kind cron --print",
    ),
    "schedule enable": ("sccm-cep schedule enable --kind systemd",),
    "schedule show": ("sccm-cep schedule show --kind cron",),
    "schedule remove": ("sccm-cep schedule remove --kind windows-task",),
    "doctor": ("sccm-cep doctor", "sccm-cep doctor --json"),
    "receiver": ("sccm-cep receiver serve --db sqlite:///receiver.db",),
    "receiver serve": (
        "sccm-cep receiver serve --db postgresql+psycopg://cep@db01/cep --listen 127.0.0.1:8080",
    ),
    "receiver report": ("sccm-cep receiver report --db postgresql+psycopg://cep@db01/cep --k 5 --json",),
}


def add_examples(root: click.Group) -> None:
    """Give every command its examples and show the environment variable of each option."""
    for path, command in _walk(root, ()):
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar:
                param.show_envvar = True
        lines = ["\b", "Examples:", *(f"  {e}" for e in EXAMPLES.get(" ".join(path), ()))]
        if not path:
            lines += ["", "\b", "Environment:", *(f"  {k}  {v}" for k, v in GLOBAL_ENVIRONMENT.items())]
        if len(lines) > 2 or not path:
            command.epilog = "\n".join(lines)


def _walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _walk(sub, (*path, name))
    return found
