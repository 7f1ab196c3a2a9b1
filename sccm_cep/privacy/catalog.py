"""The field catalog: every field a submission can hold, from the model, the policies and the sources.

One row per field: section, record, description (``model.py``), where each connector reads it
(the ``sccm_cep.sources`` entry points), and the policy's category, action, parameters, purpose
and level. ``docs/fields.md`` is generated from here, never written by hand.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from sccm_cep import model as m
from sccm_cep.connector import Unavailable
from sccm_cep.errors import PolicyError
from sccm_cep.privacy.policy import Action, FieldPolicy, PolicySet, load_policies
from sccm_cep.privacy.recognized import PARAM as RECOGNIZED_ONLY
from sccm_cep.privacy.recognized import requires_recognition

__all__ = [
    "ENVELOPE",
    "FEEDBACK",
    "SOURCES_GROUP",
    "CatalogRow",
    "build_catalog",
    "compare",
    "filter_level",
    "load_baseline",
    "load_sources",
    "render_csv",
    "render_json",
    "render_markdown",
    "site_availability",
]

SOURCES_GROUP = "sccm_cep.sources"
log = logging.getLogger("sccm_cep.privacy.catalog")

Sources = Mapping[str, Mapping[str, Mapping[str, str]]]


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One field of the catalog; ``change`` is new / changed / removed against a baseline."""

    section: str
    record: str
    field: str
    description: str
    sources: Mapping[str, str]
    category: str
    action: str
    params: Mapping[str, Any]
    purpose: str
    level: str
    change: str | None = None
    was: str | None = None

    @property
    def key(self) -> str:
        return f"{self.record}.{self.field}"

    def treatment(self) -> str:
        """The action with its parameters, e.g. ``suppress_below k=5``."""
        params = " ".join(f"{k}={_param(v)}" for k, v in sorted(self.params.items()))
        return f"{self.action} {params}".strip()

    def canonical(self) -> dict[str, Any]:
        """What a policy change compares: the same normalization as the policy digest."""
        return {
            "action": self.action,
            "category": self.category,
            "purpose": " ".join(self.purpose.split()),
            "level": self.level,
            "params": {k: self.params[k] for k in sorted(self.params)},
        }

    def as_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["sources"] = dict(self.sources)
        out["params"] = dict(self.params)
        return out


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


@dataclass(frozen=True, slots=True)
class _Fixed:
    description: str
    category: str
    action: str
    purpose: str
    source: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


