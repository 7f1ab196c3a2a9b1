"""Provisions a throwaway Samba AD DC in a temp dir, extends its schema for ConfigMgr, plants sites, starts it.

Used by the fixtures in ``conftest.py``; needs root (Samba's DC refuses to run otherwise). It listens
only on 127.0.0.2 (loopback) and keeps its databases, sockets, pid and logs under the temp dir.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures" / "ldap"

REALM = "CORP.EXAMPLE"
DOMAIN_DN = "DC=corp,DC=example"
SCHEMA_NC = f"CN=Schema,CN=Configuration,{DOMAIN_DN}"
HOST = "dc1.corp.example"
ADDRESS = "127.0.0.2"
SVC_UPN = "svc-cep@corp.example"
ADMIN_UPN = "Administrator@corp.example"
#: Computers planted under CN=Computers: (how many, every n-th one disabled).
COMPUTERS = (20, 4)
#: The DC's own computer account (CN=DC1,OU=Domain Controllers) is enabled and counted too.
DC_ACCOUNTS = 1


def samba_binaries() -> tuple[Path, Path, Path, Path] | None:
    """samba, samba-tool, ldbmodify and ldbadd, or None when any is missing."""
    names = ("samba", "samba-tool", "ldbmodify", "ldbadd")
    found = [
        shutil.which(n) or (f"/usr/sbin/{n}" if Path(f"/usr/sbin/{n}").exists() else None) for n in names
    ]
    if any(f is None for f in found):
        return None
    samba, tool, modify, add = (Path(str(f)) for f in found)
    return samba, tool, modify, add


def enabled_computers() -> int:
    count, every = COMPUTERS
    return sum(1 for i in range(count) if i % every != 0)


@dataclass
class SambaDc:
    """A running Samba AD DC: where it listens, the CA that signed its certificate, its accounts."""

    workdir: Path
    ca: Path
    admin_password: str = field(repr=False)
    svc_password: str = field(repr=False)
    process: subprocess.Popen[bytes] | None = None
    setup_seconds: float = 0.0

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{HOST}"

    @property
    def ldap_url(self) -> str:
        return f"ldap://{HOST}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


def start_samba(workdir: Path) -> SambaDc:
    """Provision a domain under ``workdir``, extend its schema, seed it offline, start samba."""
    binaries = samba_binaries()
    if binaries is None:
        raise RuntimeError("samba-ad-dc is not installed")
    samba, tool, ldbmodify, ldbadd = binaries
    began = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "dc"
    for sub in ("run", "log"):
        (workdir / sub).mkdir(exist_ok=True)
    admin_password, svc_password = _strong_password(), _strong_password()
    options = [
        f"--option=interfaces={ADDRESS}/8",
        "--option=bind interfaces only=yes",
        f"--option=pid directory={workdir / 'run'}",
        f"--option=log file={workdir / 'log' / 'samba.log'}",
    ]
    _run(
        [
            str(tool),
            "domain",
            "provision",
            "--use-rfc2307",
            f"--realm={REALM}",
            "--domain=CORP",
            "--server-role=dc",
            "--dns-backend=NONE",
            "--host-name=dc1",
            f"--targetdir={target}",
            f"--adminpass={admin_password}",
            *options,
        ],
        "samba-tool domain provision",
    )
    sam = target / "private" / "sam.ldb"
    attrs, classes = schema_ldif()
    for name, text in (("schema-attributes.ldif", attrs), ("schema-classes.ldif", classes)):
        path = workdir / name
        path.write_text(text, encoding="utf-8")
        _run(
            [str(ldbmodify), "-H", str(sam), "--option=dsdb:schema update allowed=true", str(path)],
            "ldbmodify",
        )
    seed = workdir / "seed.ldif"
    seed.write_text(seed_ldif(svc_password), encoding="utf-8")
    seed.chmod(0o600)
    _run([str(ldbadd), "-H", str(sam), str(seed)], "ldbadd")
    seed.unlink()
    log = (workdir / "log" / "samba.out").open("wb")
    server = SambaDc(workdir, target / "private" / "tls" / "ca.pem", admin_password, svc_password)
    server.process = subprocess.Popen(
        [
            str(samba),
            "-i",
            "-M",
            "single",
            "-s",
            str(target / "etc" / "smb.conf"),
            *options,
            "--option=server services=ldap",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            out = (workdir / "log" / "samba.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"samba exited: {out}")
        if server.ca.exists() and _listening(ADDRESS, 636):
            server.setup_seconds = time.monotonic() - began
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("samba did not answer on 127.0.0.2:636 within 60 s")


def schema_ldif() -> tuple[str, str]:
    """The ConfigMgr attributes and classes (fixtures/ldap/configmgr-samba.ldif) as two LDIFs."""
    text = (FIXTURES / "configmgr-samba.ldif").read_text(encoding="utf-8").replace("@SCHEMA_NC@", SCHEMA_NC)
    blocks = [b for b in text.split("\n\n") if "dn: " in b]
    attrs = [b for b in blocks if "objectClass: attributeSchema" in b]
    classes = [b for b in blocks if "objectClass: classSchema" in b]
    return "\n\n".join(attrs) + "\n", "\n\n".join(classes) + "\n"


def seed_ldif(svc_password: str) -> str:
    """System Management, the sites and MPs of sites.ldif (both domains' moved into corp), computers, svc-cep."""
    blocks = [
        f"dn: CN=System Management,CN=System,{DOMAIN_DN}\nobjectClass: container\ncn: System Management"
    ]
    for block in (FIXTURES / "sites.ldif").read_text(encoding="utf-8").split("\n\n"):
        if "objectClass: mSSMS" not in block or "NOT-A-CODE" in block:
            continue
        lines = []
        for line in block.strip().splitlines():
            if line.startswith("#"):
                continue
            attr, sep, value = line.partition(": ")
            if sep and value.startswith("<"):
                line = f"{attr}:: {base64.b64encode(value.encode()).decode()}"
            lines.append(line.replace(",DC=emea,DC=example", f",{DOMAIN_DN}"))
        blocks.append("\n".join(lines))
    count, every = COMPUTERS
    for i in range(count):
        name = f"CORP-PC{i:04d}"
        uac = 4096 | (2 if i % every == 0 else 0)  # WORKSTATION_TRUST_ACCOUNT, +ACCOUNTDISABLE
        blocks.append(
            f"dn: CN={name},CN=Computers,{DOMAIN_DN}\nobjectClass: computer\ncn: {name}\n"
            f"sAMAccountName: {name}$\ndNSHostName: {name.lower()}.corp.example\nuserAccountControl: {uac}"
        )
    quoted = base64.b64encode(f'"{svc_password}"'.encode("utf-16-le")).decode()
    blocks.append(
        f"dn: CN=svc-cep,CN=Users,{DOMAIN_DN}\nobjectClass: user\ncn: svc-cep\nsAMAccountName: svc-cep\n"
        f"userPrincipalName: {SVC_UPN}\nuserAccountControl: 512\nunicodePwd:: {quoted}"
    )
    return "\n\n".join(blocks) + "\n"


@contextmanager
def dc_name_resolves() -> Iterator[None]:
    """Make ``dc1.corp.example`` resolve to 127.0.0.2 in this process, as the domain's DNS would."""
    real: Callable[..., Any] = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower().rstrip(".") == HOST:
            host = ADDRESS
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


def _strong_password() -> str:
    """Random, and meets AD's complexity rule (upper, lower, digit, symbol)."""
    return f"Aa1!{secrets.token_urlsafe(24)}"


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, check=False, stdin=subprocess.DEVNULL, env=_env())
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-2000:] or done.stdout.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{what} failed: {tail}")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
