"""CEP submission documents: envelope, JSON Schema, canonical JSON, digests, atomic writes.

A document is written in canonical JSON (sorted keys, no spaces, UTF-8) so the same site
gives the same bytes for its content and so the same ``content_digest``. Every row is
validated against the published schema before the file appears under its final name (rows
by the checks ``rowcheck`` compiles from the schema once, the envelope by the validator);
device rows are streamed through a spool file, so memory does not grow with the site.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import jsonschema

from sccm_cep import __version__
from sccm_cep.contract.rowcheck import RowCheck, Unsupported, compile_row
from sccm_cep.contract.submission import (
    SCHEMA_FILE,
    SCHEMA_ID,
    SCHEMA_VERSION,
    canonical_json,
    document_id,
    load_schema,
)
from sccm_cep.errors import OutputError, SubmissionError
from sccm_cep.platform.files import atomic_output
from sccm_cep.privacy.anonymize import AnonymizedSubmission

__all__ = [
    "RenderedSubmission",
    "WrittenSubmission",
    "render_submission",
    "write_submission",
]


@dataclass(frozen=True, slots=True)
class WrittenSubmission:
    """Where a document went and what identifies it."""

    path: Path
    document_id: str
    content_digest: str
    size: int
    rows: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class RenderedSubmission:
    """The canonical bytes of a document went to a stream; what identifies them."""

    document_id: str
    content_digest: str
    size: int
    rows: Mapping[str, int]


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@lru_cache(maxsize=32)
def _row_validator(record: str) -> jsonschema.protocols.Validator:
    schema = load_schema()
    row = dict(schema["$defs"][record])
    cls = jsonschema.validators.validator_for(schema)
    return cls(row)


@lru_cache(maxsize=32)
def _row_check(record: str) -> RowCheck | None:
    """The schema's row definition compiled to checks by type (None: it needs the validator)."""
    try:
        return compile_row(record, load_schema()["$defs"][record])
    except Unsupported:
        return None


def _check_row(record: str, row: Any) -> None:
    """A row passes the compiled check, or the full validator says why not (and if it does not
    find a reason, the row is refused all the same: the two disagree, so nothing is trusted)."""
    fast = _row_check(record)
    if fast is not None and fast.ok(row):
        return
    _check(_row_validator(record), row, f"a '{record}' row")
    if fast is not None:
        raise SubmissionError(
            f"a '{record}' row fails the compiled row check of {SCHEMA_FILE}",
            hint="this is a bug in sccm-cep; nothing was written; please report it",
        )


def _check(validator: jsonschema.protocols.Validator, instance: Any, what: str) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        # The message names the place and the rule, never the offending value.
        raise SubmissionError(
            f"{what} does not validate against {SCHEMA_FILE} at {where}: {error.validator} rule",
            hint="this is a bug in sccm-cep; nothing was written; please report it",
        )


# -- writing --------------------------------------------------------------------------------


def write_submission(
    doc: AnonymizedSubmission, out_dir: Path, *, now: datetime | None = None
) -> WrittenSubmission:
    """Validate and write ``doc`` atomically to ``out_dir``; return where it went."""
    if not isinstance(doc, AnonymizedSubmission):
        raise TypeError("write_submission accepts only an AnonymizedSubmission")
    doc_id = document_id(doc.site, doc.period, revision=doc.revision)
    final = out_dir / f"sccm-cep-{doc.period.replace('/', '_')}-{doc_id}.json"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_output(final) as out:
            done = render_submission(doc, out, now=now, spool_dir=out_dir)
    except OSError as exc:
        raise OutputError(
            f"cannot write the submission to {out_dir}: {exc.strerror or exc.__class__.__name__}",
            hint="check the folder exists, is writable and has free space",
        ) from exc
    return WrittenSubmission(final, done.document_id, done.content_digest, done.size, done.rows)