#: The document's own fields (written by sccm-cep, not read from a site), at every level.
ENVELOPE: dict[str, _Fixed] = {
    "schema": _Fixed(
        "Schema URN of the document.", "technical", "keep", "Lets the receiver parse it.", "sccm-cep"
    ),
    "schema_version": _Fixed(
        "Schema version, e.g. 1.0.", "technical", "keep", "Lets the receiver parse it.", "sccm-cep"
    ),
    "kind": _Fixed(
        "Always 'submission'.", "technical", "keep", "Tells submissions from deletion requests.", "sccm-cep"
    ),
    "document_id": _Fixed(
        "UUIDv5 of site pseudonym, period and revision.",
        "quasi_identifier",
        "pseudonymize",
        "Lets the receiver drop duplicates; derived from the site pseudonym, never from the site code.",
        "sccm-cep (from site pseudonym, period, revision)",
        {"namespace": "site"},
    ),
    "site": _Fixed(
        "Keyed pseudonym of the site code.",
        "organization",
        "pseudonymize",
        "Links a site's submissions over time; the key never leaves the site.",
        "site code (registration)",
        {"namespace": "site"},
    ),
    "period": _Fixed(
        "Period covered, e.g. 2026-Q4.",
        "technical",
        "keep",
        "Which quarter the figures describe.",
        "sccm-cep",
    ),
    "level": _Fixed(
        "basic or enhanced.", "technical", "keep", "What the site agreed to share.", "enrollment"
    ),
    "generated_at": _Fixed(
        "When the document was written (UTC).", "technical", "keep", "Orders revisions.", "sccm-cep clock"
    ),
    "tool_version": _Fixed("sccm-cep version.", "technical", "keep", "Finds collector bugs.", "sccm-cep"),
    "policy_digest": _Fixed(
        "sha256 of the policies' meaning.",
        "technical",
        "keep",
        "Proves which reviewed policy produced it.",
        "policies/",
    ),
    "content_digest": _Fixed(
        "sha256 of the sections' canonical JSON.",
        "technical",
        "keep",
        "Detects a damaged document.",
        "sccm-cep",
    ),
    "sources": _Fixed(
        "Connector each section came from.", "technical", "keep", "Explains source differences.", "sccm-cep"
    ),
    "revision": _Fixed(
        "0, or n for a forced re-take.", "technical", "keep", "Tells re-takes apart.", "sccm-cep"
    ),
    "supersedes": _Fixed(
        "document_id a re-take replaces.",
        "quasi_identifier",
        "pseudonymize",
        "Tells the receiver which one is current.",
        "sccm-cep",
        {"namespace": "site"},
    ),
    "contributor": _Fixed(
        "Pseudonym of the collector installation: the same for all its sites and key versions.",
        "quasi_identifier",
        "pseudonymize",
        "The receiver counts k over contributors, so one customer's sites count once.",
        "the contributor secret (made at the first join, or set with join --contributor)",
        {"namespace": "contributor"},
    ),
    "unavailable": _Fixed(
        "Fields this site could not give: record, field, a reason code and the view, column, class"
        " or property its source lacks.",
        "technical",
        "keep",
        "Tells an absent field from a missing value, so the receiver does not count it as zero.",
        "sccm-cep (each connector's own report; schema names only, never a site value)",
    ),
}

#: The optional 'would you recommend' answer; present only when the admin gave one.
FEEDBACK: dict[str, _Fixed] = {
    "score": _Fixed(
        "0-10 answer to 'would you recommend us?'.",
        "technical",
        "keep",
        "Product satisfaction.",
        "sccm-cep feedback",
    ),
    "comment": _Fixed(
        "Optional comment with the score, as the admin confirmed its scrubbed text.",
        "free_text",
        "scrub",
        "Why the admin gave that score.",
        "sccm-cep feedback",
        {"max_length": 256},
    ),
}


def load_sources() -> dict[str, dict[str, dict[str, str]]]:
    """Connector name → record → field → declared source, from the ``sccm_cep.sources`` entry points."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for ep in sorted(entry_points(group=SOURCES_GROUP), key=lambda e: e.name):
        try:
            declared = ep.load()
        except (ImportError, AttributeError) as exc:
            log.warning("source map %s could not be loaded (%s)", ep.name, exc.__class__.__name__)
            continue
        out[ep.name] = {str(r): {str(f): str(s) for f, s in fields.items()} for r, fields in declared.items()}
    return out


def build_catalog(policies: PolicySet, sources: Sources | None = None) -> list[CatalogRow]:
    """Every field in document order: envelope, the model's sections, then feedback."""
    sources = load_sources() if sources is None else sources
    rows = [_fixed_row("envelope", "document", name, fx) for name, fx in ENVELOPE.items()]
    for section, types_ in m.SECTIONS.items():
        for rt in types_:
            policy = policies[rt.NAME]
            for name, description in m.field_descriptions(rt).items():
                fp = policy.field(name)
                found = {c: s[rt.NAME][name] for c, s in sources.items() if name in s.get(rt.NAME, {})}
                rows.append(_policy_row(section, rt.NAME, name, description, found, fp))
    rows += [_fixed_row("feedback", "feedback", name, fx) for name, fx in FEEDBACK.items()]
    return rows


def _policy_row(
    section: str, record: str, name: str, description: str, sources: Mapping[str, str], fp: FieldPolicy
) -> CatalogRow:
    return CatalogRow(
        section=section,
        record=record,
        field=name,
        description=description,
        sources=dict(sources),
        category=fp.category.value,
        action=fp.action.value,
        params=_effective_params(record, fp),
        purpose=fp.purpose,
        level=fp.level.value,
    )


