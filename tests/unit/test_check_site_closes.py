"""``site check`` closes every source it opened, also those after one that was the wrong site."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from sccm_cep.collector import sites
from sccm_cep.connector import CheckReport
from sccm_cep.errors import NotAnSccmSite


@dataclass
class Source:
    name: str
    code: str
    closed: list[str] = field(default_factory=list)

    def check(self) -> CheckReport:
        return CheckReport(site_code=self.code, version=None, build_number=None, managed_clients=None)

    def close(self) -> None:
        self.closed.append(self.name)


class Store:
    @contextmanager
    def session(self) -> Iterator[None]:
        yield None


def test_every_source_is_closed_when_the_first_is_another_site(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []
    opened = [Source("sccm_sql", "XYZ", closed), Source("winrm", "PS1", closed)]
    monkeypatch.setattr(sites, "find_site", lambda _session, code: SimpleNamespace(code=code))
    monkeypatch.setattr(sites, "open_site_connectors", lambda _site: opened)
    with pytest.raises(NotAnSccmSite, match="source is site XYZ, not PS1"):
        sites.check_site(Store(), "PS1")  # type: ignore[arg-type]
    assert closed == ["sccm_sql", "winrm"]


def test_both_reports_come_back_and_both_sources_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []
    opened = [Source("sccm_sql", "PS1", closed), Source("winrm", "ps1", closed)]
    monkeypatch.setattr(sites, "find_site", lambda _session, code: SimpleNamespace(code=code))
    monkeypatch.setattr(sites, "open_site_connectors", lambda _site: opened)
    reports = sites.check_site(Store(), "PS1")  # type: ignore[arg-type]
    assert [name for name, _ in reports] == ["sccm_sql", "winrm"]
    assert closed == ["sccm_sql", "winrm"]
