"""A read-only, TLS-validated LDAP session over ldap3, with paged searches and ldap3's errors translated once.

Everything that touches the wire goes through ``LdapDirectory``; nothing here knows about ConfigMgr.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import re
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from ldap3 import ANONYMOUS, BASE, DSA, GSSAPI, NTLM, SASL, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core import exceptions as lx

from sccm_cep.errors import (
    ConfigError,
    SccmCepError,
    SourceAuthError,
    SourceError,
    SourceQueryError,
    SourceUnreachable,
)
from sccm_cep.platform.config import resolve_secret

__all__ = ["AUTH_METHODS", "Auth", "Entry", "LdapDirectory", "LdapUrl", "parse_ldap_url"]

log = logging.getLogger(__name__)

Auth = Literal["simple", "ntlm", "kerberos", "anonymous"]
AUTH_METHODS: tuple[Auth, ...] = ("simple", "ntlm", "kerberos", "anonymous")

#: LDAP result codes this module reacts to (RFC 4511 §4.1.9).
_SIZE_LIMIT_EXCEEDED = 4
_STRONGER_AUTH_REQUIRED = 8
_NO_SUCH_OBJECT = 32
_INVALID_CREDENTIALS = 49
_INSUFFICIENT_ACCESS = 50
_UNAVAILABLE = 52
_UNWILLING = 53
_AUTH_REFUSED = frozenset({7, 13, _STRONGER_AUTH_REQUIRED, 48, _INVALID_CREDENTIALS, _INSUFFICIENT_ACCESS})

#: AD's MaxPageSize is 1000; 500 is what the tools that read these objects use.
DEFAULT_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class LdapUrl:
    """Where to connect: ``ldaps://host[:636]`` (TLS from the start) or ``ldap://host[:389]`` (StartTLS)."""

    host: str
    port: int
    use_ssl: bool

    def __str__(self) -> str:
        return f"{'ldaps' if self.use_ssl else 'ldap'}://{self.host}:{self.port}"


