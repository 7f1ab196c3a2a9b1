"""Field policies: load ``policies/*.yaml``, check them against the model, digest their meaning.

A field reaches a submission only when its record type's policy names it with an action
from a closed set, a personal-data category and a purpose (default deny). The linter
refuses anything else, including an action too weak for the field's category.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sccm_cep.connector import available_connectors
from sccm_cep.errors import PolicyError
from sccm_cep.model import RECORD_TYPES, SECTIONS, Level, Record, RecordKind
from sccm_cep.platform.bounded import Unbounded, read_regular
from sccm_cep.privacy.recognized import PARAM as RECOGNIZED_ONLY
from sccm_cep.privacy.recognized import RECOGNIZED_FIELDS
from sccm_cep.privacy.vocabularies import MAPPED

E = TypeVar("E", bound=StrEnum)
#: libyaml's safe loader when PyYAML was built with it (10x faster), else the Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "Action",
    "Category",
    "FieldPolicy",
    "Policy",
    "PolicySet",
    "default_policy_dir",
    "lint",
    "load_policies",
]


class Action(StrEnum):
    KEEP = "keep"
    DROP = "drop"
    PSEUDONYMIZE = "pseudonymize"
    GENERALIZE = "generalize"
    SUPPRESS_BELOW = "suppress_below"
    SCRUB = "scrub"
    TOP_N = "top_n"


class Category(StrEnum):
    """What kind of data a field holds, as a privacy officer classifies it."""

    TECHNICAL = "technical"  # product, version, hardware, counts: about machines, not people
    QUASI_IDENTIFIER = "quasi_identifier"  # GUIDs, serials, object ids: single out a thing
    ORGANIZATION = "organization"  # site codes, server names: identify the customer
    FREE_TEXT = "free_text"  # typed by people: may hold anything
    PERSONAL = "personal"  # names, accounts, addresses: about a person


#: The actions each category allows; anything else fails the lint (fail closed).
ALLOWED: dict[Category, frozenset[Action]] = {
    Category.TECHNICAL: frozenset(Action),
    Category.QUASI_IDENTIFIER: frozenset({Action.DROP, Action.PSEUDONYMIZE}),
    Category.ORGANIZATION: frozenset({Action.DROP, Action.PSEUDONYMIZE}),
    Category.FREE_TEXT: frozenset(
        {Action.DROP, Action.PSEUDONYMIZE, Action.SCRUB, Action.SUPPRESS_BELOW, Action.TOP_N}
    ),
    Category.PERSONAL: frozenset({Action.DROP, Action.PSEUDONYMIZE}),
}

GENERALIZE_SCHEMES = frozenset({"bands", "major_minor", "year", "quarter", "round", "age_years"})

#: Parameters each action takes, with their types; nothing else is accepted.
PARAMS: dict[Action, dict[str, type | tuple[type, ...]]] = {
    Action.KEEP: {},
    Action.DROP: {},
    # stable: a device pseudonym that stays the same across periods (else new every period).
    Action.PSEUDONYMIZE: {"namespace": str, "stable": bool},
    Action.GENERALIZE: {"scheme": str, "edges": list, "step": (int, float)},
    Action.SUPPRESS_BELOW: {"k": int, RECOGNIZED_ONLY: bool},
    Action.SCRUB: {"max_length": int},
    Action.TOP_N: {"n": int, RECOGNIZED_ONLY: bool},
}
REQUIRED: dict[Action, tuple[str, ...]] = {
    Action.PSEUDONYMIZE: ("namespace",),
    Action.GENERALIZE: ("scheme",),
    Action.SUPPRESS_BELOW: ("k",),
    Action.TOP_N: ("n",),
}


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """What happens to one field, and why."""

    name: str
    action: Action
    category: Category
    purpose: str
    level: Level = Level.BASIC
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def applies_at(self, level: Level) -> bool:
        return self.action is not Action.DROP and level.includes(self.level)

    def canonical(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "category": self.category.value,
            "purpose": " ".join(self.purpose.split()),
            "level": self.level.value,
            "params": {k: self.params[k] for k in sorted(self.params)},
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy of one record type: one entry per field."""

    record: str
    fields: Mapping[str, FieldPolicy]
    source: str = ""

    def field(self, name: str) -> FieldPolicy:
        return self.fields[name]

    def sent_fields(self, level: Level) -> tuple[str, ...]:
        """Fields that reach a submission at ``level``, in policy order."""
        return tuple(n for n, fp in self.fields.items() if fp.applies_at(level))


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Every record type's policy, and the digest of their meaning."""

    policies: Mapping[str, Policy]
    digest: str
    #: Section -> connector names in order of preference, for sites read from several sources.
    source_preference: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def __getitem__(self, record: str) -> Policy:
        return self.policies[record]

    def get(self, record: str) -> Policy | None:
        return self.policies.get(record)


