"""The HTML report in headless Chromium: loads offline, no console errors, every section, no canary.

Locally the test skips when Chromium is missing; with CI=true it fails instead. The screenshot
is kept under build/test-artifacts/ (or $SCCM_CEP_TEST_ARTIFACTS) for CI to collect.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from fixtures.synthetic_site import CANARIES
from sccm_cep.review.report_html import SECTION_TITLES, bar_chart

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
ARTIFACTS = Path(os.environ.get("SCCM_CEP_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))


@pytest.fixture(scope="module")
def chromium() -> str:
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if not found:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed; CI must run the HTML report test (scripts/ensure-services)")
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


def test_report_loads_offline_with_every_section_and_no_canary(cep: Any, tmp_path: Path, chromium: str) -> None:
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
