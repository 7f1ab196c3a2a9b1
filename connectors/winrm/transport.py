"""Run one script on one host over pypsrp (default) or pywinrm; library errors become the project's here.

A ``Session`` belongs to one host and one thread: pypsrp keeps one RunspacePool open and reuses it
for every script; pywinrm keeps one WinRS shell. Messages name the host and what to fix, never a
secret and never a value read from the host.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from sccm_cep.errors import ConfigError, SccmCepError, SourceAuthError, SourceQueryError, SourceUnreachable

from .settings import HostAddress, WinRMSettings

__all__ = [
    "OUTPUT_CAPS",
    "PsrpSession",
    "Session",
    "SessionFactory",
    "WinrmSession",
    "default_factory",
    "output_cap",
]

#: WS-Man fault "the operation timed out": no output yet, poll again.
_OPERATION_TIMEOUT = 2150858793
#: Recycle the pool before the server's per-shell command quota (about 1000) is hit.
_POOL_RECYCLE = 500

_MiB = 1024 * 1024
#: Bytes of JSON each script may print, far above what the largest site prints: a hierarchy has
#: at most 25 primary sites with up to 250 secondary sites each (about 6,300 SMS_Site rows of
#: ~150 bytes; learn.microsoft.com/mem/configmgr/core/plan-design/configs/size-and-scale-numbers),
#: a client a few thousand programs, a site tens of thousands of packages and deployments.
#: Output past its cap is refused as it arrives, never held whole.
OUTPUT_CAPS: dict[str, int] = {
    "provider": _MiB // 16,
    "site": 4 * _MiB,
    "site_clients": _MiB // 16,
    "site_roles": _MiB,
    "packages": 64 * _MiB,
    "deployments": 64 * _MiB,
    "baselines": 32 * _MiB,
    "client_inventory": _MiB,
    "client_software": 16 * _MiB,
}


def output_cap(script: str) -> int:
    """The most bytes of output ``script`` may print (64 MiB for a script not listed)."""
    return OUTPUT_CAPS.get(script, 64 * _MiB)


def _too_large(name: str, address: HostAddress) -> SourceQueryError:
    return SourceQueryError(
        f"{name}.ps1 on {address} printed more than {output_cap(name):,} bytes, more than any such document",
        hint="run the script by hand on that host; a profile or module may print extra output",
    )


class Session(Protocol):
    """One host's connection; ``run`` returns the script's output text or raises a SourceError."""

    def run(self, name: str, script: str, *, deadline: float) -> str: ...

    def close(self) -> None: ...


SessionFactory = Callable[[HostAddress, WinRMSettings], Session]


def default_factory(address: HostAddress, settings: WinRMSettings) -> Session:
    if settings.transport == "winrm":
        return WinrmSession(address, settings)
    return PsrpSession(address, settings)


def _missing(extra_module: str, exc: ImportError) -> ConfigError:
    return ConfigError(
        f"the WinRM connector needs the {extra_module} package",
        hint="pip install 'sccm-cep[winrm]'",
    )


# -- pypsrp ---------------------------------------------------------------------------------------


class PsrpSession:
    """PowerShell Remoting (PSRP) over WS-Man with pypsrp: one RunspacePool per host, reused."""

    def __init__(self, address: HostAddress, settings: WinRMSettings) -> None:
        try:
            from pypsrp.wsman import WSMan
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise _missing("pypsrp", exc) from exc
        self._address = address
        self._settings = settings
        self._pool: Any = None
        self._used = 0
        kwargs: dict[str, Any] = {
            "port": settings.port_for(address),
            "ssl": settings.ssl,
            "path": settings.path,
            "auth": settings.auth,
            "cert_validation": settings.cert_validation,
            "encryption": settings.encryption,
            "connection_timeout": settings.connection_timeout,
            "read_timeout": settings.read_timeout,
            "operation_timeout": settings.operation_timeout,
            "proxy": settings.proxy,
            "no_proxy": settings.proxy is None,
        }
        if settings.username is not None:
            kwargs["username"] = settings.username
        if settings.password is not None:
            kwargs["password"] = settings.password
        if settings.certificate_pem:
            kwargs["certificate_pem"] = settings.certificate_pem
            kwargs["certificate_key_pem"] = settings.certificate_key_pem
        with _translate(address, "connecting"):
            self._wsman = WSMan(address.host, **kwargs)

    def _open_pool(self) -> Any:
        from pypsrp.powershell import RunspacePool

        if self._pool is not None and self._used >= _POOL_RECYCLE:
            self._close_pool()
        if self._pool is None:
            pool = RunspacePool(self._wsman, configuration_name=self._settings.configuration_name)
            pool.open()
            self._pool = pool
            self._used = 0
        self._used += 1
        return self._pool

    def run(self, name: str, script: str, *, deadline: float) -> str:
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.powershell import PowerShell

        with _translate(self._address, f"running {name}.ps1"):
            ps = PowerShell(self._open_pool())
            ps.add_script(script)
            ps.begin_invoke()
            while ps.state == PSInvocationState.RUNNING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._stop(ps)
                    raise SourceUnreachable(
                        f"{name}.ps1 did not finish in time on {self._address}",
                        hint="raise the script timeout, or check the host's load and WMI health",
                    )
                wait = max(1, min(self._settings.operation_timeout, math.ceil(remaining)))
                ps.poll_invoke(timeout=wait)
                if _printed(ps.output) > output_cap(name):
                    self._stop(ps)
                    raise _too_large(name, self._address)
            errors = len(ps.streams.error)
            if errors or ps.had_errors or ps.state != PSInvocationState.COMPLETED:
                raise SourceQueryError(
                    f"{name}.ps1 reported {errors or 1} error(s) on {self._address}",
                    hint="run the script by hand on that host; check the account's rights"
                    " (local administrators on clients, a read-only ConfigMgr role on the site server)",
                )
            if _printed(ps.output) > output_cap(name):
                raise _too_large(name, self._address)
            return "".join(str(o) for o in ps.output)

    @staticmethod
    def _stop(ps: Any) -> None:
        with suppress(Exception):
            ps.stop()

    def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            with suppress(Exception):
                pool.close()

    def close(self) -> None:
        self._close_pool()
        with suppress(Exception):
            self._wsman.close()


def _printed(output: Any) -> int:
    """Characters of the output objects received so far (each is one line of JSON text)."""
    return sum(len(o) if isinstance(o, str) else len(str(o)) for o in output)


# -- pywinrm --------------------------------------------------------------------------------------

_PYWINRM_TRANSPORTS = {
    "basic": "basic",
    "negotiate": "ntlm",
    "ntlm": "ntlm",
    "kerberos": "kerberos",
    "credssp": "credssp",
    "certificate": "certificate",
}


#: An error record in the CLIXML of powershell.exe's error stream.
_ERROR_RECORD = b'S="Error"'


class WinrmSession:
    """WinRS shell with pywinrm: one shell per host, each script as ``powershell -EncodedCommand``."""

    def __init__(self, address: HostAddress, settings: WinRMSettings) -> None:
        try:
            from winrm.protocol import Protocol
        except ImportError as exc:  # pragma: no cover
            raise _missing("pywinrm", exc) from exc
        self._address = address
        self._settings = settings
        scheme = "https" if settings.ssl else "http"
        host = f"[{address.host}]" if ":" in address.host else address.host
        endpoint = f"{scheme}://{host}:{settings.port_for(address)}/{settings.path}"
        transport: Any = _PYWINRM_TRANSPORTS[settings.auth]
        if transport == "basic" and settings.ssl:
            transport = "ssl"
        validation = settings.cert_validation
        extra: dict[str, Any] = {"ca_trust_path": validation} if isinstance(validation, str) else {}
        with _translate(address, "connecting"):
            self._protocol = Protocol(
                endpoint,
                transport=transport,
                username=settings.username,
                password=settings.password,
                server_cert_validation="validate" if validation else "ignore",
                cert_pem=settings.certificate_pem,
                cert_key_pem=settings.certificate_key_pem,
                read_timeout_sec=settings.read_timeout,
                operation_timeout_sec=settings.operation_timeout,
                message_encryption=settings.encryption,
                proxy=settings.proxy,
                **extra,
            )
        self._shell: str | None = None

    def run(self, name: str, script: str, *, deadline: float) -> str:
        from winrm.exceptions import WinRMOperationTimeoutError

        encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
        args = ["-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded]
        with _translate(self._address, f"running {name}.ps1"):
            if self._shell is None:
                self._shell = self._protocol.open_shell(codepage=65001)
            command = self._protocol.run_command(self._shell, "powershell.exe", args)
            out, tail, failed, code, done = bytearray(), b"", False, 0, False
            try:
                while not done:
                    if time.monotonic() >= deadline:
                        raise SourceUnreachable(
                            f"{name}.ps1 did not finish in time on {self._address}",
                            hint="raise the script timeout, or check the host's load and WMI health",
                        )
                    try:
                        chunk_out, chunk_err, code, done = self._protocol.get_command_output_raw(
                            self._shell, command
                        )
                    except WinRMOperationTimeoutError:
                        continue
                    out += chunk_out
                    # The error stream is not kept, only searched (a marker may span chunks).
                    failed = failed or _ERROR_RECORD in tail + chunk_err
                    tail = (tail + chunk_err)[-len(_ERROR_RECORD) :]
                    if len(out) > output_cap(name):
                        raise _too_large(name, self._address)
            finally:
                with suppress(Exception):
                    self._protocol.cleanup_command(self._shell, command)
            if code != 0 or failed:
                raise SourceQueryError(
                    f"{name}.ps1 failed on {self._address} (exit code {code})",
                    hint="run the script by hand on that host; check the account's rights",
                )
            return out.decode("utf-8", "replace")

    def close(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            with suppress(Exception):
                self._protocol.close_shell(shell)


# -- error translation ---------------------------------------------------------------------------


@contextmanager
def _translate(address: HostAddress, doing: str) -> Iterator[None]:
    """Library errors into the project's, once; messages carry no secret and no value from the host."""
    try:
        yield
    except SccmCepError:
        raise
    except Exception as exc:
        raise translate_error(exc, address, doing) from exc