def default_policy_dir() -> Path:
    """The reviewed policies shipped with the project: inside the wheel, or the checkout's."""
    package = Path(__file__).resolve().parent.parent  # sccm_cep/
    installed, checkout = package / "policies", package.parent / "policies"
    if installed.is_dir():
        return installed
    # Only a source checkout has pyproject.toml beside it; in site-packages a folder named
    # "policies" next to the package could belong to anything.
    if checkout.is_dir() and (package.parent / "pyproject.toml").is_file():
        return checkout
    raise PolicyError(
        "no policies folder found next to the installed package",
        hint="pass --policies DIR pointing at the policies/*.yaml files",
    )


def load_policies(directory: Path | None = None) -> PolicySet:
    """Read and lint every ``*.yaml`` in ``directory``; raise PolicyError on any problem."""
    directory = directory or default_policy_dir()
    if not directory.is_dir():
        raise PolicyError(
            f"policy folder {directory} does not exist", hint="pass --policies DIR with the yaml files"
        )
    policies: dict[str, Policy] = {}
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise PolicyError(f"no *.yaml policy files in {directory}", hint="pass the right --policies DIR")
    preference: dict[str, tuple[str, ...]] = {}
    for path in files:
        if path.name == SOURCES_FILE:
            try:
                preference = _parse_sources(path)
            except PolicyError as exc:
                problems.extend(exc.problems or (exc.message,))
            continue
        try:
            policy = _parse_file(path)
        except PolicyError as exc:
            problems.extend(exc.problems or (exc.message,))
            continue
        if policy.record in policies:
            problems.append(f"{path.name}: record '{policy.record}' already has a policy file")
            continue
        policies[policy.record] = policy
    problems.extend(lint(policies.values()))
    if problems:
        raise PolicyError(
            f"{len(problems)} problem(s) in the policies under {directory}: {problems[0]}",
            hint="run 'sccm-cep policy lint' to see them all, then fix the files",
            problems=tuple(problems),
        )
    return PolicySet(
        policies=policies, digest=digest(policies.values(), preference), source_preference=preference
    )


