"""The HTML report: in headless Chromium it loads offline with no console errors, every section
and no canary; rendered from hostile values, every one comes out escaped; the same input gives
the same bytes.

Locally the test skips when Chromium is missing; with CI=true it fails instead. The screenshot
is kept under build/test-artifacts/ (or $SCCM_CEP_TEST_ARTIFACTS) for CI to collect.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError
from markupsafe import escape

from fixtures.synthetic_site import CANARIES
from sccm_cep import model as m
from sccm_cep.privacy.anonymize import SuppressionNote
from sccm_cep.privacy.approval import ApprovalView
from sccm_cep.privacy.catalog import CatalogRow
from sccm_cep.review import report_html
from sccm_cep.review.preview import OutboxRow, Preview
from sccm_cep.review.report_html import SECTION_TITLES, bar_chart, render_report

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(
    os.environ.get(
        "SCCM_CEP_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
    )
)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if not found:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "chromium is not installed; CI must run the HTML report test (scripts/ensure-services)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium; CI never skips this)")
    return found


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)


class _Text(HTMLParser):
    """Visible text of a page: everything outside <style>, <script>, <head>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._hidden += tag in ("style", "script", "title")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("style", "script", "title")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _no_canary(text: str, where: str) -> None:
    low = text.lower()
    leaked = [(k, v) for k, values in CANARIES.items() for v in values if v.lower() in low]
    assert not leaked, f"canaries in {where}: {leaked}"


