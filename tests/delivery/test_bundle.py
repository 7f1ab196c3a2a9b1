"""Offline bundles: prepare on the site, upload from a machine with no store, import receipts."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.synthetic_site import CANARIES
from sccm_cep.cli import cli
from sccm_cep.collector.store import Store, utcnow
from sccm_cep.delivery import BundleError, prepare_bundle, read_bundle
from sccm_cep.receiver.app import Receiver
from tests.delivery.conftest import rows


def _rewrite(
    src: Path, dst: Path, *, change: str | None = None, add: str | None = None, drop: str | None = None
) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == drop:
                continue
            if name == change == "manifest.json":
                data = data.replace(b"{", b"{ ", 1)  # still valid JSON, but not the signed bytes
            elif name == change:
                data = data[:-1] + bytes([data[-1] ^ 1])
            zout.writestr(name, data)
        if add:
            zout.writestr(add, b"{}")


def test_round_trip_prepare_upload_import_marks_sent(
    tmp_path: Path, state_url: str, store: Store, receiver: Receiver
) -> None:
    bundle = tmp_path / "out" / "PS1.zip"
    site = CliRunner().invoke(
        cli, ["--state", state_url, "bundle", "prepare", "--site", "PS1", "--out", str(bundle)]
    )
    assert site.exit_code == 0, site.output
    # The connected machine: no store (the URL points at a folder that does not exist) and no site.
    nowhere = tmp_path / "no-such-folder" / "state.db"
    receipts = tmp_path / "receipts.json"
    up = CliRunner().invoke(
        cli,
        [
            "--state",
            f"sqlite:///{nowhere}",
            "bundle",
            "upload",
            str(bundle),
            "--endpoint",
            receiver.url,
            "--receipts",
            str(receipts),
        ],
    )
    assert up.exit_code == 0, up.output
    assert not nowhere.parent.exists()
    data = json.loads(receipts.read_text())
    assert {r["status"] for r in data["receipts"]} == {"sent"} and {r["code"] for r in data["receipts"]} == {
        201
    }
    assert receiver.stored() == sorted(r.document_id for r in rows(store))
    assert {r.state for r in rows(store)} == {"pending"}
    back = CliRunner().invoke(cli, ["--state", state_url, "bundle", "import", str(receipts), "--json"])
    assert back.exit_code == 0, back.output
    assert len(json.loads(back.output)["marked"]) == 2
    assert {r.state for r in rows(store)} == {"sent"}
    # Uploading again is harmless: the receiver already has them, which counts as sent.
    again = CliRunner().invoke(
        cli, ["bundle", "upload", str(bundle), "--endpoint", receiver.url, "--receipts", str(receipts)]
    )
    assert again.exit_code == 0 and {r["code"] for r in json.loads(receipts.read_text())["receipts"]} == {409}
    text = (
        receipts.read_text()
        + site.output
        + up.output
        + back.output
        + (tmp_path / "out").joinpath("PS1.zip").read_bytes().decode("latin-1")
    )
    for values in CANARIES.values():
        for value in values:
            assert value not in text


def test_import_marks_only_accepted_ids_this_store_holds(tmp_path: Path, store: Store) -> None:
    first, second = rows(store)
    receipts = tmp_path / "r.json"
    receipts.write_text(
        json.dumps(
            {
                "format": "sccm-cep-receipts",
                "version": 1,
                "receipts": [
                    {"document_id": first.document_id, "status": "sent", "code": 201, "time": "x"},
                    {"document_id": second.document_id, "status": "quarantined", "code": 400, "time": "x"},
                    {
                        "document_id": "99999999-0000-5000-8000-000000000000",
                        "status": "sent",
                        "code": 201,
                        "time": "x",
                    },
                ],
            }
        )
    )
    from sccm_cep.delivery import import_receipts

    report = import_receipts(store, receipts, now=utcnow())
    assert report.marked == (first.document_id,) and report.not_accepted == (second.document_id,)
    assert len(report.unknown) == 1
    assert [r.state for r in rows(store)] == ["sent", "pending"]


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ({"change": "review.csv"}, "review.csv does not match"),
        ({"change": "manifest.json"}, "signature does not match"),
        ({"change": "manifest.sig"}, "signature"),
        ({"add": "documents/extra.json.gz"}, "added documents/extra.json.gz"),
        ({"drop": "review.csv"}, "missing review.csv"),
        ({"drop": "manifest.sig"}, "signature is missing"),
    ],
)
def test_a_tampered_bundle_is_refused(
    tmp_path: Path, store: Store, how: dict[str, str], message: str
) -> None:
    good = tmp_path / "good.zip"
    info = prepare_bundle(store, "PS1", good, now=utcnow())
    assert len(info.documents) == 2
    bad = tmp_path / "bad.zip"
    _rewrite(good, bad, **how)
    with pytest.raises(BundleError, match=message):
        read_bundle(bad)


def test_a_changed_document_byte_is_refused_by_the_cli(tmp_path: Path, store: Store) -> None:
    good = tmp_path / "good.zip"
    info = prepare_bundle(store, "PS1", good, now=utcnow())
    bad = tmp_path / "bad.zip"
    _rewrite(good, bad, change=f"documents/{info.documents[0].document_id}.json.gz")
    result = CliRunner().invoke(cli, ["bundle", "upload", str(bad), "--endpoint", "http://127.0.0.1:9"])
    assert (
        result.exit_code == 12 and "changed or damaged" in result.output and "Traceback" not in result.output
    )


def test_a_bundle_from_another_key_is_refused_when_the_fingerprint_is_given(
    tmp_path: Path, store: Store
) -> None:
    info = prepare_bundle(store, "PS1", tmp_path / "b.zip", now=utcnow())
    assert read_bundle(tmp_path / "b.zip", expect_fingerprint=info.fingerprint).documents
    with pytest.raises(BundleError, match="another install"):
        read_bundle(tmp_path / "b.zip", expect_fingerprint="sha256:" + "0" * 64)