def digest(policies: Iterable[Policy], preference: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """sha256 of the policies' meaning: comments, key order and layout do not count."""
    body: dict[str, Any] = {
        p.record: {n: fp.canonical() for n, fp in sorted(p.fields.items())} for p in policies
    }
    if preference:
        # Which source fills a section is part of what was approved, too.
        body["(sources)"] = {s: list(v) for s, v in sorted(preference.items())}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def lint(policies: Iterable[Policy]) -> list[str]:
    """Problems of a set of policies against the model: missing, unknown or too weak entries."""
    problems: list[str] = []
    by_record = {p.record: p for p in policies}
    known = {rt.NAME: rt for rt in RECORD_TYPES}
    for name in sorted(by_record):
        if name not in known:
            problems.append(f"{by_record[name].source}: record '{name}' is not in the model")
    for rt in RECORD_TYPES:
        policy = by_record.get(rt.NAME)
        if policy is None:
            problems.append(f"record '{rt.NAME}' has no policy file (add policies/{rt.NAME}.yaml)")
            continue
        problems.extend(_lint_record(rt, policy))
    return problems


def _lint_record(rt: type[Record], policy: Policy) -> list[str]:
    where = policy.source or rt.NAME
    model_fields = [f.name for f in dataclasses.fields(rt)]
    problems = [
        f"{where}: field '{n}' is not in the model's '{rt.NAME}' record"
        for n in policy.fields
        if n not in model_fields
    ]
    problems += [
        f"{where}: model field '{n}' has no entry (every field needs one, even to drop it)"
        for n in model_fields
        if n not in policy.fields
    ]
    for fp in policy.fields.values():
        if fp.action not in ALLOWED[fp.category]:
            allowed = ", ".join(sorted(a.value for a in ALLOWED[fp.category]))
            problems.append(
                f"{where}: field '{fp.name}' is {fp.category.value} and may only be {allowed},"
                f" not {fp.action.value}"
            )
        if fp.action in (Action.SUPPRESS_BELOW, Action.TOP_N) and rt.KIND is RecordKind.OBJECT:
            problems.append(
                f"{where}: field '{fp.name}': {fp.action.value} counts devices and '{rt.NAME}'"
                " rows are site objects, not devices"
            )
        if rt.LEVEL is Level.ENHANCED and fp.level is Level.BASIC and fp.action is not Action.DROP:
            problems.append(
                f"{where}: field '{fp.name}' is in an enhanced-only record; level must be enhanced"
            )
        if "stable" in fp.params and rt.KIND is not RecordKind.DEVICE:
            problems.append(
                f"{where}: field '{fp.name}': 'stable' applies to device pseudonyms only (the"
                " others never change with the period)"
            )
    problems += _lint_vocabularies(rt, policy, where)
    problems += _lint_recognized(rt, policy, where)
    if rt.WEIGHT is not None:
        weight = policy.fields.get(rt.WEIGHT)
        if weight is not None and (weight.action is not Action.KEEP or weight.level is not Level.BASIC):
            problems.append(f"{where}: count field '{rt.WEIGHT}' must be kept at level basic")
    return problems


#: Actions that never send a vocabulary-bound field's value as it is.
_OPAQUE = frozenset({Action.DROP, Action.PSEUDONYMIZE})


def _lint_vocabularies(rt: type[Record], policy: Policy, where: str) -> list[str]:
    """A field the model binds to a vocabulary may be sent only when the export maps it."""
    problems: list[str] = []
    for f in dataclasses.fields(rt):
        vocab = f.metadata.get("vocabulary")
        fp = policy.fields.get(f.name)
        if not vocab or fp is None or fp.action in _OPAQUE:
            continue
        if MAPPED.get((rt.NAME, f.name)) != vocab:
            problems.append(
                f"{where}: field '{f.name}' must come from the '{vocab}' vocabulary, and the export"
                f" does not map it: {fp.action.value} would send raw values (drop it, or map it in"
                " sccm_cep/privacy/vocabularies.py)"
            )
    return problems


def _lint_recognized(rt: type[Record], policy: Policy, where: str) -> list[str]:
    """A product or publisher name is counted (so only recognized names leave) or not sent at all;
    ``recognized_only`` is a parameter of those fields only."""
    problems: list[str] = []
    for fp in policy.fields.values():
        bound = (rt.NAME, fp.name) in RECOGNIZED_FIELDS
        if RECOGNIZED_ONLY in fp.params and not bound:
            names = ", ".join(f"{r}.{f}" for r, f in RECOGNIZED_FIELDS)
            problems.append(f"{where}: field '{fp.name}': {RECOGNIZED_ONLY} applies only to {names}")
        elif bound and fp.action not in (Action.SUPPRESS_BELOW, Action.TOP_N, *_OPAQUE):
            problems.append(
                f"{where}: field '{fp.name}' names software: {fp.action.value} would send names"
                " nobody recognized (use suppress_below or top_n, which send only recognized ones)"
            )
    return problems


SOURCES_FILE = "sources.yaml"


def _parse_sources(path: Path) -> dict[str, tuple[str, ...]]:
    """``sources.yaml``: for each section, the connectors to take it from, best first."""
    try:
        doc = read_yaml(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path.name}: cannot be read as YAML") from exc
    table = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(table, dict):
        raise PolicyError(f"{path.name}: must map 'sources' to section: [connector, ...]")
    problems = [f"{path.name}: '{s}' is not a section" for s in table if s not in SECTIONS]
    out: dict[str, tuple[str, ...]] = {}
    installed = set(available_connectors())  # once: each call scans every package's metadata
    for section, names in table.items():
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n.replace("_", "").isalnum() for n in names)
        ):
            problems.append(f"{path.name}: section '{section}' needs a list of connector names")
            continue
        unknown = sorted(set(names) - installed)
        if unknown:
            problems.append(f"{path.name}: section '{section}' names no installed connector '{unknown[0]}'")
            continue
        out[str(section)] = tuple(names)
    if problems:
        raise PolicyError(problems[0], problems=tuple(problems))
    return out


#: A policy file is at most this large; no real one comes near it.
MAX_POLICY_BYTES = 256 * 1024


def read_yaml(path: Path) -> Any:
    """A policy file's YAML, read as untrusted input: a regular file (not a device, pipe or a
    symlink to one), at most ``MAX_POLICY_BYTES``, and without anchors or aliases (a 1.5 KB
    alias bomb expands to gigabytes). PolicyError names the file; OSError and YAMLError pass."""
    try:
        data = read_regular(path, max_bytes=MAX_POLICY_BYTES)
    except Unbounded as exc:
        if exc.what.startswith("over"):
            raise PolicyError(
                f"{path.name}: is over {MAX_POLICY_BYTES // 1024} KB",
                hint="a policy file is a few KB of YAML",
            ) from exc
        raise PolicyError(f"{path.name}: is {exc.what}", hint="policies are plain *.yaml files") from exc
    text = data.decode("utf-8")
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise PolicyError(
                f"{path.name}: uses YAML anchors or aliases", hint="write each entry out in full"
            )
    return yaml.load(text, Loader=_LOADER)


