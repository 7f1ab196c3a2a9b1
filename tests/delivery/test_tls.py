"""The receiver's certificate is validated against the operating system's trust store (where
an enterprise CA is deployed), or against exactly the CA bundle given."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sccm_cep.delivery.upload import tls_context
from sccm_cep.errors import ConfigError


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(folder: Path, cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{cn}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert, ca_path = _ca(folder, "Corp Issuing CA")
    _, _, other_path = _ca(folder, "Someone Else CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return {"ca": ca_path, "other": other_path, "cert": folder / "server.pem", "key": folder / "server.key"}


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https_url(pki: dict[str, Path]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}/v1/health"
    server.shutdown()
    server.server_close()


def test_a_ca_in_the_system_trust_store_is_trusted_without_a_bundle(
    https_url: str, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Linux the system store is OpenSSL's default paths, which SSL_CERT_FILE moves: here it
    # stands for the enterprise CA that group policy puts in the Windows certificate store.
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"]))
    with httpx.Client(verify=tls_context(), trust_env=False) as client:
        assert client.get(https_url).text == "ok"


def test_a_certificate_from_a_ca_the_system_does_not_trust_is_refused(
    https_url: str, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["other"]))
    with httpx.Client(verify=tls_context(), trust_env=False) as client, pytest.raises(httpx.ConnectError):
        client.get(https_url)


def test_a_ca_bundle_trusts_exactly_that_ca(https_url: str, pki: dict[str, Path]) -> None:
    with httpx.Client(verify=tls_context(pki["ca"]), trust_env=False) as client:
        assert client.get(https_url).text == "ok"
    with (
        httpx.Client(verify=tls_context(pki["other"]), trust_env=False) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.get(https_url)


def test_the_host_name_is_always_checked(https_url: str, pki: dict[str, Path]) -> None:
    wrong_name = https_url.replace("localhost", "127.0.0.1")
    with (
        httpx.Client(verify=tls_context(pki["ca"]), trust_env=False) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.get(wrong_name)
    assert tls_context().check_hostname and tls_context().verify_mode == ssl.CERT_REQUIRED


def test_a_missing_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        tls_context(tmp_path / "nope.pem")