def test_report_loads_offline_with_every_section_and_no_canary(
    cep: Any, tmp_path: Path, chromium: str
) -> None:
    cep("run", "--due", "--as-of", "2026-12-20")
    report = tmp_path / "report.html"
    cep("report", "PS1", "--out", str(report), "--level", "enhanced")
    html = report.read_text(encoding="utf-8")
    _no_canary(html, "the report file")
    fetches = re.findall(r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not fetches and "url(" not in html and "@import" not in html and "<script" not in html
    url = report.as_uri()

    dom = _run(chromium, tmp_path / "p1", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = _Text()
    parser.feed(dom.stdout)
    visible = " ".join(parser.parts)
    for title in SECTION_TITLES:
        assert title in visible, f"section '{title}' is not visible"
    _no_canary(dom.stdout, "the rendered page")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "review-report.png"
    shot.unlink(missing_ok=True)
    run = _run(
        chromium,
        tmp_path / "p2",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1280,4000",
        url,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    assert shot.is_file() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_labels_are_escaped() -> None:
    svg = bar_chart("t", [("<script>alert(1)</script>", 3.0)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


# -- escaping, determinism and the templates -------------------------------------------------------

ATTACK = '<script>alert(1)</script>"&'
REPO = Path(__file__).resolve().parents[2]


def _hostile(place: str) -> str:
    """A value that would break the page unescaped, tagged with where it goes in (stays ≤ 40 chars)."""
    return f"{place}{ATTACK}"


PLACES = [
    "site",
    "name",
    "gen",
    "digest",
    "c.sect",
    "c.rec",
    "c.field",
    "c.desc",
    "c.conn",
    "c.src",
    "c.cat",
    "c.action",
    "c.param",
    "c.purp",
    "c.level",
    "period",
    "env.id",
    "env.site",
    "record",
    "column",
    "value",
    "os.family",
    "product",
    "feature",
    "s.record",
    "s.field",
    "s.action",
    "note",
    "a.at",
    "a.by",
    "a.digest",
    "a.note",
    "o.period",
    "o.kind",
    "o.id",
    "o.state",
    "o.created",
    "o.sha",
]


def _hostile_inputs() -> dict[str, Any]:
    """render_report's arguments with an attack string in every place data reaches the report."""
    h = _hostile
    catalog = [
        CatalogRow(
            section=h("c.sect"),
            record=h("c.rec"),
            field=h("c.field"),
            description=h("c.desc"),
            sources={h("c.conn"): h("c.src"), "sccm-cep": "derived"},
            category=h("c.cat"),
            action=h("c.action"),
            params={"k": h("c.param")},
            purpose=h("c.purp"),
            level=h("c.level"),
        ),
        CatalogRow("software", "software", "product", "Product.", {}, "technical", "drop", {}, "", "basic"),
    ]
    document: dict[str, Any] = {
        "document_id": h("env.id"),
        "site": {"code": h("env.site")},
        "period": h("period"),
        "operating_systems": {
            "operating_system": [{"family": h("os.family"), "release": "11", "device_count": 40}]
        },
        "software": {"software": [{"product": h("product"), "installations": 7, "share": 0.123456}]},
        "deployments": {"deployment": [{"feature_type": h("feature"), "success_rate": 0.5}]},
        "hardware": {h("record"): [{h("column"): h("value"), "count": 3, "missing": None}], "empty": []},
    }
    notes = (SuppressionNote(h("s.record"), h("s.field"), h("s.action"), 5, 1234, 56789),)
    preview = Preview(
        site=h("site"),
        period=h("period"),
        level=m.Level.ENHANCED,
        document=document,
        suppressed=notes,
        notes=(h("note"),),
    )
    return {
        "site": h("site"),
        "site_name": h("name"),
        "generated_at": h("gen"),
        "policy_digest": h("digest"),
        "catalog": catalog,
        "preview": preview,
        "approvals": [ApprovalView(h("a.digest"), h("a.by"), h("a.at"), h("a.note"))],
        "outbox": [
            OutboxRow(
                h("o.period"), h("o.kind"), 2, h("o.id"), h("o.state"), h("o.created"), h("o.sha"), 4096
            )
        ],
    }


class _Tags(HTMLParser):
    """Every tag and attribute name of a page, and its text and attribute values as a reader gets them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.values: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        self.values.extend(v for _, v in attrs if v)

    def handle_data(self, data: str) -> None:
        self.values.append(data)


def test_every_value_reaching_the_report_is_escaped() -> None:
    html = render_report(**_hostile_inputs())
    assert "<script" not in html and ATTACK not in html
    missing = [p for p in PLACES if str(escape(_hostile(p))) not in html]
    assert not missing, f"not in the report, escaped: {missing}"
    assert str(escape(_hostile("os.family") + " 11")) in html  # the chart label
    page = _Tags()
    page.feed(html)
    assert page.tags <= {
        "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "nav", "a",
        "section", "div", "table", "thead", "tbody", "tr", "th", "td", "code", "span", "b", "br", "ul",
        "li", "figure", "figcaption", "svg", "text", "rect",
    }  # fmt: skip
    assert page.attributes <= {
        "lang", "charset", "http-equiv", "content", "name", "href", "id", "class", "role", "width",
        "height", "viewbox", "aria-label", "x", "y", "font-size", "text-anchor", "fill", "rx",
    }  # fmt: skip
    text = "".join(page.values)
    assert all(_hostile(p) in text for p in PLACES), "a reader must see the value as it was"


def test_report_keeps_its_content_security_policy_and_every_section() -> None:
    html = render_report(**_hostile_inputs())
    assert html.startswith("<!DOCTYPE html>\n") and html.endswith("</html>\n")
    csp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    assert csp in html
    ids = re.findall(r'<section id="([^"]+)"><h2>([^<]+)</h2>', html)
    assert [t for _, t in ids] == list(SECTION_TITLES)
    assert re.findall(r'<a href="#([^"]+)">', html) == [a for a, _ in ids]
    assert "only the 5 most common values are sent; the rest as 'other'" in html
    assert '<td class="n">1,234</td><td class="n">56,789</td>' in html
    assert '<td class="n">0.123</td>' in html and '<span class="muted">—</span>' in html
    assert "(1 rows)" in html and "empty: no rows" in html


def test_report_without_preview_approvals_or_outbox_says_so() -> None:
    html = render_report(**{**_hostile_inputs(), "preview": None, "approvals": [], "outbox": []})
    for said in (
        "No preview was taken.",
        "Nothing was suppressed in this preview.",
        "No approval has been recorded.",
        "Nothing has been taken for this site yet.",
    ):
        assert said in html
    assert html.count('<p class="muted">no data</p>') == 5


def test_report_is_byte_identical_for_the_same_input() -> None:
    first = render_report(**_hostile_inputs())
    report_html._environment.cache_clear()
    assert render_report(**_hostile_inputs()) == first
    script = (
        "import sys; from tests.review.test_report_html import _hostile_inputs as h;"
        " from sccm_cep.review.report_html import render_report as r;"
        " sys.stdout.buffer.write(r(**h()).encode())"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] == first.encode()


def test_templates_escape_whatever_their_name_and_refuse_undefined_values() -> None:
    env = report_html._environment()
    assert env.from_string("{{ v }}").render(v=ATTACK) == str(escape(ATTACK))
    with pytest.raises(UndefinedError):
        env.get_template("report.html").render()


def test_report_module_builds_no_html_and_ships_its_templates() -> None:
    source = Path(report_html.__file__).read_text(encoding="utf-8")
    assert not re.search(r"<[a-zA-Z!/]", source) and "Markup" not in source
    folder = files("sccm_cep.review") / "templates"
    assert all(
        (folder / name).is_file() for name in ("report.html", "macros.html", "chart.html", "report.css")
    )
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "review/templates/*" in project["tool"]["setuptools"]["package-data"]["sccm_cep"]


def test_collection_notes_show_also_when_nothing_was_suppressed() -> None:
    """An unreachable WinRM client is worth telling the reviewer whether or not a rule hid values."""
    inputs = _hostile_inputs()
    preview = dataclasses.replace(inputs["preview"], suppressed=(), notes=("3 clients were unreachable",))
    html = render_report(**{**inputs, "preview": preview})
    assert "Nothing was suppressed in this preview." in html
    assert "3 clients were unreachable" in html
