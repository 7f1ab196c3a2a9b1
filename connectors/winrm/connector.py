"""Read-only connector over WinRM: the site server's SMS Provider for site objects, clients for inventory.

Scripts run remotely and print JSON, checked against the JSON Schema shipped with each script; the
site server keeps one session for all its scripts, and clients are read in parallel, each under its
own deadline. A client that fails is counted and reported, never fatal, unless every client fails.
The site scripts read the SMS Provider's namespace on the host they run on, so the session first
asks SMS_ProviderLocation where the provider is and refuses a host that is not the provider.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from sccm_cep import model as m
from sccm_cep.connector import DERIVED_INPUTS, CheckReport, CollectionRequest
from sccm_cep.errors import (
    ConfigError,
    SourceAuthError,
    SourceError,
    SourceQueryError,
    SourceUnreachable,
)
from sccm_cep.platform.bounded import Unbounded, loads_bounded
from sccm_cep.platform.config import resolve_secret

from . import mapping
from .capture import TREATMENTS, Captured, Capturer, capture
from .scripts import load_schema, load_script
from .settings import HostAddress, WinRMSettings, parse_host
from .transport import Session, SessionFactory, default_factory, output_cap

__all__ = ["WinRMConnector"]

_FAILURE_KINDS = ((SourceUnreachable, "unreachable"), (SourceAuthError, "refused the login"))


class WinRMConnector:
    """Reads one site through the SMS Provider on ``site_server`` and, for inventory, its ``clients``."""

    name = "winrm"
    #: How ``capture`` treats each property of each script's document (see capture.py).
    capture_treatments = TREATMENTS

    def __init__(
        self,
        site_server: str | None = None,
        clients: Sequence[str] = (),
        *,
        username: str | None = None,
        password: str | None = None,
        settings: WinRMSettings | None = None,
        session_factory: SessionFactory | None = None,
        **options: Any,
    ) -> None:
        """``password`` is a secret reference (env:, file:, keyring:); ``options`` override settings."""
        base = settings or WinRMSettings()
        try:
            base = replace(base, **options)
        except TypeError as exc:
            raise ConfigError("unknown WinRM option", hint="see the WinRM options in README.md") from exc
        secret = resolve_secret(password) if password is not None else base.password
        self._settings = replace(base, username=username or base.username, password=secret)
        self._server = parse_host(site_server) if site_server else None
        self._clients = tuple(parse_host(c) for c in clients)
        hosts = ((self._server,) if self._server else ()) + self._clients
        if not hosts:
            raise ConfigError("no WinRM host was given", hint="give the site server (--winrm HOST)")
        self._settings.check(hosts)
        self._factory = session_factory or default_factory
        self._server_session: Session | None = None
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._client_total = 0
        self._counts: mapping.ClientCounts | None = None
        self._request_fields: dict[str, frozenset[str]] = {}

    def __repr__(self) -> str:
        return f"WinRMConnector(site_server={self._server}, clients={len(self._clients)})"

    # -- the seam ----------------------------------------------------------------------------

    def check(self) -> CheckReport:
        sites = self._server_objects("site") if self._server else []
        top = _top(sites)
        totals = self._server_objects("site_clients") if self._server else []
        managed = totals[0].get("Managed") if totals else None
        return CheckReport(
            site_code=_text(top.get("SiteCode")),
            version=_text(top.get("Version")),
            build_number=_int(top.get("BuildNumber")),
            managed_clients=_int(managed),
            readable=tuple(sorted(self._readable())),
            notes=(f"{len(self._clients)} client(s) configured",),
        )

    def streams(self, request: CollectionRequest) -> Sequence[_WinRMStream]:
        out: list[_WinRMStream] = []
        for record, fields in request.fields.items():
            if not fields:
                continue
            if self._server and record in mapping.SITE_RECORDS:
                out.append(_WinRMStream(self, m.record_type(record), fields, "site"))
            elif self._clients and record in mapping.CLIENT_RECORDS:
                out.append(_WinRMStream(self, m.record_type(record), fields, "clients"))
        self._counts = None
        self._request_fields = dict(request.fields)
        return out

    def skipped(self, request: CollectionRequest) -> list[str]:
        """Notes on what was not collected: records this source lacks and clients that failed."""
        notes: list[str] = []
        for record, fields in request.fields.items():
            if not fields:
                continue
            if record in mapping.SITE_RECORDS:
                if not self._server:
                    notes.append(f"{record}: not collected, no site server was given for WinRM")
                    continue
                gone = sorted(f for f in fields - mapping.SITE_RECORDS[record][1] if f in _raw_fields(record))
                if gone:
                    notes.append(f"{record}: not collected over WinRM: {', '.join(gone)}")
            elif record in mapping.CLIENT_RECORDS:
                if not self._clients:
                    notes.append(f"{record}: not collected, no clients were given for WinRM")
                    continue
                gone = sorted(f for f in fields - mapping.CLIENT_RECORDS[record] if f in _raw_fields(record))
                if gone:
                    notes.append(f"{record}: not collected over WinRM: {', '.join(gone)}")
            else:
                notes.append(f"{record}: not collected over WinRM")
        failed = sum(self._failures.values())
        if failed:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(self._failures.items()))
            notes.append(f"clients: {failed} of {self._client_total} not collected ({kinds})")
        return notes

    def close(self) -> None:
        with self._lock:
            session, self._server_session = self._server_session, None
        if session is not None:
            session.close()

    # -- site server -------------------------------------------------------------------------

    def _server_objects(self, script: str) -> list[dict[str, Any]]:
        assert self._server is not None
        with self._lock:
            if self._server_session is None:
                session = self._factory(self._server, self._settings)
                try:
                    self._check_provider(session, self._server)
                except BaseException:
                    session.close()
                    raise
                self._server_session = session
            deadline = time.monotonic() + self._settings.script_timeout
            text = self._server_session.run(script, load_script(script), deadline=deadline)
        return _parse(text, script, self._server)

    def _check_provider(self, session: Session, address: HostAddress) -> None:
        """Refuse a site server that is not the SMS Provider host (the scripts would read nothing there)."""
        deadline = time.monotonic() + self._settings.script_timeout
        rows = _parse(
            session.run("provider", load_script("provider"), deadline=deadline), "provider", address
        )
        if not rows:
            raise ConfigError(
                f"{address} lists no SMS Provider for its site (SMS_ProviderLocation)",
                hint="give the site server or the SMS Provider host with --winrm",
            )
        top = rows[0]
        if not top["IsLocal"]:
            machine = _host_name(top["Machine"])
            raise ConfigError(
                f"the SMS Provider of site {_host_name(top['SiteCode'])} is on {machine}, not on {address}",
                hint=f"pass the provider host with --winrm {machine}",
            )

    def _readable(self) -> set[str]:
        names = set(mapping.SITE_RECORDS) if self._server else set()
        return names | (set(mapping.CLIENT_RECORDS) if self._clients else set())

    # -- clients -----------------------------------------------------------------------------

    def client_counts(self) -> mapping.ClientCounts:
        """Read every client once per ``streams`` call (in parallel) and count them."""
        with self._lock:
            if self._counts is not None:
                return self._counts
        fields: Mapping[str, frozenset[str]] = self._request_fields
        counts = mapping.ClientCounts(fields)
        device = fields.get("device", frozenset())
        want_software = bool(fields.get("software")) or "software_count" in device
        want_inventory = bool(device - {"software_count"}) or any(
            fields.get(n) for n in mapping.CLIENT_RECORDS if n not in ("software", "device")
        )
        failures: dict[str, int] = {}
        first: SourceError | None = None
        workers = max(1, min(self._settings.max_workers, len(self._clients)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="winrm-client") as pool:
            results = pool.map(lambda c: self._read_client(c, want_inventory, want_software), self._clients)
            for result in results:
                if isinstance(result, SourceError):
                    first = first or result
                    kind = next((k for t, k in _FAILURE_KINDS if isinstance(result, t)), "failed")
                    failures[kind] = failures.get(kind, 0) + 1
                    continue
                counts.add(*result)
        if self._clients and not counts.clients and first is not None:
            raise first
        with self._lock:
            self._failures = failures
            self._client_total = len(self._clients)
            self._counts = counts
        return counts

    def _read_client(
        self, address: HostAddress, inventory: bool, software: bool
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None] | SourceError:
        scripts = ("client_inventory",) * inventory + ("client_software",) * software
        found: dict[str, list[dict[str, Any]]] = {}
        for script, rows in self._client_documents(address, scripts):
            if isinstance(rows, SourceError):
                return rows
            found[script] = rows
        inv = (found["client_inventory"] or [{}])[0] if inventory else None
        return inv, found.get("client_software")

    def _client_documents(
        self, address: HostAddress, scripts: Sequence[str]
    ) -> Iterator[tuple[str, list[dict[str, Any]] | SourceError]]:
        """Each script's validated document from one client, or the error that ended the reading."""
        if not scripts:
            return
        deadline = time.monotonic() + self._settings.host_timeout
        try:
            session = self._factory(address, self._settings)
        except SourceError as exc:
            yield scripts[0], exc
            return
        try:
            for script in scripts:
                try:
                    yield script, self._run(session, address, script, deadline)
                except SourceError as exc:
                    yield script, exc
                    return
        finally:
            session.close()

    def capture(
        self, flagged: Callable[[str], bool], public: Callable[[str | None, str | None], bool]
    ) -> Iterator[Captured]:
        """Every script's document from every host, treated for leaving the site (see capture.py)."""
        return capture(self, Capturer(flagged, public))

    def _run(
        self, session: Session, address: HostAddress, script: str, deadline: float
    ) -> list[dict[str, Any]]:
        limit = min(deadline, time.monotonic() + self._settings.script_timeout)
        return _parse(session.run(script, load_script(script), deadline=limit), script, address)


