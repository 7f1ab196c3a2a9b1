"""Parts of the LDAP connector that need no server: URLs, options, SRV ordering, capabilities XML."""

from __future__ import annotations

import pytest

import sccm_cep_connectors.ldap as ldap_pkg
from sccm_cep.errors import ConfigError, SourceUnreachable
from sccm_cep_connectors.ldap import (
    LdapDirectory,
    SrvRecord,
    domain_base,
    find_ldap_servers,
    parse_capabilities,
    parse_ldap_url,
)


def test_all_names_the_public_surface_and_nothing_missing() -> None:
    assert sorted(ldap_pkg.__all__) == sorted(set(ldap_pkg.__all__))
    assert all(hasattr(ldap_pkg, name) for name in ldap_pkg.__all__)


@pytest.mark.parametrize(
    ("url", "host", "port", "ssl"),
    [
        ("ldaps://dc1.corp.example", "dc1.corp.example", 636, True),
        ("ldap://dc1.corp.example", "dc1.corp.example", 389, False),
        ("LDAPS://10.0.0.5:3269", "10.0.0.5", 3269, True),
    ],
)
def test_ldap_urls_default_to_the_ldaps_and_starttls_ports(url: str, host: str, port: int, ssl: bool) -> None:
    parsed = parse_ldap_url(url)
    assert (parsed.host, parsed.port, parsed.use_ssl) == (host, port, ssl)


@pytest.mark.parametrize("url", ["https://dc1", "ldap://", "ldap://user:pw@dc1", "ldap://dc1/DC=corp"])
def test_urls_that_are_not_a_bare_ldap_server_are_refused(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_ldap_url(url)
    assert "pw" not in caught.value.one_line().replace("ldaps://HOST", "")


def test_simple_and_ntlm_binds_need_an_account_and_a_password_reference() -> None:
    with pytest.raises(ConfigError, match="needs an account"):
        LdapDirectory("ldaps://dc1", auth="simple", bind_dn="CN=x")
    with pytest.raises(ConfigError, match="DOMAIN"):
        LdapDirectory("ldaps://dc1", auth="ntlm", bind_dn="svc", password_ref="env:X")


def test_kerberos_without_gssapi_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("gssapi", "winkerberos") else real(name, *a),
    )
    with pytest.raises(ConfigError) as caught:
        LdapDirectory("ldaps://dc1.corp.example", auth="kerberos").open()
    assert "sccm-cep[kerberos]" in (caught.value.hint or "")


def test_a_missing_ca_bundle_is_a_configuration_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="CA bundle"):
        LdapDirectory("ldaps://dc1", auth="anonymous", ca_bundle="/nonexistent/ca.pem").open()


def test_srv_records_are_tried_by_priority_then_weight() -> None:
    records = [
        SrvRecord(10, 100, 389, "dc3.corp.example"),
        SrvRecord(0, 10, 389, "dc2.corp.example."),
        SrvRecord(0, 90, 389, "dc1.corp.example"),
    ]
    assert find_ldap_servers("corp.example", lambda _: records) == [
        "ldap://dc1.corp.example:389",
        "ldap://dc2.corp.example.:389",
        "ldap://dc3.corp.example:389",
    ]
    with pytest.raises(SourceUnreachable, match="no domain controller"):
        find_ldap_servers("corp.example", lambda _: [])
    assert domain_base("corp.example.") == "DC=corp,DC=example"


def test_capabilities_xml_is_read_leniently_and_never_with_a_dtd() -> None:
    caps = parse_capabilities(
        "<ClientOperationalSettings><Version>5.00.9132.1000</Version><X>R&D</X>"
        "<RootSiteCode>CAS</RootSiteCode><CCM><CommandLine>SMSSITECODE=P01 FSP=x</CommandLine></CCM>"
        "</ClientOperationalSettings>"
    )
    assert caps is not None and caps.version == "5.00.9132.1000"
    assert caps.site_type("P01") == "primary" and caps.site_type("CAS") == "central_administration"
    assert caps.site_type("S01") == "secondary"
    assert parse_capabilities('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>') is None
    assert parse_capabilities("not xml") is None
