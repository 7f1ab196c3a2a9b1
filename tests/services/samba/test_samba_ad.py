"""AD fidelity against a real Samba AD DC: discovery, UPN binds over LDAPS, the SD-flags control, coverage."""

from __future__ import annotations

import ssl

import pytest
from ldap3 import BASE, SIMPLE, Connection, Server, Tls
from ldap3.protocol.microsoft import security_descriptor_control

from sccm_cep.errors import SourceAuthError
from sccm_cep.platform.config import resolve_secret
from sccm_cep_connectors.ldap import LdapDirectory, count_enabled_computers, discover, discover_command
from tests.services.samba.samba import (
    ADMIN_UPN,
    DC_ACCOUNTS,
    DOMAIN_DN,
    HOST,
    SVC_UPN,
    SambaDc,
    enabled_computers,
)

SYSTEM_MANAGEMENT = f"CN=System Management,CN=System,{DOMAIN_DN}"
#: LDAP_SERVER_SD_FLAGS_OID's value: DACL_SECURITY_INFORMATION only (no SACL, which needs a privilege).
DACL_ONLY = 0x04


def _directory(dc: SambaDc, user: str, password_ref: str) -> LdapDirectory:
    return LdapDirectory(dc.ldaps_url, bind_dn=user, password_ref=password_ref, ca_bundle=dc.ca)


def test_discovery_finds_the_planted_sites_and_management_points(
    samba_dc: SambaDc, svc_password: str
) -> None:
    with _directory(samba_dc, SVC_UPN, svc_password) as directory:
        assert directory.default_naming_context() == DOMAIN_DN
        assert directory.has_object_class("mSSMSSite") is True
        sites = discover(directory)

    assert sorted(s.site_code for s in sites) == ["EU2", "PS1"]
    by_code = {s.site_code: s for s in sites}
    ps1, eu2 = by_code["PS1"], by_code["EU2"]
    assert ps1.published and ps1.domain == DOMAIN_DN
    assert ps1.site_guid == "{5E3C1B9A-2D47-4C8E-9F10-6A2B3C4D5E6F}"
    assert ps1.build == "5.00.9135.1000" and ps1.version == 11 and ps1.site_type == "primary"
    assert [(mp.host, mp.default, mp.device, mp.version) for mp in ps1.management_points] == [
        ("cm01.corp.example", True, False, 11),
        ("cm02.corp.example", False, True, 11),
    ]
    assert eu2.site_guid == "{0B7F4E21-93C5-4A6D-8E2F-1C3D5E7F9A0B}"
    assert [(mp.host, mp.default, mp.device) for mp in eu2.management_points] == [
        ("cmeu01.emea.example", True, None)
    ]


def test_discover_command_with_a_upn_over_ldaps_returns_rows_for_both_sites(
    samba_dc: SambaDc, svc_password: str
) -> None:
    rows = discover_command(samba_dc.ldaps_url, None, "simple", SVC_UPN, svc_password, samba_dc.ca, False)

    assert [(r["site_code"], r["domain"]) for r in rows] == [("EU2", DOMAIN_DN), ("PS1", DOMAIN_DN)]
    assert all(r["server"] == f"ldaps://{HOST}:636" for r in rows)
    assert sum(len(r["management_points"]) for r in rows) == 3


def test_administrator_upn_binds_and_a_wrong_password_is_refused(
    samba_dc: SambaDc, admin_password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _directory(samba_dc, ADMIN_UPN, admin_password) as directory:
        assert directory.exists(SYSTEM_MANAGEMENT)

    monkeypatch.setenv("SCCM_CEP_TEST_SAMBA_BAD_PW", "not-the-password")
    with pytest.raises(SourceAuthError):
        _directory(samba_dc, SVC_UPN, "env:SCCM_CEP_TEST_SAMBA_BAD_PW").open()


def test_simple_bind_without_tls_needs_a_stronger_bind(samba_dc: SambaDc, svc_password: str) -> None:
    server = Server(HOST, port=389, use_ssl=False, connect_timeout=10)
    conn = Connection(server, user=SVC_UPN, password=resolve_secret(svc_password), authentication=SIMPLE)
    try:
        assert not conn.bind()
        assert conn.result["result"] == 8  # strongerAuthRequired: AD/Samba refuse SIMPLE in clear
    finally:
        conn.unbind()


def test_security_descriptor_control_returns_the_container_dacl(samba_dc: SambaDc, svc_password: str) -> None:
    # LdapDirectory.search takes no controls; a connector read of the ACL would need a `controls`
    # argument passed through to paged_search (ldap3 security_descriptor_control(sdflags=0x04)).
    tls = Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT, ca_certs_file=str(samba_dc.ca))
    server = Server(HOST, port=636, use_ssl=True, tls=tls, connect_timeout=10)
    conn = Connection(server, user=SVC_UPN, password=resolve_secret(svc_password), authentication=SIMPLE)
    try:
        assert conn.bind(), conn.result
        assert conn.search(SYSTEM_MANAGEMENT, "(objectClass=*)", BASE, attributes=["nTSecurityDescriptor"])
        plain = (conn.response or [{}])[0]["raw_attributes"].get("nTSecurityDescriptor", [])
        ok = conn.search(
            SYSTEM_MANAGEMENT,
            "(objectClass=*)",
            BASE,
            attributes=["nTSecurityDescriptor"],
            controls=security_descriptor_control(sdflags=DACL_ONLY),
        )
        assert ok and conn.result["result"] == 0
        (blob,) = (conn.response or [{}])[0]["raw_attributes"]["nTSecurityDescriptor"]
    finally:
        conn.unbind()

    assert plain == []  # without the control AD asks for the SACL too, which a plain account may not read
    assert isinstance(blob, bytes) and len(blob) > 20
    assert blob[0] == 1  # SECURITY_DESCRIPTOR_RELATIVE revision 1
    control = int.from_bytes(blob[2:4], "little")
    assert control & 0x0004 and control & 0x8000  # SE_DACL_PRESENT, SE_SELF_RELATIVE
    assert int.from_bytes(blob[12:16], "little") == 0  # no SACL offset: only the DACL was asked for
    assert int.from_bytes(blob[16:20], "little") != 0  # a DACL offset


def test_coverage_counts_the_enabled_computers(samba_dc: SambaDc, svc_password: str) -> None:
    with _directory(samba_dc, SVC_UPN, svc_password) as directory:
        in_computers = count_enabled_computers(directory, f"CN=Computers,{DOMAIN_DN}")
        in_domain = count_enabled_computers(directory)

    assert in_computers == enabled_computers() == 15
    assert in_domain == enabled_computers() + DC_ACCOUNTS  # the DC's own account is an enabled computer


def test_setup_is_fast_enough(samba_dc: SambaDc) -> None:
    assert samba_dc.setup_seconds < 90