def render_submission(
    doc: AnonymizedSubmission, out: IO[bytes], *, now: datetime | None = None, spool_dir: Path | None = None
) -> RenderedSubmission:
    """Validate ``doc`` and write its canonical bytes to ``out``, a stream (the caller owns it).

    Sections go through a spool file first (in ``spool_dir``), since the envelope, which sorts
    among them, carries their digest. A failed validation raises before ``out`` gets a byte.
    """
    if not isinstance(doc, AnonymizedSubmission):
        raise TypeError("render_submission accepts only an AnonymizedSubmission")
    with tempfile.TemporaryFile(dir=spool_dir, prefix=".spool-") as spool:
        spans, content_digest, rows = _spool_sections(doc, spool)
        doc_id = document_id(doc.site, doc.period, revision=doc.revision)
        envelope = {
            "schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "kind": "submission",
            "document_id": doc_id,
            "site": doc.site,
            "period": doc.period,
            "level": doc.level.value,
            "generated_at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tool_version": __version__,
            "policy_digest": doc.policy_digest,
            "content_digest": content_digest,
            "sources": dict(doc.sources),
            "revision": doc.revision,
            # Which fields the site could not give, and why (schema names only, never a value).
            "unavailable": [u.as_json() for u in doc.unavailable],
        }
        if doc.supersedes:
            envelope["supersedes"] = doc.supersedes
        if doc.contributor:
            envelope["contributor"] = doc.contributor
        _check_skeleton(envelope, doc)
        size = _assemble(out, envelope, spool, spans)
    return RenderedSubmission(doc_id, content_digest, size, rows)


def _spool_sections(
    doc: AnonymizedSubmission, spool: IO[bytes]
) -> tuple[dict[str, tuple[int, int]], str, dict[str, int]]:
    """Write each section's canonical bytes to the spool, validating rows; hash the content."""
    digest = hashlib.sha256()
    spans: dict[str, tuple[int, int]] = {}
    rows: dict[str, int] = {}
    extra = {"feedback": doc.feedback} if doc.feedback is not None else {}
    names = sorted([*doc.sections, *extra])
    digest.update(b"{")
    for i, section in enumerate(names):
        start = spool.tell()
        head = ("," if i else "") + json.dumps(section) + ":"
        digest.update(head.encode())
        chunks = (
            [canonical_json(extra[section])]
            if section in extra
            else _section_chunks(doc.sections[section], rows)
        )
        for chunk in chunks:
            data = chunk.encode("utf-8")
            spool.write(data)
            digest.update(data)
        spans[section] = (start, spool.tell() - start)
    digest.update(b"}")
    return spans, "sha256:" + digest.hexdigest(), rows


def _section_chunks(parts: Mapping[str, Any], rows: dict[str, int]) -> Iterator[str]:
    yield "{"
    for i, record in enumerate(sorted(parts)):
        part = parts[record]
        yield ("," if i else "") + json.dumps(record) + ":["
        n = 0
        for row in part.iter_rows():
            _check_row(record, row)
            yield ("," if n else "") + canonical_json(row)
            n += 1
        rows[record] = n
        yield "]"
    yield "}"


def _check_skeleton(envelope: dict[str, Any], doc: AnonymizedSubmission) -> None:
    skeleton = dict(envelope)
    for section, parts in doc.sections.items():
        skeleton[section] = {record: [] for record in parts}
    if doc.feedback is not None:
        skeleton["feedback"] = doc.feedback
    _check(_validator(), skeleton, "the submission")


def _assemble(
    out: IO[bytes], envelope: dict[str, Any], spool: IO[bytes], spans: dict[str, tuple[int, int]]
) -> int:
    size = 0

    def put(data: bytes) -> None:
        nonlocal size
        out.write(data)
        size += len(data)

    put(b"{")
    for i, key in enumerate(sorted([*envelope, *spans])):
        put((("," if i else "") + json.dumps(key) + ":").encode())
        if key in spans:
            start, length = spans[key]
            spool.seek(start)
            while length:
                chunk = spool.read(min(length, 1 << 20))
                put(chunk)
                length -= len(chunk)
        else:
            put(canonical_json(envelope[key]).encode("utf-8"))
    put(b"}")
    return size