def parse_ldap_url(url: str) -> LdapUrl:
    """Parse an ``ldap://`` or ``ldaps://`` URL; anything after the host and port is refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"'{url}' is not a valid LDAP URL", hint="use ldaps://HOST[:PORT]") from exc
    if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
        raise ConfigError(
            f"'{url}' is not an LDAP URL",
            hint="use ldaps://dc1.corp.example (636) or ldap://dc1.corp.example (389, StartTLS)",
        )
    if parts.username or parts.password or parts.path.strip("/") or parts.query:
        raise ConfigError(
            "the LDAP URL holds more than a host and port",
            hint="give the base with --base, the account with --bind-dn and the password with --password REF",
        )
    use_ssl = parts.scheme.lower() == "ldaps"
    return LdapUrl(unquote(parts.hostname), port or (636 if use_ssl else 389), use_ssl)


@dataclass(frozen=True, slots=True)
class Entry:
    """One search result: its DN and its attribute values (names matched case-insensitively)."""

    dn: str
    attributes: Mapping[str, Sequence[str]]

    def values(self, name: str) -> list[str]:
        wanted = name.lower()
        for key, vals in self.attributes.items():
            if key.lower() == wanted:
                return [v for v in vals if v != ""]
        return []

    def first(self, name: str) -> str | None:
        vals = self.values(name)
        return vals[0] if vals else None


class LdapDirectory:
    """One bound, read-only LDAP session; use as a context manager.

    Certificates are validated by default (``ca_bundle`` adds a CA file; the system's CAs are used
    otherwise). ``insecure=True`` turns validation off and logs a warning. The password is a secret
    reference, resolved at ``open()``, handed to ldap3 for the bind and dropped right after.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: Auth = "simple",
        bind_dn: str | None = None,
        password_ref: str | None = None,
        ca_bundle: str | Path | None = None,
        insecure: bool = False,
        connect_timeout: float = 10.0,
        receive_timeout: float = 30.0,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if auth not in AUTH_METHODS:
            raise ConfigError(
                f"unknown LDAP authentication '{auth}'", hint=f"use one of {', '.join(AUTH_METHODS)}"
            )
        if auth in ("simple", "ntlm") and (not bind_dn or not password_ref):
            raise ConfigError(
                f"{auth} authentication needs an account and a password reference",
                hint="pass --bind-dn and --password env:NAME (or file:PATH, keyring:SERVICE/USER)",
            )
        if auth == "ntlm" and bind_dn and "\\" not in bind_dn:
            raise ConfigError(
                "NTLM needs the account as DOMAIN\\user", hint="for example --bind-dn 'CORP\\svc_cep'"
            )
        if not 1 <= page_size <= 1000:
            raise ConfigError(
                "the LDAP page size must be between 1 and 1000", hint="AD's MaxPageSize is 1000"
            )
        self.url = parse_ldap_url(url)
        self.auth: Auth = auth
        self.bind_dn = bind_dn
        self._password_ref = password_ref
        self._ca_bundle = Path(ca_bundle) if ca_bundle is not None else None
        self._insecure = insecure
        if connect_timeout <= 0 or receive_timeout <= 0:
            raise ConfigError("LDAP timeouts must be positive", hint="give seconds, for example 10")
        self._connect_timeout = connect_timeout
        # ldap3 packs the receive timeout into a socket option as whole seconds.
        self._receive_timeout = max(1, math.ceil(receive_timeout))
        self.page_size = page_size
        self._conn: Connection | None = None
        self._root: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"LdapDirectory(url='{self.url}', auth='{self.auth}', bind_dn={self.bind_dn!r})"

    # -- session ----------------------------------------------------------------------------

    def __enter__(self) -> LdapDirectory:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> LdapDirectory:
        """Connect, secure the channel, bind and read the RootDSE."""
        if self._conn is not None:
            return self
        tls = self._tls()
        server = Server(
            self.url.host,
            port=self.url.port,
            use_ssl=self.url.use_ssl,
            tls=tls,
            get_info=DSA,
            connect_timeout=self._connect_timeout,
        )
        options = self._bind_options()
        password = (
            resolve_secret(self._password_ref) if self._password_ref and self.auth != "kerberos" else None
        )
        conn = Connection(
            server,
            user=self.bind_dn if self.auth in ("simple", "ntlm") else None,
            password=password,
            receive_timeout=self._receive_timeout,
            auto_referrals=False,
            read_only=True,
            raise_exceptions=False,
            **options,
        )
        del password
        try:
            with self._guard("connecting"):
                conn.open()
            if not self.url.use_ssl:
                with self._guard("starting TLS"):
                    if not conn.start_tls():
                        raise self._tls_refused(conn.result)
            with self._guard("binding"):
                ok = conn.bind()
            conn.password = None  # the bind is done; do not keep the secret where a repr can show it
            if not ok:
                raise self._bind_refused(conn.result)
            self._conn = conn
            self._root = self._read_root_dse()
        except BaseException:
            conn.password = None
            self._conn = None
            with _quiet():
                conn.unbind()
            raise
        return self

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with _quiet():
                conn.unbind()

    # -- what the server says about itself --------------------------------------------------

    @property
    def root_dse(self) -> Mapping[str, Sequence[str]]:
        return self._root

    def root_values(self, name: str) -> list[str]:
        return Entry("", self._root).values(name)

    def default_naming_context(self) -> str:
        """The domain DN: AD's ``defaultNamingContext``, else the only (or first) ``namingContexts``."""
        default = self.root_values("defaultNamingContext")
        if default:
            return default[0]
        contexts = [c for c in self.root_values("namingContexts") if c.lower() != "cn=config"]
        if not contexts:
            raise SourceError(
                f"the directory at {self.url} does not publish a naming context in its RootDSE",
                hint="give the domain DN with --base DC=corp,DC=example",
            )
        return contexts[0]

    def has_object_class(self, name: str) -> bool | None:
        """Whether the schema defines ``name``: True, False, or None when the schema cannot be read."""
        schema_nc = self.root_values("schemaNamingContext")
        if schema_nc:  # Active Directory: one small indexed lookup in the schema partition
            found = self.search(
                schema_nc[0], f"(&(objectClass=classSchema)(lDAPDisplayName={_escape(name)}))", ["cn"]
            )
            return any(True for _ in found)
        subschema = self.root_values("subschemaSubentry")
        if not subschema:
            return None
        for entry in self.search(subschema[0], "(objectClass=*)", ["objectClasses"], scope="base"):
            pattern = re.compile(r"NAME\s+(?:\(\s*)?(?:'[^']*'\s+)*'" + re.escape(name) + "'", re.IGNORECASE)
            return any(pattern.search(d) for d in entry.values("objectClasses"))
        return None

    # -- searching --------------------------------------------------------------------------

    def exists(self, dn: str) -> bool:
        """Whether an entry exists at ``dn`` (a BASE search; no such object is False, not an error)."""
        try:
            return any(True for _ in self.search(dn, "(objectClass=*)", ["1.1"], scope="base"))
        except _NoSuchObject:
            return False

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        scope: Literal["base", "subtree"] = "subtree",
    ) -> Iterator[Entry]:
        """Entries under ``base`` matching the filter, fetched page by page (no cap on the total).

        A server that stops early (its size limit) raises instead of truncating silently; a base
        that does not exist raises ``_NoSuchObject`` for the caller to explain.
        """
        conn = self._connected()
        with self._guard(f"searching {base}"):
            pages = conn.extend.standard.paged_search(
                base,
                search_filter,
                search_scope=BASE if scope == "base" else SUBTREE,
                attributes=list(attributes),
                paged_size=self.page_size,
                generator=True,
            )
            for item in pages:
                if item.get("type") != "searchResEntry":
                    continue
                yield Entry(str(item["dn"]), _text_values(item.get("attributes", {})))
            result = conn.result or {}
        code = int(result.get("result", 0) or 0)
        if code == 0:
            return
        if code == _NO_SUCH_OBJECT:
            raise _NoSuchObject(base)
        if code == _SIZE_LIMIT_EXCEEDED:
            raise SourceQueryError(
                f"the directory at {self.url} stopped the search under {base} at its size limit",
                hint="the server must allow paged searches past its size limit (slapd: "
                "sizelimit size.prtotal=unlimited; AD: MaxPageSize is honoured per page)",
            )
        if code in _AUTH_REFUSED:
            raise SourceAuthError(
                f"the directory at {self.url} refused to search {base} for this account",
                hint="the account needs read access to the domain (any authenticated user has it on AD)",
            )
        raise SourceQueryError(
            f"a search under {base} failed on {self.url} ({result.get('description', code)})",
            hint="check the base DN and that the account can read it",
        )

    def _connected(self) -> Connection:
        if self._conn is None:
            raise SourceError("the LDAP session is not open", hint="use 'with LdapDirectory(...) as d:'")
        return self._conn

    def _read_root_dse(self) -> dict[str, list[str]]:
        attrs = [
            "defaultNamingContext",
            "namingContexts",
            "schemaNamingContext",
            "rootDomainNamingContext",
            "subschemaSubentry",
            "supportedControl",
            "supportedSASLMechanisms",
            "dnsHostName",
        ]
        for entry in self.search("", "(objectClass=*)", attrs, scope="base"):
            return {k: list(v) for k, v in entry.attributes.items()}
        return {}

    # -- TLS and binds ----------------------------------------------------------------------

    def _tls(self) -> Tls:
        if self._insecure:
            log.warning(
                "LDAP certificate validation is OFF for %s (insecure=True): the server's identity is "
                "not checked and the bind can be intercepted; pass a CA bundle instead",
                self.url,
            )
            return Tls(validate=ssl.CERT_NONE, version=ssl.PROTOCOL_TLS_CLIENT)
        if self._ca_bundle is not None and not self._ca_bundle.is_file():
            raise ConfigError(
                f"the CA bundle {self._ca_bundle} does not exist",
                hint="give a PEM file holding the CA that issued the domain controllers' certificates",
            )
        try:
            return Tls(
                validate=ssl.CERT_REQUIRED,
                version=ssl.PROTOCOL_TLS_CLIENT,
                ca_certs_file=str(self._ca_bundle) if self._ca_bundle is not None else None,
            )
        except lx.LDAPSSLConfigurationError as exc:
            raise ConfigError(
                f"the CA bundle {self._ca_bundle} cannot be used", hint="give a readable PEM file"
            ) from exc

    def _bind_options(self) -> dict[str, Any]:
        if self.auth == "simple":
            return {"authentication": SIMPLE}
        if self.auth == "anonymous":
            return {"authentication": ANONYMOUS}
        if self.auth == "ntlm":
            _require_md4()
            return {"authentication": NTLM}
        _require_gssapi()
        # Kerberos names the service ldap@<host>: connect by the DC's FQDN, not an address.
        return {"authentication": SASL, "sasl_mechanism": GSSAPI}

    def _bind_refused(self, result: Mapping[str, Any] | None) -> SccmCepError:
        code = int((result or {}).get("result", -1) or -1)
        if code == _STRONGER_AUTH_REQUIRED:
            return SourceAuthError(
                f"the directory at {self.url} requires a stronger bind than {self.auth}",
                hint="use --auth kerberos, or make sure the connection is LDAPS/StartTLS",
            )
        if self.auth == "anonymous":
            return SourceAuthError(
                f"the directory at {self.url} does not allow anonymous reads",
                hint="bind with an account: --auth simple|ntlm|kerberos "
                "(AD allows anonymous RootDSE reads only)",
            )
        if self.auth == "kerberos":
            return SourceAuthError(
                f"the directory at {self.url} refused the Kerberos bind",
                hint="run kinit (or log on to the domain), connect by the DC's FQDN, and check KRB5CCNAME",
            )
        return SourceAuthError(
            f"the directory at {self.url} refused the {self.auth} bind for the given account",
            hint="check --bind-dn and the password reference (AD also accepts user@domain for simple binds)",
        )

    def _tls_refused(self, result: Mapping[str, Any] | None) -> SccmCepError:
        why = (result or {}).get("description", "no reason")
        return SourceError(
            f"the directory at {self.url} refused StartTLS ({why})",
            hint="the DC needs a server certificate for StartTLS; or use ldaps://HOST:636",
        )

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (SccmCepError, _NoSuchObject):
            raise
        except lx.LDAPPackageUnavailableError as exc:
            raise ConfigError(
                "Kerberos binds need the gssapi package", hint="pip install 'sccm-cep[kerberos]'"
            ) from exc
        except (lx.LDAPException, OSError) as exc:
            raise _translate(exc, self.url, doing, self._ca_bundle) from exc
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            # ldap3's BER decoder fails this way on a peer that does not speak LDAP.
            raise SourceQueryError(
                f"the server at {self.url} sent a reply that is not LDAP while {doing}",
                hint="check the host and port point at a domain controller (636 for LDAPS, 389 for StartTLS)",
            ) from exc