@dataclass(frozen=True)
class _WinRMStream:
    connector: WinRMConnector
    rt: type[m.Record]
    fields: frozenset[str]
    where: str

    @property
    def record_type(self) -> type[m.Record]:
        return self.rt

    @property
    def source(self) -> str:
        if self.where == "site":
            return f"winrm:{mapping.SITE_RECORDS[self.rt.NAME][0]}.ps1"
        return "winrm:client_inventory.ps1, client_software.ps1"

    def read(self) -> Iterator[m.Record]:
        if self.where == "site":
            script = mapping.SITE_RECORDS[self.rt.NAME][0]
            yield from mapping.site_rows(self.rt, self.connector._server_objects(script), self.fields)
        else:
            yield from self.connector.client_counts().records(self.rt, self.fields)


def _raw_fields(record: str) -> frozenset[str]:
    rt = m.record_type(record)
    names = {f for f in rt.__dataclass_fields__ if f != rt.WEIGHT}
    return frozenset(
        names - set(DERIVED_INPUTS.get(record, {})) - {"site_name", "server_name", "install_dir"}
    )


def _parse(text: str, script: str, address: HostAddress) -> list[dict[str, Any]]:
    """The script's JSON array, valid against ``<script>.schema.json``; anything else is a query
    error naming the script and the JSON path, never the value found there. The output's size and
    nesting are checked against the script's caps before the parser runs."""
    cap = output_cap(script)
    try:
        data = loads_bounded(text.strip() or "[]", max_bytes=cap, max_depth=MAX_OUTPUT_DEPTH)
    except Unbounded as exc:
        raise SourceQueryError(
            f"{script}.ps1 on {address} printed JSON {exc.what}, more than any such document",
            hint="run the script by hand on that host; a profile or module may print extra output",
        ) from exc
    except ValueError as exc:
        raise SourceQueryError(
            f"{script}.ps1 on {address} did not print valid JSON",
            hint="run the script by hand on that host; a profile or module may print extra text",
        ) from exc
    error = best_match(_validator(script).iter_errors(data))
    if error is not None:
        raise SourceQueryError(
            f"{script}.ps1 on {address} printed JSON that does not match {script}.schema.json"
            f" at {error.json_path}: {_reason(error)}",
            hint="the script and this version of sccm-cep do not match; reinstall sccm-cep",
        )
    items: list[dict[str, Any]] = data
    return items


