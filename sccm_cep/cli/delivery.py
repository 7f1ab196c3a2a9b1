"""Sending: ``send`` now, and ``bundle`` for an air-gapped site (prepare, upload, import receipts)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sccm_cep.cli.common import (
    json_option,
)
from sccm_cep.cli.context import App, expected
from sccm_cep.errors import ExitCode

__all__ = ["bundle", "send"]


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


@click.command("send")
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
    if report.exit_code == ExitCode.UNREACHABLE:
        with expected(app):
            raise EndpointUnreachable(
                "the receiver did not accept the documents in this run",
                hint="check the endpoint, network and proxy; the next run retries",
            )
    sys.exit(report.exit_code)


@click.group()
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
    from sccm_cep.cli.progress import progress_shown
    from sccm_cep.collector.store import utcnow as _utcnow
    from sccm_cep.delivery import prepare_bundle

    with expected(app), progress_shown(app, "preparing the bundle", as_json=as_json):
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
    from sccm_cep.cli.progress import progress_shown
    from sccm_cep.delivery import DeliverySettings, upload_bundle

    target = receipts or bundle_file.with_name(bundle_file.name + ".receipts.json")
    with expected(app), progress_shown(app, "uploading the bundle", as_json=as_json):
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
                "results": [{"document_id": r.document_id, "status": r.status, "code": r.code} for r in done],
            }
        )
    else:
        for r in done:
            app.say(f"{r.document_id}: {r.status}" + (f" ({r.reason})" if r.reason else ""))
        app.say(f"receipts: {target} (carry it back and run 'bundle import' on the site)")
    from sccm_cep.delivery.upload import UploadStatus, exit_code_of

    for r in done:
        if r.status == UploadStatus.QUARANTINED:
            # One line per refusal on standard error, as 'send' does: a script sees why it failed.
            app.err.print(
                f"error: delivery: {r.document_id} was refused: {r.reason}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    sys.exit(exit_code_of(r.status for r in done))


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