def _effective_params(record: str, fp: FieldPolicy) -> dict[str, Any]:
    """The policy's parameters, plus the defaults a reviewer must see: a software name is sent
    only when recognized (``recognized_only: true``) unless the policy says otherwise."""
    params = dict(fp.params)
    if fp.action in (Action.SUPPRESS_BELOW, Action.TOP_N) and requires_recognition(record, fp.name, params):
        params[RECOGNIZED_ONLY] = True
    if fp.action is Action.PSEUDONYMIZE and record == m.Device.NAME:
        params.setdefault("stable", False)  # a device pseudonym is new every period unless asked
    return params


def _fixed_row(section: str, record: str, name: str, fx: _Fixed) -> CatalogRow:
    return CatalogRow(
        section=section,
        record=record,
        field=name,
        description=fx.description,
        sources={"sccm-cep": fx.source},
        category=fx.category,
        action=fx.action,
        params=dict(fx.params),
        purpose=fx.purpose,
        level=m.Level.BASIC.value,
    )


def filter_level(rows: Iterable[CatalogRow], level: m.Level) -> list[CatalogRow]:
    """Rows that reach a submission at ``level`` (dropped fields and higher levels left out)."""
    return [
        r for r in rows if r.change == "removed" or (r.action != "drop" and level.includes(m.Level(r.level)))
    ]


# -- changes between policy versions ------------------------------------------------------------


def load_baseline(against: str, sources: Sources | None = None) -> list[CatalogRow]:
    """The catalog to compare with: a policies folder, or a JSON catalog (``fields --format json``).

    A digest (``sha256:…``) names the snapshot ``policy approve`` saved for it.
    """
    from sccm_cep.privacy.approval import snapshot_path  # the approval module imports this one

    path = snapshot_path(against) if against.startswith("sha256:") else Path(against)
    if path.is_dir():
        return build_catalog(load_policies(path), sources)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(
            f"no policies folder or catalog file at {path}",
            hint="give --against a policies folder, a 'fields --format json' file or an approved digest",
        ) from exc
    except (OSError, ValueError) as exc:
        raise PolicyError(
            f"{path} is not a catalog file", hint="make one with 'sccm-cep fields --format json > FILE'"
        ) from exc
    items = data.get("fields") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise PolicyError(
            f"{path} is not a catalog file", hint="make one with 'sccm-cep fields --format json'"
        )
    names = {f.name for f in dataclasses.fields(CatalogRow)}
    return [
        CatalogRow(**{k: v for k, v in item.items() if k in names and k not in ("change", "was")})
        for item in items
    ]


def compare(current: Sequence[CatalogRow], baseline: Sequence[CatalogRow]) -> list[CatalogRow]:
    """``current`` with each row marked new or changed against ``baseline``, plus removed rows."""
    before = {r.key: r for r in baseline}
    now = {r.key for r in current}
    out: list[CatalogRow] = []
    for row in current:
        old = before.get(row.key)
        if old is None:
            out.append(dataclasses.replace(row, change="new"))
        elif old.canonical() != row.canonical():
            out.append(dataclasses.replace(row, change="changed", was=_what_changed(old, row)))
        else:
            out.append(row)
    out += [dataclasses.replace(r, change="removed") for r in baseline if r.key not in now]
    return out


def _what_changed(old: CatalogRow, new: CatalogRow) -> str:
    parts = []
    if old.treatment() != new.treatment():
        parts.append(f"was {old.treatment()}")
    for name in ("category", "level"):
        if getattr(old, name) != getattr(new, name):
            parts.append(f"{name} was {getattr(old, name)}")
    if " ".join(old.purpose.split()) != " ".join(new.purpose.split()):
        parts.append("purpose reworded")
    return "; ".join(parts)


# -- renderings ---------------------------------------------------------------------------------


