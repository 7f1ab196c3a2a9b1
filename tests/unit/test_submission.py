"""Submission documents: the committed schema is current, output is canonical, writes are atomic."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import pytest

from sccm_cep import model as m
from sccm_cep.contract.submission import load_schema
from sccm_cep.errors import SubmissionError
from sccm_cep.export.schema import build_schema
from sccm_cep.export.write import write_submission
from sccm_cep.model import Level
from sccm_cep.privacy.anonymize import AnonymizedPart, Anonymizer, SiteSecret
from sccm_cep.privacy.policy import load_policies

SECRET = SiteSecret(b"k" * 32, site="PS1")


def _doc(level: Level = Level.BASIC, software: list[m.Record] | None = None):  # type: ignore[no-untyped-def]
    anon = Anonymizer(load_policies(), SECRET, level, reference=date(2026, 12, 31))
    sections = {}
    for section, types_ in m.SECTIONS.items():
        if not level.includes(types_[0].LEVEL):
            continue
        sections[section] = {}
        for rt in types_:
            if rt is m.Software:
                sections[section][rt.NAME] = anon.part(rt, lambda: software or [])
            else:
                sections[section][rt.NAME] = AnonymizedPart(rt.NAME, rt.KIND, ())
    return anon.finish(
        site=anon.site_pseudonym("PS1"), period="2026-Q4", sections=sections, sources={"software": "sccm_sql"}
    )


def test_committed_schema_matches_the_model() -> None:
    assert load_schema() == build_schema(), "run: python -m sccm_cep.export.schema to regenerate"


def test_written_document_validates_and_is_canonical(tmp_path: Path) -> None:
    rows = [m.Software(publisher="Mozilla", product="Firefox", version="121.0", installations=9)]
    written = write_submission(_doc(software=rows), tmp_path)
    text = written.path.read_text(encoding="utf-8")
    doc = json.loads(text)
    jsonschema.validate(doc, load_schema())
    assert text == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # At level basic counts are rounded to a multiple of 5 (no small cells): 9 is sent as 10.
    assert doc["software"]["software"] == [
        {"installations": 10, "product": "Firefox", "publisher": "Mozilla", "version": "121.0"}
    ]
    assert not list(tmp_path.glob(".*")), "no spool or partial file is left behind"


def test_same_content_gives_same_ids_at_another_time(tmp_path: Path) -> None:
    rows = [m.Software(publisher="Mozilla", product="Firefox", version="121.0", installations=9)]
    a = write_submission(_doc(software=rows), tmp_path / "a", now=datetime(2026, 11, 1, tzinfo=UTC))
    b = write_submission(_doc(software=rows), tmp_path / "b", now=datetime(2026, 12, 1, tzinfo=UTC))
    assert (a.document_id, a.content_digest) == (b.document_id, b.content_digest)
    assert a.path.read_bytes() != b.path.read_bytes()  # generated_at differs, content does not


def test_only_anonymized_documents_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_submission({"software": []}, tmp_path)  # type: ignore[arg-type]


def test_a_row_failing_the_schema_writes_nothing(tmp_path: Path) -> None:
    bad = [m.Software(publisher="Mozilla", product="Firefox", version="1", installations=-1)]
    # Level enhanced: at basic a count below k never reaches the writer (no small cells).
    with pytest.raises(SubmissionError) as info:
        write_submission(_doc(Level.ENHANCED, software=bad), tmp_path)
    assert "Firefox" not in info.value.message
    assert list(tmp_path.iterdir()) == []