class _NoSuchObject(Exception):
    """A search base does not exist; callers turn it into the message that fits."""

    def __init__(self, dn: str) -> None:
        super().__init__("no such object")
        self.dn = dn


_TLS_WORDS = ("ssl", "tls", "certificate", "handshake", "wrap")


def _translate(exc: BaseException, url: LdapUrl, doing: str, ca_bundle: Path | None) -> SccmCepError:
    text = str(exc).lower()
    if isinstance(exc, lx.LDAPStartTLSError | lx.LDAPCertificateError | ssl.SSLError) or (
        isinstance(exc, lx.LDAPSocketOpenError) and any(w in text for w in _TLS_WORDS)
    ):
        reason = _tls_reason(text)
        where = f"the CA bundle {ca_bundle}" if ca_bundle else "the system's trusted CAs"
        return ConfigError(
            f"TLS with the directory at {url} failed: {reason}",
            hint=f"the certificate must chain to {where} and name the host you connect to; "
            "pass --ca-bundle with the issuing CA (PEM), and connect by the name on the certificate",
        )
    if isinstance(exc, lx.LDAPBindError | lx.LDAPInvalidCredentialsResult):
        return SourceAuthError(
            f"the directory at {url} refused the bind", hint="check --bind-dn and the password reference"
        )
    if isinstance(exc, lx.LDAPSocketOpenError) and "invalid server address" in text:
        return SourceUnreachable(
            f"the LDAP host in {url} does not resolve", hint="check the host name and DNS, then try again"
        )
    if isinstance(exc, lx.LDAPSocketReceiveError) and "timed out" in text:
        return SourceUnreachable(
            f"the directory at {url} did not answer in time while {doing}",
            hint="check the server and the network, or raise the receive timeout, then try again",
        )
    if isinstance(exc, lx.LDAPCommunicationError | OSError):
        return SourceUnreachable(
            f"cannot reach the directory at {url} ({doing})",
            hint="check host, port (636 LDAPS, 389 StartTLS), firewall and that the DC is up, then try again",
        )
    if isinstance(exc, lx.LDAPOperationResult) and exc.result in _AUTH_REFUSED:
        return SourceAuthError(f"the directory at {url} refused {doing}", hint="check the account's rights")
    if isinstance(exc, lx.LDAPOperationResult) and exc.result in (_UNAVAILABLE, _UNWILLING):
        return SourceUnreachable(f"the directory at {url} is unavailable ({doing})", hint="try again later")
    return SourceQueryError(
        f"{doing} failed on the directory at {url} ({exc.__class__.__name__})",
        hint="check the base DN and the account's read access",
    )