def _parse_file(path: Path) -> Policy:
    try:
        doc = read_yaml(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path.name}: cannot be read ({exc.__class__.__name__})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{path.name}: is not valid YAML{line}") from exc
    if not isinstance(doc, dict):
        raise PolicyError(f"{path.name}: must be a mapping with 'record' and 'fields'")
    record = doc.get("record")
    fields = doc.get("fields")
    unknown_keys = sorted(set(doc) - {"record", "fields", "description"})
    problems = [f"{path.name}: unknown key '{k}'" for k in unknown_keys]
    if not isinstance(record, str) or not record:
        problems.append(f"{path.name}: 'record' must name a record type")
    if not isinstance(fields, dict) or not fields:
        problems.append(f"{path.name}: 'fields' must map field names to entries")
    if problems:
        raise PolicyError(problems[0], problems=tuple(problems))
    assert isinstance(record, str) and isinstance(fields, dict)
    parsed: dict[str, FieldPolicy] = {}
    for name, entry in fields.items():
        try:
            parsed[str(name)] = _parse_field(path.name, str(name), entry)
        except PolicyError as exc:
            problems.extend(exc.problems or (exc.message,))
    if problems:
        raise PolicyError(problems[0], problems=tuple(problems))
    return Policy(record=record, fields=parsed, source=path.name)


def _parse_field(file: str, name: str, entry: object) -> FieldPolicy:
    where = f"{file}: field '{name}'"
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: must be a mapping with action, category and purpose")
    problems: list[str] = []
    action = _enum(Action, entry.get("action"), f"{where}: action", problems)
    category = _enum(Category, entry.get("category"), f"{where}: category", problems)
    level = _enum(Level, entry.get("level", "basic"), f"{where}: level", problems)
    purpose = entry.get("purpose")
    if not isinstance(purpose, str) or not purpose.strip():
        problems.append(f"{where}: has no purpose (say why the vendor needs it)")
    params = {k: v for k, v in entry.items() if k not in {"action", "category", "level", "purpose"}}
    if action is not None:
        allowed = PARAMS[action]
        for key, value in params.items():
            if key not in allowed:
                problems.append(f"{where}: '{key}' is not a parameter of {action.value}")
            elif not isinstance(value, allowed[key]) or (
                isinstance(value, bool) and allowed[key] is not bool
            ):
                problems.append(f"{where}: '{key}' has the wrong type")
        problems += [
            f"{where}: {action.value} needs '{key}'" for key in REQUIRED.get(action, ()) if key not in params
        ]
        problems += _check_params(where, action, params)
    if problems or action is None or category is None or level is None:
        raise PolicyError(problems[0], problems=tuple(problems))
    assert isinstance(purpose, str)
    return FieldPolicy(name, action, category, purpose.strip(), level, params)


#: The longest free text a scrub action may keep (the contract's row string bound).
MAX_SCRUB_LENGTH = 256


def _check_params(where: str, action: Action, params: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if action is Action.SUPPRESS_BELOW and isinstance(params.get("k"), int) and params["k"] < 2:
        problems.append(f"{where}: k must be at least 2")
    if action is Action.TOP_N and isinstance(params.get("n"), int) and params["n"] < 1:
        problems.append(f"{where}: n must be at least 1")
    if action is Action.GENERALIZE:
        scheme = params.get("scheme")
        if scheme not in GENERALIZE_SCHEMES:
            problems.append(f"{where}: scheme must be one of {', '.join(sorted(GENERALIZE_SCHEMES))}")
        edges = params.get("edges")
        if scheme == "bands" and (not isinstance(edges, list) or not edges):
            problems.append(f"{where}: bands needs a non-empty 'edges' list")
        elif edges is not None and (
            not isinstance(edges, list)
            or not edges
            or not all(
                isinstance(e, int | float) and not isinstance(e, bool) and math.isfinite(e) for e in edges
            )
            or sorted(edges) != edges
            or len(set(edges)) != len(edges)
        ):
            problems.append(f"{where}: edges must be increasing finite numbers")
        step = params.get("step")
        if scheme == "round" and not (isinstance(step, int | float) and math.isfinite(step) and step > 0):
            problems.append(f"{where}: round needs a positive 'step'")
    if action is Action.SCRUB and "max_length" in params:
        length = params["max_length"]
        if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= MAX_SCRUB_LENGTH:
            problems.append(f"{where}: max_length must be a whole number from 1 to {MAX_SCRUB_LENGTH}")
    if action is Action.PSEUDONYMIZE:
        ns = params.get("namespace")
        if isinstance(ns, str) and not ns.replace("_", "").isalnum():
            problems.append(f"{where}: namespace must be letters, digits and _")
    return problems


def _enum(kind: type[E], value: object, where: str, problems: list[str]) -> E | None:
    try:
        return kind(str(value))
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        problems.append(f"{where} '{value}' is not one of {choices}")
        return None
