"""``sccm-cep receiver``: the vendor's reference receiver (serve, report)."""

from __future__ import annotations

from pathlib import Path

import click

from sccm_cep.cli.common import (
    json_option,
)
from sccm_cep.cli.context import App, expected

__all__ = ["receiver"]


def _parse_listen(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter("give HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


@click.group()
def receiver() -> None:
    """The reference receiver (for the vendor, and for testing a collector)."""


@receiver.command("serve")
@click.option(
    "--db",
    "db",
    required=True,
    envvar="SCCM_CEP_RECEIVER_DB",
    help="Database to store documents in: postgresql+psycopg://... or sqlite:///PATH.",
)
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    callback=_parse_listen,
    help="HOST:PORT to listen on.",
)
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option(
    "--max-in-flight",
    type=click.IntRange(1),
    default=16,
    show_default=True,
    help="Requests handled at once; more are answered 503 with Retry-After.",
)
@click.option(
    "--require-signatures",
    is_flag=True,
    envvar="SCCM_CEP_RECEIVER_REQUIRE_SIGNATURES",
    help="Refuse unsigned documents (from collectors before signed documents), even for a site"
    " with no bound key.",
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SCCM_CEP_RECEIVER_TOKEN_FILE",
    help="Closed enrollment: accept only uploads with one of these bearer tokens (one a line).",
)
@click.pass_obj
def receiver_serve(
    app: App,
    db: str,
    listen: tuple[str, int],
    threads: int,
    max_in_flight: int,
    require_signatures: bool,
    token_file: Path | None,
) -> None:
    """Accept submissions until interrupted (plain HTTP: put TLS in front of it)."""
    from sccm_cep.receiver.app import Receiver, load_tokens

    with expected(app):
        tokens = load_tokens(token_file) if token_file is not None else frozenset()
        server = Receiver(
            db,
            host=listen[0],
            port=listen[1],
            threads=threads,
            max_in_flight=max_in_flight,
            require_signatures=require_signatures,
            tokens=tokens,
        )
    app.say(f"listening on {server.url}, storing in {server.engine.url.render_as_string(hide_password=True)}")
    try:
        server.serve_forever()
    finally:
        server.stop()


@receiver.command("report")
@click.option("--db", "db", required=True, envvar="SCCM_CEP_RECEIVER_DB", help="The receiver's database.")
@click.option(
    "--k",
    "k",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Publish a cross-site figure only when at least this many contributors (collector"
    " installations) gave it, none of them dominating.",
)
@json_option
@click.pass_obj
def receiver_report(app: App, db: str, k: int, as_json: bool) -> None:
    """A summary across participants: OS releases, SCCM versions, software, deployments, NPS."""
    from sccm_cep.cli.progress import progress_shown
    from sccm_cep.receiver.report import build_report
    from sccm_cep.receiver.store import open_receiver_db

    # One GROUP BY per figure on the database (the fact tables): a spinner on a terminal while it runs.
    with progress_shown(app, "aggregating", as_json=as_json):
        with expected(app):
            engine = open_receiver_db(db)
        try:
            report = build_report(engine, k=k)
        finally:
            engine.dispose()
    if as_json:
        app.emit_json(report)
        return
    app.say(
        f"documents: {report['documents']}; sites: {report['sites']};"
        f" contributors: {report['contributors']}; k: {k}"
    )
    for name in ("os_releases", "sccm_versions", "top_software", "deployment_technologies"):
        figure = report[name]
        if figure["value"] is None:
            app.say(f"{name}: withheld (fewer than {k} contributors)")
            continue
        app.say(f"{name} ({figure['contributors']} contributors, {figure['sites']} sites):")
        for item in figure["value"]:
            label = " ".join(str(v) for key, v in item.items() if key != "share")
            app.say(f"  {item['share']:7.2%}  {label}")
    score = report["nps"]
    if score["value"] is None and "withheld" in score:
        app.say(f"nps: withheld (fewer than {k} contributors, or one dominates)")
    else:
        app.say(
            f"nps: {score['value']} from {score['answers']} answer(s)"
            f" of {score['contributors']} contributor(s)"
        )