def _tls_reason(text: str) -> str:
    if "certificate verify failed" in text or "unable to get local issuer" in text or "self-signed" in text:
        return "its certificate is not signed by a trusted CA"
    if "hostname" in text or "doesn't match" in text or "does not match" in text:
        return "its certificate does not name the host connected to"
    if "expired" in text:
        return "its certificate has expired"
    if "start_tls" in text or "starttls" in text:
        return "StartTLS was refused or failed"
    return "the TLS handshake failed"


def _text_values(attributes: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, raw in attributes.items():
        vals = raw if isinstance(raw, list | tuple) else [raw]
        out[str(key)] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in vals]
    return out


def _escape(value: str) -> str:
    """RFC 4515 escaping for a value placed in a filter."""
    out = []
    for ch in value:
        out.append(f"\\{ord(ch):02x}" if ch in "*()\\\0" else ch)
    return "".join(out)


def _require_md4() -> None:
    try:
        hashlib.new("md4")
        return
    except ValueError:
        pass
    # ldap3 falls back to pycryptodome for the NT hash when OpenSSL 3 has no MD4.
    if importlib.util.find_spec("Crypto") is None:
        raise ConfigError(
            "NTLM binds need MD4, which this OpenSSL lacks; ldap3 then uses pycryptodome",
            hint="pip install 'sccm-cep[ldap]' (it brings pycryptodome), or use --auth kerberos",
        )


def _require_gssapi() -> None:
    if importlib.util.find_spec("gssapi") is None and importlib.util.find_spec("winkerberos") is None:
        raise ConfigError(
            "Kerberos binds need the gssapi package (winkerberos on Windows)",
            hint="pip install 'sccm-cep[kerberos]' (gssapi; on Windows it brings winkerberos instead;"
            " on Linux gssapi builds against libkrb5-dev)",
        )


@contextmanager
def _quiet() -> Iterator[None]:
    try:
        yield
    except Exception:  # closing a broken session must not hide the error that broke it
        log.debug("ignored an error while closing an LDAP session", exc_info=True)
