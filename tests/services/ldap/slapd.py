"""Starts a throwaway OpenLDAP slapd on free loopback ports with a test CA, the ConfigMgr schema, seed data.

Used by the fixtures in ``conftest.py``; runs as whoever runs the tests (no root needed).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures" / "ldap"
SYSTEM_SCHEMA = Path("/etc/ldap/schema")
SBIN = Path(os.environ.get("SBIN", "/usr/sbin"))
MODULE_PATHS = (Path("/usr/lib/ldap"), Path("/usr/lib64/openldap"), Path("/usr/lib/openldap"))

DOMAINS = ("DC=corp,DC=example", "DC=emea,DC=example", "DC=plain,DC=example")
SVC_DN = "CN=svc_cep,CN=Users,DC=corp,DC=example"
#: Computers generated per domain: (how many, every n-th one disabled).
COMPUTERS = {"DC=corp,DC=example": (240, 7), "DC=emea,DC=example": (60, 5)}
#: slapd's size limit for searches without paging; the paged total is unlimited.
SOFT_SIZE_LIMIT = 100


def slapd_binary() -> Path | None:
    path = SBIN / "slapd"
    found = path if path.exists() else None
    if found is None:
        which = shutil.which("slapd")
        found = Path(which) if which else None
    return found if found is not None and _module_path() is not None else None


def enabled_computers(domain: str) -> int:
    count, every = COMPUTERS.get(domain, (0, 1))
    return sum(1 for i in range(count) if i % every != 0)


@dataclass(frozen=True)
class Certificates:
    ca: Path
    other_ca: Path
    cert: Path
    key: Path


@dataclass
class Slapd:
    """A running slapd: its URLs, the bind account, the CA that signed its certificate."""

    workdir: Path
    ldap_port: int
    ldaps_port: int
    certs: Certificates
    password: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


def start_slapd(workdir: Path, *, configmgr_schema: bool = True) -> Slapd:
    """Write config, certificates and seed data under ``workdir``, load them, start slapd."""
    binary = slapd_binary()
    if binary is None:
        raise RuntimeError("slapd is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    certs = make_certificates(workdir)
    password = secrets.token_urlsafe(18)
    conf = _write_config(workdir, certs, configmgr_schema)
    slapadd = binary.with_name("slapadd")
    blocks = [b for b in seed_ldif(password, configmgr_schema).split("\n\n") if "dn: " in b]
    for i, suffix in enumerate(DOMAINS):
        seed = workdir / f"seed{i}.ldif"
        mine = [b for b in blocks if _dn_of(b).lower().endswith(suffix.lower())]
        seed.write_text("\n\n".join(mine) + "\n", encoding="utf-8")
        cmd = str(slapadd) if slapadd.exists() else "slapadd"
        _run([cmd, "-q", "-f", str(conf), "-b", suffix, "-l", str(seed)])
    ldap_port, ldaps_port = _free_port(), _free_port()
    server = Slapd(workdir, ldap_port, ldaps_port, certs, password)
    log = (workdir / "slapd.log").open("wb")
    server.process = subprocess.Popen(
        [
            str(binary),
            "-d",
            "0",
            "-f",
            str(conf),
            "-h",
            f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"slapd exited: {(workdir / 'slapd.log').read_text(errors='replace')[-2000:]}")
        if _listening(ldap_port) and _listening(ldaps_port):
            return server
        time.sleep(0.02)
    server.stop()
    raise RuntimeError("slapd did not start listening within 10 s")


def make_certificates(workdir: Path) -> Certificates:
    """A test CA, a server certificate for 127.0.0.1/localhost it signs, and an unrelated CA."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca("sccm-cep test CA", ca_key, now)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_cert = _ca("an unrelated CA", other_key, now)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(
        ca=workdir / "ca.pem",
        other_ca=workdir / "other-ca.pem",
        cert=workdir / "server.pem",
        key=workdir / "server.key",
    )
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.other_ca.write_bytes(other_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    paths.key.chmod(0o600)
    return paths


def seed_ldif(password: str, configmgr_schema: bool = True) -> str:
    """The fixture LDIF (with values that start with '<' base64-encoded) plus generated computers."""
    lines: list[str] = []
    for line in (FIXTURES / "sites.ldif").read_text(encoding="utf-8").splitlines():
        attr, sep, value = line.partition(": ")
        if sep and value.startswith("<"):
            line = f"{attr}:: {base64.b64encode(value.encode()).decode()}"
        lines.append(line.replace("@SVC_PASSWORD@", password))
    text = "\n".join(lines) + "\n"
    if not configmgr_schema:
        text = _without_configmgr_objects(text)
    parts = [text]
    for domain, (count, every) in COMPUTERS.items():
        for i in range(count):
            name = f"{domain.split(',')[0][3:].upper()}-PC{i:04d}"
            uac = 4096 | (2 if i % every == 0 else 0)  # WORKSTATION_TRUST_ACCOUNT, +ACCOUNTDISABLE
            parts.append(
                f"\ndn: CN={name},CN=Computers,{domain}\nobjectClass: top\nobjectClass: computer\n"
                f"cn: {name}\nsAMAccountName: {name}$\ndNSHostName: {name.lower()}.example\n"
                f"userAccountControl: {uac}\n"
            )
    return "".join(parts)


def _dn_of(block: str) -> str:
    for line in block.splitlines():
        if line.startswith("dn: "):
            return line[4:].strip()
    return ""


def _without_configmgr_objects(text: str) -> str:
    blocks = text.split("\n\n")
    return "\n\n".join(b for b in blocks if "mSSMS" not in b) + "\n"


def _ca(name: str, key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def _write_config(workdir: Path, certs: Certificates, configmgr_schema: bool) -> Path:
    module_path = _module_path()
    schemas = [SYSTEM_SCHEMA / "core.schema", SYSTEM_SCHEMA / "cosine.schema", FIXTURES / "ad-compat.schema"]
    if configmgr_schema:
        schemas.append(FIXTURES / "configmgr.schema")
    out = [f"include {s}" for s in schemas]
    out += [
        f"pidfile {workdir / 'slapd.pid'}",
        f"argsfile {workdir / 'slapd.args'}",
        f"modulepath {module_path}",
        "moduleload back_mdb",
        f"TLSCACertificateFile {certs.ca}",
        f"TLSCertificateFile {certs.cert}",
        f"TLSCertificateKeyFile {certs.key}",
        f"sizelimit size.soft={SOFT_SIZE_LIMIT} size.hard=unlimited size.prtotal=unlimited",
        "access to attrs=userPassword by anonymous auth by self write by * none",
        "access to * by * read",
    ]
    for i, suffix in enumerate(DOMAINS):
        db = workdir / f"db{i}"
        db.mkdir(exist_ok=True)
        out += [
            "",
            "database mdb",
            "maxsize 10485760",
            f'suffix "{suffix}"',
            f"directory {db}",
            "index objectClass eq",
        ]
    conf = workdir / "slapd.conf"
    conf.write_text("\n".join(out) + "\n", encoding="utf-8")
    return conf


def _module_path() -> Path | None:
    return next(
        (p for p in MODULE_PATHS if (p / "back_mdb.so").exists() or (p / "back_mdb.la").exists()), None
    )


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
