"""AD discovery and coverage counts against a real slapd: sites, MPs, paging, TLS, binds and their errors."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from ldap3 import SUBTREE, Connection, Server

from sccm_cep.errors import ConfigError, NotAnSccmSite, SourceAuthError, SourceUnreachable
from sccm_cep_connectors.ldap import (
    LdapDirectory,
    SrvRecord,
    count_enabled_computers,
    discover,
    discover_command,
)
from tests.services.ldap.slapd import COMPUTERS, SOFT_SIZE_LIMIT, SVC_DN, Slapd, enabled_computers

CORP, EMEA, PLAIN = "DC=corp,DC=example", "DC=emea,DC=example", "DC=plain,DC=example"


def _directory(slapd: Slapd, password_ref: str, *, url: str | None = None, **kw: object) -> LdapDirectory:
    return LdapDirectory(
        url or slapd.ldaps_url,
        bind_dn=SVC_DN,
        password_ref=password_ref,
        ca_bundle=slapd.certs.ca,
        **kw,  # type: ignore[arg-type]
    )


def test_discovery_returns_exactly_the_planted_sites_and_management_points(
    slapd: Slapd, svc_password: str
) -> None:
    with _directory(slapd, svc_password) as directory:
        sites = discover(directory, [CORP, EMEA])

    assert [(s.site_code, s.domain) for s in sites] == [("PS1", CORP), ("EU2", EMEA)]
    ps1, eu2 = sites
    assert ps1.published and ps1.site_guid == "{5E3C1B9A-2D47-4C8E-9F10-6A2B3C4D5E6F}"
    assert ps1.source_forest == "corp.example"
    assert ps1.build == "5.00.9135.1000" and ps1.version == 11 and ps1.site_type == "primary"
    assert [(mp.host, mp.default, mp.device, mp.version) for mp in ps1.management_points] == [
        ("cm01.corp.example", True, False, 11),
        ("cm02.corp.example", False, True, 11),
    ]
    assert ps1.default_mp is not None and ps1.default_mp.host == "cm01.corp.example"
    assert eu2.site_guid == "{0B7F4E21-93C5-4A6D-8E2F-1C3D5E7F9A0B}"
    assert [(mp.host, mp.default, mp.device) for mp in eu2.management_points] == [
        ("cmeu01.emea.example", True, None)
    ]


def test_discovery_over_starttls_defaults_to_the_rootdse_naming_context(
    slapd: Slapd, svc_password: str
) -> None:
    with _directory(slapd, svc_password, url=slapd.ldap_url) as directory:
        assert directory.default_naming_context().lower() == CORP.lower()
        sites = discover(directory)

    assert [s.site_code for s in sites] == ["PS1"]
    assert len(sites[0].management_points) == 2


def test_unexpected_attribute_values_are_skipped_and_reported_not_a_crash(
    slapd: Slapd, svc_password: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), _directory(slapd, svc_password) as directory:
        ps1, eu2 = discover(directory, [CORP, EMEA])

    # The MP whose mSSMSSiteCode is not a site code is left out and reported, by attribute, not value.
    assert all(mp.host != "broken.corp.example" for mp in ps1.management_points)
    assert any("invalid mSSMSSiteCode" in p for p in ps1.problems)
    # Capabilities that are not XML: the MP is kept, the capabilities are dropped and reported.
    assert eu2.capabilities is None and eu2.build is None
    assert any("mSSMSCapabilities" in p for p in eu2.problems)
    assert "NOT-A-CODE" not in caplog.text and "<ClientOperationalSettings>" not in caplog.text


def test_paged_search_counts_past_the_page_size_and_the_servers_size_limit(
    slapd: Slapd, svc_password: str
) -> None:
    total = sum(count for count, _ in COMPUTERS.values())
    assert total > SOFT_SIZE_LIMIT > 50
    # Without paging the server stops at its size limit: the limit is real.
    plain = Connection(Server("127.0.0.1", port=slapd.ldap_port), auto_bind=True)
    plain.search(CORP, "(objectClass=computer)", SUBTREE, attributes=["1.1"])
    assert len(plain.entries) == SOFT_SIZE_LIMIT and plain.result["result"] == 4
    plain.unbind()

    with _directory(slapd, svc_password, page_size=50) as directory:
        every = sum(1 for _ in directory.search(CORP, "(objectClass=computer)", ["1.1"]))

    assert every == COMPUTERS[CORP][0]


def test_coverage_count_equals_the_enabled_computers(slapd: Slapd, svc_password: str) -> None:
    with _directory(slapd, svc_password, page_size=50) as directory:
        corp = count_enabled_computers(directory, CORP)
        both = count_enabled_computers(directory, [CORP, EMEA])
        default = count_enabled_computers(directory)

    assert corp == default == enabled_computers(CORP) < COMPUTERS[CORP][0]
    assert both == enabled_computers(CORP) + enabled_computers(EMEA)


def test_anonymous_bind_discovers_where_the_directory_allows_it(slapd: Slapd) -> None:
    with LdapDirectory(slapd.ldaps_url, auth="anonymous", ca_bundle=slapd.certs.ca) as directory:
        sites = discover(directory, EMEA)

    assert [s.site_code for s in sites] == ["EU2"]


def test_wrong_password_is_an_auth_error_that_never_shows_the_password(
    slapd: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "Wr0ng-Secret-Value"
    monkeypatch.setenv("SCCM_CEP_TEST_LDAP_WRONG", wrong)
    directory = _directory(slapd, "env:SCCM_CEP_TEST_LDAP_WRONG")

    with pytest.raises(SourceAuthError) as caught:
        directory.open()

    assert "refused the simple bind" in caught.value.one_line()
    assert wrong not in caught.value.one_line() and wrong not in repr(directory)


@pytest.mark.parametrize("scheme", ["ldaps", "starttls"])
def test_a_server_certificate_from_an_untrusted_ca_is_refused(
    slapd: Slapd, svc_password: str, scheme: str
) -> None:
    url = slapd.ldaps_url if scheme == "ldaps" else slapd.ldap_url
    directory = LdapDirectory(url, bind_dn=SVC_DN, password_ref=svc_password, ca_bundle=slapd.certs.other_ca)

    with pytest.raises(ConfigError) as caught:
        directory.open()

    assert "TLS" in caught.value.message and "--ca-bundle" in (caught.value.hint or "")


def test_insecure_skips_certificate_validation_only_when_asked_and_warns(
    slapd: Slapd, svc_password: str, caplog: pytest.LogCaptureFixture
) -> None:
    directory = LdapDirectory(
        slapd.ldaps_url,
        bind_dn=SVC_DN,
        password_ref=svc_password,
        ca_bundle=slapd.certs.other_ca,
        insecure=True,
    )
    with caplog.at_level(logging.WARNING), directory:
        assert [s.site_code for s in discover(directory, CORP)] == ["PS1"]

    assert "validation is OFF" in caplog.text


def test_a_closed_port_is_unreachable(svc_password: str, slapd: Slapd) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    directory = _directory(slapd, svc_password, url=f"ldaps://127.0.0.1:{port}", connect_timeout=2)

    with pytest.raises(SourceUnreachable) as caught:
        directory.open()

    assert caught.value.retryable and "cannot reach" in caught.value.message


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_server_that_never_answers_times_out_as_unreachable(silent_port: int) -> None:
    directory = LdapDirectory(f"ldap://127.0.0.1:{silent_port}", auth="anonymous", receive_timeout=1)

    with pytest.raises(SourceUnreachable):
        directory.open()


def test_a_domain_without_the_system_management_container_gets_a_clear_error(
    slapd: Slapd, svc_password: str
) -> None:
    with _directory(slapd, svc_password) as directory, pytest.raises(NotAnSccmSite) as caught:
        discover(directory, PLAIN)

    text = caught.value.one_line()
    assert "System Management" in text and "schema may not be extended" in text
    assert "extadsch" in text and caught.value.exit_code == 6


def test_a_schema_without_the_configmgr_classes_gets_a_clear_error(unextended_slapd: Slapd) -> None:
    with LdapDirectory(
        unextended_slapd.ldaps_url, auth="anonymous", ca_bundle=unextended_slapd.certs.ca
    ) as directory:
        assert directory.has_object_class("mSSMSSite") is False
        with pytest.raises(NotAnSccmSite) as caught:
            discover(directory, CORP)

    assert "schema is not extended" in caught.value.message
    assert "extadsch" in (caught.value.hint or "")


def test_discover_command_finds_the_dc_from_srv_records_and_returns_json_rows(
    slapd: Slapd, svc_password: str
) -> None:
    asked: list[str] = []

    def resolver(name: str) -> list[SrvRecord]:
        asked.append(name)
        return [SrvRecord(0, 100, slapd.ldap_port, "127.0.0.1")]

    rows = discover_command(
        None,
        None,
        "simple",
        SVC_DN,
        svc_password,
        str(slapd.certs.ca),
        False,
        domain="corp.example",
        resolver=resolver,
    )

    assert asked == ["_ldap._tcp.dc._msdcs.corp.example"]
    assert json.loads(json.dumps(rows)) == rows
    assert [r["site_code"] for r in rows] == ["PS1"]
    assert rows[0]["server"] == f"ldap://127.0.0.1:{slapd.ldap_port}"
    assert [mp["host"] for mp in rows[0]["management_points"]] == ["cm01.corp.example", "cm02.corp.example"]
    assert rows[0]["capabilities"] == {
        "version": "5.00.9135.1000",
        "root_site_code": "PS1",
        "client_site_code": "PS1",
    }


def test_discover_command_tries_the_next_dc_when_one_is_down(slapd: Slapd, svc_password: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]

    rows = discover_command(
        None,
        EMEA,
        "simple",
        SVC_DN,
        svc_password,
        slapd.certs.ca,
        False,
        domain="corp.example",
        resolver=lambda _: [
            SrvRecord(0, 0, dead, "127.0.0.1"),
            SrvRecord(10, 0, slapd.ldap_port, "127.0.0.1"),
        ],
        connect_timeout=2,
    )

    assert [r["site_code"] for r in rows] == ["EU2"]


def test_counting_under_a_base_that_does_not_exist_names_the_base(slapd: Slapd, svc_password: str) -> None:
    with _directory(slapd, svc_password) as directory, pytest.raises(ConfigError) as caught:
        count_enabled_computers(directory, "DC=nowhere,DC=example")

    assert "DC=nowhere,DC=example" in caught.value.message and "--base" in (caught.value.hint or "")
