"""Connection settings of the WinRM connector, with safe defaults and the checks that keep them safe."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from sccm_cep.errors import ConfigError

__all__ = ["AUTHS", "HostAddress", "WinRMSettings", "parse_host"]

AUTHS = ("negotiate", "kerberos", "ntlm", "credssp", "certificate", "basic")
#: Auths that can encrypt messages themselves, so plain HTTP is acceptable with them.
_ENCRYPTING = ("negotiate", "kerberos", "ntlm", "credssp")


@dataclass(frozen=True, slots=True)
class HostAddress:
    host: str
    port: int | None = None

    def __str__(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{shown}:{self.port}" if self.port else shown

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_host(spec: str) -> HostAddress:
    """``host``, ``host:port`` or ``[v6]:port`` as given on the command line."""
    text = spec.strip()
    if not text:
        raise ConfigError("an empty WinRM host was given", hint="give a host name, e.g. sccm01.corp.example")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"WinRM host '{spec}' has an invalid port", hint="use HOST or HOST:PORT")
        port = int(port_text)
    return HostAddress(host, port)


DEFAULT_CONFIGURATION = "Microsoft.PowerShell"


@dataclass(frozen=True, slots=True)
class WinRMSettings:
    """How to reach hosts over WS-Management; defaults are HTTPS 5986 with certificate validation."""

    transport: Literal["psrp", "winrm"] = "psrp"
    auth: str = "negotiate"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: bool = True
    port: int | None = None
    path: str = "wsman"
    cert_validation: bool | str = True
    encryption: Literal["auto", "always", "never"] = "auto"
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    configuration_name: str = DEFAULT_CONFIGURATION
    connection_timeout: int = 10
    operation_timeout: int = 20
    read_timeout: int = 30
    script_timeout: float = 120.0
    host_timeout: float = 300.0
    max_workers: int = 8
    proxy: str | None = None

    def port_for(self, address: HostAddress) -> int:
        return address.port or self.port or (5986 if self.ssl else 5985)

    def check(self, hosts: tuple[HostAddress, ...]) -> None:
        """Refuse settings that would send credentials or data unprotected."""
        if self.transport not in ("psrp", "winrm"):
            raise ConfigError(f"unknown WinRM transport '{self.transport}'", hint="use psrp or winrm")
        if self.auth not in AUTHS:
            raise ConfigError(f"unknown WinRM auth '{self.auth}'", hint=f"use one of {', '.join(AUTHS)}")
        if self.transport == "winrm" and self.configuration_name != DEFAULT_CONFIGURATION:
            # pywinrm runs commands through WinRS (the cmd shell); only PSRP opens a named
            # PowerShell session configuration such as a JEA endpoint.
            raise ConfigError(
                f"the session configuration '{self.configuration_name}' needs the psrp transport",
                hint="use --winrm-transport psrp with --winrm-configuration",
            )
        if self.read_timeout <= self.operation_timeout:
            raise ConfigError(
                "the WinRM read timeout must be longer than the operation timeout",
                hint=f"raise read_timeout above {self.operation_timeout}",
            )
        if self.auth == "certificate" and not (
            self.ssl and self.certificate_pem and self.certificate_key_pem
        ):
            raise ConfigError(
                "certificate auth needs HTTPS and a client certificate and key",
                hint="set certificate_pem and certificate_key_pem, keep ssl on",
            )
        if self.ssl:
            return
        loopback = all(h.is_loopback for h in hosts)
        if self.auth == "basic" and loopback and self.encryption == "never":
            return  # the loopback test endpoint; nothing leaves the machine
        if self.auth not in _ENCRYPTING or self.encryption == "never":
            raise ConfigError(
                f"plain HTTP with {self.auth} auth would send data unencrypted",
                hint="use HTTPS (port 5986), or negotiate/kerberos/ntlm/credssp with message encryption",
            )