#: No script's document nests deeper than 4 (array, object, array, object, array of chassis types).
MAX_OUTPUT_DEPTH = 16


def _is_integer(checker: Any, instance: Any) -> bool:
    """A JSON integer as the scripts print one: never a float (1e300 would pass the standard
    check), never a bool, and within a signed 64-bit WMI/SQL integer."""
    return type(instance) is int and -(2**63) <= instance < 2**63


_TYPES = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
_STRICT: Any = validators.extend(Draft202012Validator, type_checker=_TYPES)  # type: ignore[no-untyped-call]


_VALIDATORS: dict[str, Draft202012Validator] = {}


def _validator(script: str) -> Draft202012Validator:
    found = _VALIDATORS.get(script)
    if found is None:
        schema = load_schema(script)
        Draft202012Validator.check_schema(schema)
        found = _VALIDATORS.setdefault(script, _STRICT(schema))
    return found


def _reason(error: ValidationError) -> str:
    """What the schema wanted, in its own terms: no value of the document is quoted."""
    wanted = error.validator_value
    if error.validator == "type":
        return "expected " + " or ".join(wanted if isinstance(wanted, list) else [str(wanted)])
    if error.validator == "required" and isinstance(error.instance, dict) and isinstance(wanted, list):
        return "missing " + ", ".join(str(k) for k in wanted if k not in error.instance)
    if error.validator in ("additionalProperties", "propertyNames"):
        return "unexpected property"
    return f"fails {error.validator}"


def _host_name(value: Any) -> str:
    """A name from the host's output, made safe for a one-line message."""
    text = "".join(c if c.isprintable() and not c.isspace() else "?" for c in str(value))
    return text[:255] or "?"


def _top(sites: list[dict[str, Any]]) -> dict[str, Any]:
    def rank(s: dict[str, Any]) -> tuple[int, str]:
        kind = _int(s.get("Type"))
        parent = (_text(s.get("ReportingSiteCode")) or "").strip()
        top = 0 if kind == 4 else 1 if kind == 2 and parent in ("", s.get("SiteCode")) else 2
        return (top, str(s.get("SiteCode")))

    return min(sites, key=rank) if sites else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None
