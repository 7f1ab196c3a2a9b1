"""AD fidelity against a real Samba AD DC: discovery, UPN binds over LDAPS and StartTLS, coverage."""

from __future__ import annotations

from pathlib import Path

import certifi
import pytest

from sccm_cep.errors import SccmCepError, SourceAuthError
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


def test_a_plain_ldap_url_binds_only_after_starttls(samba_dc: SambaDc, svc_password: str) -> None:
    # Samba, like AD, refuses a SIMPLE bind in clear (strongerAuthRequired), so this bind only
    # succeeds if LdapDirectory upgraded the ldap:// connection with StartTLS first.
    directory = LdapDirectory(
        f"ldap://{HOST}:389", bind_dn=SVC_UPN, password_ref=svc_password, ca_bundle=samba_dc.ca
    )
    with directory:
        assert directory.exists(SYSTEM_MANAGEMENT)
        assert directory.default_naming_context() == DOMAIN_DN


def test_starttls_to_a_dc_whose_ca_is_not_trusted_is_refused(samba_dc: SambaDc, svc_password: str) -> None:
    # The public CAs do not vouch for the DC's self-signed one: validation is on, so no bind.
    untrusted = Path(certifi.where())
    directory = LdapDirectory(
        f"ldap://{HOST}:389", bind_dn=SVC_UPN, password_ref=svc_password, ca_bundle=untrusted
    )
    with pytest.raises(SccmCepError) as caught:
        directory.open()
    assert not isinstance(caught.value, SourceAuthError), "refused at TLS, before any password is sent"


def test_coverage_counts_the_enabled_computers(samba_dc: SambaDc, svc_password: str) -> None:
    with _directory(samba_dc, SVC_UPN, svc_password) as directory:
        in_computers = count_enabled_computers(directory, f"CN=Computers,{DOMAIN_DN}")
        in_domain = count_enabled_computers(directory)

    assert in_computers == enabled_computers() == 15
    assert in_domain == enabled_computers() + DC_ACCOUNTS  # the DC's own account is an enabled computer