def translate_error(exc: BaseException, address: HostAddress, doing: str) -> SccmCepError:
    name = type(exc).__name__
    module = type(exc).__module__
    code = getattr(exc, "code", None)
    if (
        name in ("AuthenticationError", "InvalidCredentialsError")
        or (name == "WinRMTransportError" and code == 401)
        or module.startswith("spnego")
    ):
        return SourceAuthError(
            f"{address} refused the WinRM login while {doing}",
            hint="check the user and the password reference; the account needs WinRM access"
            " (Remote Management Users or the JEA endpoint)",
        )
    # requests arrives with the winrm extra; an error can only be one of its types if it is there.
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        return SourceUnreachable(
            f"{address} did not answer in time while {doing}",
            hint="check the host is up and WinRM is listening; raise the connection or read timeout",
        )
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError):
        return SourceUnreachable(
            f"cannot reach WinRM on {address} while {doing}",
            hint="check the host name, the port (5986 HTTPS, 5985 HTTP), the listener and the firewall",
        )
    if name == "WSManFaultError":
        return SourceQueryError(
            f"{address} answered with WS-Management fault {code} while {doing}",
            hint="check the WinRM service and the configuration name; run 'winrm quickconfig' on the host",
        )
    if name == "WinRMTransportError":
        return SourceQueryError(
            f"{address} answered HTTP {code} while {doing}",
            hint="check the WinRM listener and the path (/wsman)",
        )
    if isinstance(exc, ValueError):
        return ConfigError(
            f"the WinRM settings for {address} are not usable ({name})",
            hint="check auth, ssl and encryption: basic and certificate auth need HTTPS",
        )
    return SourceQueryError(
        f"WinRM failed on {address} while {doing} ({name})",
        hint="check the WinRM service on the host; run with SCCM_CEP_DEBUG=1 for details",
    )