def connectors_of(rows: Iterable[CatalogRow]) -> list[str]:
    """The connector names with a declared source in ``rows`` (sccm-cep's own last)."""
    names = {c for r in rows for c in r.sources}
    return sorted(names - {"sccm-cep"}) + (["sccm-cep"] if "sccm-cep" in names else [])


def render_json(rows: Sequence[CatalogRow], digest: str) -> str:
    """A catalog file ``--against`` can read back."""
    body = {"policy_digest": digest, "fields": [r.as_json() for r in rows]}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_csv(rows: Sequence[CatalogRow]) -> str:
    connectors = connectors_of(rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["section", "record", "field", "description", *(f"source:{c}" for c in connectors)]
    writer.writerow([*head, "category", "action", "parameters", "purpose", "level", "change"])
    for r in rows:
        writer.writerow(
            [
                r.section,
                r.record,
                r.field,
                r.description,
                *(r.sources.get(c, "") for c in connectors),
                r.category,
                r.action,
                r.treatment().removeprefix(r.action).strip(),
                r.purpose,
                r.level,
                " ".join(x for x in (r.change or "", r.was or "") if x),
            ]
        )
    return buf.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: Sequence[CatalogRow], digest: str) -> str:
    """The catalog as Markdown, one table per section (``docs/fields.md``)."""
    connectors = [c for c in connectors_of(rows) if c != "sccm-cep"]
    lines = [
        "# Field catalog",
        "",
        "<!-- Generated by `sccm-cep fields --format markdown > docs/fields.md`; do not edit. -->",
        "",
        "Every field a submission can contain, where it is read from, what is done to it and why.",
        "A field whose action is `drop` is never sent (and, for site data, never read). Level `enhanced`",
        "fields are sent only by sites that chose that level. `recognized_only=true`: a software name",
        "is sent only when a shipped catalog of public software recognizes it, any other as",
        "`unrecognized` with its count (see docs/privacy.md, Recognized software). `stable=false`: the",
        "device pseudonym is new every period (`stable=true` keeps one; docs/privacy.md, Enhanced level).",
        "",
        f"Policy digest: `{digest}`",
        "",
    ]
    by_section: dict[str, list[CatalogRow]] = {}
    for r in rows:
        by_section.setdefault(r.section, []).append(r)
    for section, items in by_section.items():
        lines += [f"## {section}", ""]
        head = ["record", "field", "description", *(f"source ({c})" for c in connectors)]
        if section in ("envelope", "feedback"):
            head = ["record", "field", "description", "source"]
        head += ["category", "action", "purpose", "level"]
        if any(r.change for r in items):
            head.append("change")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + " --- |" * len(head))
        for r in items:
            if section in ("envelope", "feedback"):
                src = [r.sources.get("sccm-cep", "")]
            else:
                src = [r.sources.get(c, "—") for c in connectors]
            cells = [
                r.record,
                f"`{r.field}`",
                r.description,
                *src,
                r.category,
                f"`{r.treatment()}`",
                r.purpose,
                r.level,
            ]
            if "change" in head:
                cells.append(" ".join(x for x in (r.change or "", r.was or "") if x))
            lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


# -- one site's view ----------------------------------------------------------------------------


def site_availability(
    rows: Iterable[CatalogRow], unavailable: Mapping[str, Sequence[Unavailable]]
) -> dict[str, str]:
    """For each catalog row ("record.field"): "yes" when the site's sources can give it, else why
    not, per source ("sccm_sql: column v_X.Y is missing"). ``unavailable`` is each source's own
    word (``Connector.unavailable``) for the same site; fields no source reads (the envelope) are
    "yes" when nothing names them."""
    said: dict[str, list[str]] = {}
    for source, entries in sorted(unavailable.items()):
        for u in entries:
            said.setdefault(f"{u.record}.{u.field}", []).append(f"{source}: {u.text()}")
    return {r.key: "; ".join(said.get(r.key, [])) or "yes" for r in rows}
