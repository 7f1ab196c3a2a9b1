"""CLI commands for delivery: ``send``, ``bundle prepare|upload|import``, ``outbox show`` and
``receiver serve|report``. Registered on the root group by ``cli.py``; only printing happens here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sccm_cep.cli.common import json_option

if TYPE_CHECKING:
    from sccm_cep.cli.app import App

__all__ = ["register_commands"]

F = Callable[..., Any]


def _connection_options(f: F) -> F:
    for option in reversed(
        (
            click.option(
                "--endpoint",
                help="Receiver URL (https://; http:// only to loopback). Env: SCCM_CEP_ENDPOINT.",
            ),
            click.option(
                "--ca-bundle",
                type=click.Path(path_type=Path, dir_okay=False),
                envvar="SCCM_CEP_CA_BUNDLE",
                help="CA certificates (PEM) to validate the receiver with (validation is always on).",
            ),
            click.option(
                "--proxy", envvar="SCCM_CEP_PROXY", help="Proxy URL (default: HTTPS_PROXY / NO_PROXY)."
            ),
            click.option(
                "--max-attempts",
                type=click.IntRange(1, 20),
                default=5,
                show_default=True,
                help="Tries per document in this run.",
            ),
        )
    ):
        f = option(f)
    return f


def _parse_listen(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter("give HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


def register_commands(cli: click.Group, expected: Any) -> None:
    """Add ``send``, ``bundle``, ``receiver`` and ``outbox show``."""

    @cli.command("send")
    @click.option("--site", "site_code", help="Only this site.")
    @_connection_options
    @click.option(
        "--retention-days",
        type=click.IntRange(0),
        envvar="SCCM_CEP_RETENTION_DAYS",
        help="Keep sent documents' bytes this long (default 365).",
    )
    @json_option
    @click.pass_obj
    def send(
        app: App,
        site_code: str | None,
        endpoint: str | None,
        ca_bundle: Path | None,
        proxy: str | None,
        max_attempts: int,
        retention_days: int | None,
        as_json: bool,
    ) -> None:
        """Send pending documents now, also those waiting to retry after an outage.

        Exit 0: sent or waiting; 11: something quarantined; 4: unreachable."""
        from sccm_cep.cli.oplog import note_outcome
        from sccm_cep.delivery import DeliverySettings, EndpointUnreachable, send_pending

        with expected(app):
            settings = DeliverySettings.resolve(
                endpoint=endpoint,
                ca_bundle=ca_bundle,
                proxy=proxy,
                max_attempts=max_attempts,
                retention_days=retention_days,
            )
            # Asked for explicitly: the back-off of earlier failures is for the scheduled runs.
            report = send_pending(app.store, settings, site=site_code, honour_backoff=False)
        note_outcome(report.summary())
        if as_json:
            app.emit_json(report.as_json())
        else:
            app.say(report.summary())
        for r in report.results:
            if r.status == "quarantined":
                app.err.print(
                    f"error: delivery: {r.site} {r.document_id} was refused and quarantined: {r.reason}"
                    " (fix the cause; it is not retried)",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
        if report.exit_code == 4:
            with expected(app):
                raise EndpointUnreachable(
                    "the receiver did not accept the documents in this run",
                    hint="check the endpoint, network and proxy; the next run retries",
                )
        sys.exit(report.exit_code)

    @cli.group()
    def bundle() -> None:
        """Offline bundles for a site without internet access (prepare, upload elsewhere, import)."""

    @bundle.command("prepare")
    @click.option("--site", "site_code", required=True, help="The site whose pending documents go in.")
    @click.option(
        "--out",
        "out_file",
        required=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="Bundle file (.zip).",
    )
    @json_option
    @click.pass_obj
    def bundle_prepare(app: App, site_code: str, out_file: Path, as_json: bool) -> None:
        """Write the site's pending documents to a signed bundle to carry out by hand."""
        from sccm_cep.collector.store import utcnow as _utcnow
        from sccm_cep.delivery import prepare_bundle

        with expected(app):
            info = prepare_bundle(app.store, site_code, out_file, now=_utcnow())
        ids = [d.document_id for d in info.documents]
        if as_json:
            app.emit_json({"path": str(out_file), "documents": ids, "key_fingerprint": info.fingerprint})
            return
        app.say(f"{out_file}: {len(ids)} document(s), signed by {info.fingerprint}")
        app.say(
            "review.csv inside shows every row; carry the file to a connected machine and run 'bundle upload'"
        )

    @bundle.command("upload")
    @click.argument("bundle_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @_connection_options
    @click.option(
        "--receipts",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Where to write the receipts (default: next to the bundle, .receipts.json).",
    )
    @click.option("--key-fingerprint", help="Refuse a bundle not signed by this key (sha256:...).")
    @json_option
    @click.pass_obj
    def bundle_upload(
        app: App,
        bundle_file: Path,
        endpoint: str | None,
        ca_bundle: Path | None,
        proxy: str | None,
        max_attempts: int,
        receipts: Path | None,
        key_fingerprint: str | None,
        as_json: bool,
    ) -> None:
        """Verify a bundle and upload its documents (needs no site and no state store)."""
        from sccm_cep.delivery import DeliverySettings, upload_bundle

        target = receipts or bundle_file.with_name(bundle_file.name + ".receipts.json")
        with expected(app):
            settings = DeliverySettings.resolve(
                endpoint=endpoint,
                ca_bundle=ca_bundle,
                proxy=proxy,
                max_attempts=max_attempts,
                retention_days=0,
            )
            _info, done = upload_bundle(bundle_file, settings, target, expect_fingerprint=key_fingerprint)
        if as_json:
            app.emit_json(
                {
                    "receipts": str(target),
                    "results": [
                        {"document_id": r.document_id, "status": r.status, "code": r.code} for r in done
                    ],
                }
            )
        else:
            for r in done:
                app.say(f"{r.document_id}: {r.status}" + (f" ({r.reason})" if r.reason else ""))
            app.say(f"receipts: {target} (carry it back and run 'bundle import' on the site)")
        statuses = {r.status for r in done}
        sys.exit(11 if "quarantined" in statuses else 4 if statuses & {"unreachable", "failed"} else 0)

    @bundle.command("import")
    @click.argument("receipts", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @json_option
    @click.pass_obj
    def bundle_import(app: App, receipts: Path, as_json: bool) -> None:
        """Mark sent the documents a receipts file says the receiver accepted."""
        from sccm_cep.collector.store import utcnow as _utcnow
        from sccm_cep.delivery import import_receipts

        with expected(app):
            report = import_receipts(app.store, receipts, now=_utcnow())
        if as_json:
            app.emit_json(report.as_json())
            return
        app.say(
            f"marked sent: {len(report.marked)}; already sent: {len(report.already_sent)};"
            f" not accepted: {len(report.not_accepted)}; not in this store: {len(report.unknown)}"
        )

    outbox = cli.commands["outbox"]
    assert isinstance(outbox, click.Group)

    @outbox.command("show")
    @click.argument("ref", metavar="ID")
    @json_option
    @click.pass_obj
    def outbox_show(app: App, ref: str, as_json: bool) -> None:
        """Print a stored document (by document_id or outbox id) as it was sent."""
        from sccm_cep.delivery import show_document

        with expected(app):
            meta, text = show_document(app.store, ref)
        if as_json:
            app.emit_json({**meta, "document": json.loads(text) if text is not None else None})
            return
        if text is None:
            app.err.print(
                f"document {meta['document_id']} ({meta['state']}, sent {meta['sent_at']}): its body was dropped"
                f" after the retention period; sha256 {meta['sha256']}, {meta['size']:,} bytes",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            return
        # The exact bytes, so they can be piped to a hash or a JSON viewer.
        click.echo(text)

    @cli.group()
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
    @click.pass_obj
    def receiver_serve(app: App, db: str, listen: tuple[str, int], threads: int, max_in_flight: int) -> None:
        """Accept submissions until interrupted (plain HTTP: put TLS in front of it)."""
        from sccm_cep.receiver.app import Receiver

        with expected(app):
            server = Receiver(
                db, host=listen[0], port=listen[1], threads=threads, max_in_flight=max_in_flight
            )
        app.say(
            f"listening on {server.url}, storing in {server.engine.url.render_as_string(hide_password=True)}"
        )
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
        help="Publish a cross-site figure only when at least this many sites contributed.",
    )
    @json_option
    @click.pass_obj
    def receiver_report(app: App, db: str, k: int, as_json: bool) -> None:
        """A summary across participants: OS releases, SCCM versions, software, deployments, NPS."""
        from sccm_cep.receiver.app import open_receiver_db
        from sccm_cep.receiver.report import build_report

        with expected(app):
            engine = open_receiver_db(db)
        try:
            report = build_report(engine, k=k)
        finally:
            engine.dispose()
        if as_json:
            app.emit_json(report)
            return
        app.say(f"documents: {report['documents']}; sites: {report['sites']}; k: {k}")
        for name in ("os_releases", "sccm_versions", "top_software", "deployment_technologies"):
            figure = report[name]
            if figure["value"] is None:
                app.say(f"{name}: withheld (fewer than {k} sites)")
                continue
            app.say(f"{name} ({figure['sites']} sites):")
            for item in figure["value"]:
                label = " ".join(str(v) for key, v in item.items() if key != "share")
                app.say(f"  {item['share']:7.2%}  {label}")
        score = report["nps"]
        if score["value"] is None and "withheld" in score:
            app.say(f"nps: withheld (fewer than {k} sites)")
        else:
            app.say(f"nps: {score['value']} from {score['answers']} answer(s) of {score['sites']} site(s)")
