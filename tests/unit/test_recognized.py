"""Recognized software only: a product or publisher name leaves only when a shipped catalog of
public software knows it; in-house names are counted as ``unrecognized`` (issue 13)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sccm_cep import model as m
from sccm_cep.errors import PolicyError
from sccm_cep.model import Level
from sccm_cep.normalize import normalize_publisher, split_product
from sccm_cep.privacy.anonymize import OTHER, Anonymizer, SiteSecret
from sccm_cep.privacy.catalog import build_catalog
from sccm_cep.privacy.policy import default_policy_dir, load_policies
from sccm_cep.privacy.recognized import (
    UNRECOGNIZED,
    catalog_sizes,
    is_public_product,
    is_public_publisher,
    product_key,
    publisher_id_key,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "sccm_cep" / "normalize" / "data" / "public_software.yaml"
SOURCE_CSV = Path("/work/shared/data/public-software.csv")
SECRET = SiteSecret(bytes(range(32)), site="PS1")


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), target)
    return target


def _title(display_name: str) -> str | None:
    """The product the export derives from an Add/Remove Programs display name."""
    return split_product(display_name, None).product


def _anonymizer(policies_dir: Path | None = None, level: Level = Level.BASIC) -> Anonymizer:
    return Anonymizer(load_policies(policies_dir), SECRET, level, reference=date(2026, 12, 31))


def _software(*rows: tuple[str, str, str, int]) -> list[m.Record]:
    # As the export derives them: publisher normalized, display name split.
    return [
        m.Software(publisher=normalize_publisher(p), product=_title(t), version=v, installations=n)
        for p, t, v, n in rows
    ]


def _part(anonymizer: Anonymizer, *rows: tuple[str, str, str, int]) -> list[dict[str, object]]:
    return list(anonymizer.part(m.Software, lambda: _software(*rows)).rows)


def _notes(anonymizer: Anonymizer, reason: str) -> dict[str, tuple[int, int]]:
    finished = anonymizer.finish(site="x", period="2026-Q4", sections={}, sources={})
    return {n.field: (n.values, n.devices) for n in finished.suppressed if n.reason == reason}


# -- matching -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "display_name",
    [
        "Mozilla Firefox (x64 en-US)",
        "Mozilla Firefox 121.0 (x86 de)",
        "7-Zip 23.01 (x64)",
        "Google Chrome",
        "VLC media player",
        "Notepad++ (64-bit x64)",
        "Python 3.12.1 (64-bit)",
        "MOZILLA  FIREFOX",
        "Microsoft Edge WebView2 Runtime",
    ],
)
def test_public_titles_match_through_the_normalizer(display_name: str) -> None:
    assert is_public_product(_title(display_name)), display_name


@pytest.mark.parametrize(
    "display_name",
    [
        "Contoso Firefox Wrapper",  # contains a public name: only whole names match
        "Mozilla Firefox Vandermolen Edition",
        "Vandermolen Sprengplaner 3",
        "QuarryWeigh Kiosk Client",
        "Firefox Contoso",
        "",
        "3.12.1",
    ],
)
def test_in_house_titles_and_supersets_of_public_names_do_not_match(display_name: str) -> None:
    assert not is_public_product(_title(display_name)), display_name


def test_publishers_match_the_alias_table_and_the_index_ids() -> None:
    assert is_public_publisher("Microsoft Corporation")  # reviewed alias table
    assert is_public_publisher(normalize_publisher("Mozilla Foundation"))
    assert is_public_publisher("NirSoft")  # only a publisher id of the index
    assert is_public_publisher("VovSoft")
    assert publisher_id_key("Eclipse Adoptium") == "eclipseadoptium"
    for name in ("Vandermolen Quarrying AG", "Contoso IT", "HR", "IT", "", None, "Quarry IT (jdoe)"):
        assert not is_public_publisher(name), name


def test_keys_ignore_case_accents_and_punctuation_only() -> None:
    assert product_key("Dell Command | Update") == product_key("dell command update")
    assert product_key("Notepad++") == "notepad++"
    assert product_key("Mozilla Firefox") != product_key("Contoso Firefox")
    assert product_key("1.2.3") is None


# -- the anonymizer ---------------------------------------------------------------------------------


def test_in_house_title_named_after_the_customer_on_500_devices_is_only_counted() -> None:
    anonymizer = _anonymizer()
    rows = _part(
        anonymizer,
        ("Vandermolen Quarrying AG", "Vandermolen Sprengplaner 3", "3.4.1187", 500),
        ("Vandermolen Quarrying AG", "Vandermolen Sprengplaner 3", "3.5.0", 40),
        ("Contoso IT", "Contoso Firefox Wrapper", "1.0", 60),
        ("Mozilla", "Mozilla Firefox (x64 en-US)", "121.0", 80),
    )
    text = repr(rows)
    assert "Vandermolen" not in text and "Contoso" not in text
    # Both in-house titles merge into one row: no name, no version, their installations.
    assert {"publisher": UNRECOGNIZED, "product": UNRECOGNIZED, "version": None, "installations": 600} in rows
    assert {
        "publisher": "Mozilla",
        "product": "Mozilla Firefox",
        "version": "121.0",
        "installations": 80,
    } in rows
    notes = _notes(anonymizer, "unrecognized")
    assert notes["product"] == (2, 560)  # names, devices (largest row per title: a lower bound)
    assert notes["publisher"] == (2, 560)


def test_publisher_in_the_alias_table_vouches_for_its_titles_and_an_index_id_only_for_itself() -> None:
    rows = _part(
        _anonymizer(),
        ("Microsoft Corporation", "Office 16 Click-to-Run Licensing Component", "16.0", 90),
        ("NirSoft", "Contoso Helper", "2.0", 30),
    )
    pairs = {(r["publisher"], r["product"]) for r in rows}
    assert pairs == {("Microsoft", "Office 16 Click-to-Run Licensing Component"), ("NirSoft", UNRECOGNIZED)}


def test_a_title_is_unrecognized_when_any_of_its_rows_is() -> None:
    # The same in-house name under a public publisher and under the customer: never sent.
    rows = _part(
        _anonymizer(),
        ("Vandermolen Quarrying AG", "Quarry Dispatch", "1.0", 50),
        ("Microsoft Corporation", "Quarry Dispatch", "1.0", 50),
    )
    assert all(r["product"] == UNRECOGNIZED for r in rows)
    assert {r["publisher"] for r in rows} == {UNRECOGNIZED, "Microsoft"}


def test_identifier_and_rarity_still_make_other() -> None:
    anonymizer = _anonymizer()
    rows = _part(
        anonymizer,
        ("Vandermolen Quarrying AG", "Payroll for jdoe@vandermolen.example", "1.0", 50),
        ("Mozilla", "Mozilla Thunderbird", "115.0", 3),
        ("Mozilla", "Mozilla Firefox", "121.0", 80),
    )
    products = {r["product"] for r in rows}
    assert products == {OTHER, "Mozilla Firefox"}
    assert _notes(anonymizer, "identifier")["product"][0] == 1
    assert _notes(anonymizer, "threshold")["product"] == (1, 3)
    assert "product" not in _notes(anonymizer, "unrecognized")


def test_top_n_sends_only_recognized_names(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    text = path.read_text(encoding="utf-8").replace("action: suppress_below\n", "action: top_n\n", 2)
    path.write_text(text.replace("    k: 5\n", "    n: 2\n", 2), encoding="utf-8")
    rows = _part(
        _anonymizer(policy_dir),
        ("Vandermolen Quarrying AG", "Vandermolen Sprengplaner 3", "3.4", 900),
        ("Mozilla", "Mozilla Firefox", "121.0", 80),
        ("Google LLC", "Google Chrome", "120.0", 70),
    )
    assert {r["product"] for r in rows} == {UNRECOGNIZED, "Mozilla Firefox", "Google Chrome"}


def test_a_policy_may_widen_a_field_with_recognized_only_false(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("recognized_only: true", "recognized_only: false"), encoding="utf-8")
    anonymizer = _anonymizer(policy_dir)
    rows = _part(
        anonymizer,
        ("Vandermolen Quarrying AG", "Vandermolen Sprengplaner 3", "3.4", 500),
        ("Vandermolen Quarrying AG", "QuarryWeigh Kiosk Client", "2.11", 3),
    )
    assert {r["product"] for r in rows} == {"Vandermolen Sprengplaner 3", OTHER}
    assert _notes(anonymizer, "unrecognized") == {}
    # The catalog says what the site chose.
    catalog = {r.key: r for r in build_catalog(load_policies(policy_dir), sources={})}
    assert "recognized_only=false" in catalog["software.product"].treatment()


def test_the_explain_decision_says_unrecognized() -> None:
    anonymizer = _anonymizer()
    _part(anonymizer, ("Vandermolen Quarrying AG", "Vandermolen Sprengplaner 3", "3.4", 500))
    decision = anonymizer.decisions[("software", "product")]
    assert decision.sent("Vandermolen Sprengplaner 3") == UNRECOGNIZED
    assert decision.sent("never seen") == OTHER


# -- policy linter and catalog ----------------------------------------------------------------------


def _problems(policy_dir: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policies(policy_dir)
    return list(caught.value.problems)


def test_recognized_only_must_be_a_boolean(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    path.write_text(path.read_text().replace("recognized_only: true", "recognized_only: 1", 1))
    assert any("'recognized_only' has the wrong type" in p for p in _problems(policy_dir))


def test_recognized_only_applies_to_software_names_only(policy_dir: Path) -> None:
    path = policy_dir / "hardware_model.yaml"
    text = path.read_text()
    assert "    k: 5\n" in text
    path.write_text(text.replace("    k: 5\n", "    k: 5\n    recognized_only: false\n", 1))
    assert any("recognized_only applies only to software.publisher" in p for p in _problems(policy_dir))


def test_a_software_name_cannot_be_kept_unrecognized(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    text = path.read_text()
    start = text.index("  product:")
    end = text.index("  version:")
    block = (
        "  product:\n    action: keep\n    category: technical\n    level: basic\n"
        "    purpose: Every title as it is.\n"
    )
    path.write_text(text[:start] + block + text[end:])
    assert any("'product' names software: keep" in p for p in _problems(policy_dir))


def test_the_catalog_says_recognized_only_even_when_the_policy_leaves_it_out(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    path.write_text("".join(line for line in path.open() if "recognized_only" not in line))
    catalog = {r.key: r for r in build_catalog(load_policies(policy_dir), sources={})}
    assert catalog["software.product"].treatment() == "suppress_below k=5 recognized_only=true"
    assert catalog["software.publisher"].params["recognized_only"] is True
    assert "recognized_only" not in catalog["hardware_model.model"].params
    # Left out, the default holds: an in-house title is still only counted.
    rows = _part(_anonymizer(policy_dir), ("Vandermolen Quarrying AG", "Vandermolen Sprengplaner 3", "3", 50))
    assert rows[0]["product"] == UNRECOGNIZED


# -- the shipped index ------------------------------------------------------------------------------


def test_the_index_is_small_and_its_keys_are_what_the_matcher_computes() -> None:
    size = DATA.stat().st_size
    assert size < 400_000, size
    sizes = catalog_sizes()
    assert sizes["products"] > 10_000 and sizes["publishers"] > 5_000
    text = DATA.read_text(encoding="utf-8")
    products = text.split("products: |\n", 1)[1].splitlines()
    assert products == sorted(set(products))
    assert all(product_key(line.strip()) == line.strip() for line in products)


def test_the_index_is_loaded_lazily_once() -> None:
    code = (
        "import sccm_cep.privacy.anonymize, sccm_cep.privacy.recognized as r\n"
        "assert r._index.cache_info().currsize == 0\n"
        "r.is_public_product('Mozilla Firefox'); r.is_public_publisher('NirSoft')\n"
        "print(r._index.cache_info().misses)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "1"


@pytest.mark.skipif(not SOURCE_CSV.is_file(), reason="the public package list is not on this machine")
def test_the_index_is_reproducible_from_its_source() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_public_software.py"), str(SOURCE_CSV), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_generator_normalizes_names_and_drops_short_ids(tmp_path: Path) -> None:
    csv_path = tmp_path / "public-software.csv"
    csv_path.write_text(
        "publisher_id,package_id,product_name,tags\n"
        "Mozilla,Mozilla.Firefox,Mozilla Firefox (x64 en-US),browser\n"
        "TheDocumentFoundation,TheDocumentFoundation.LibreOffice,LibreOffice 24.8,office\n"
        "HR,HR.Tool,HR Tool 2.1,\n"
        "123,123.123pan,123,\n",
        encoding="utf-8",
    )
    out = tmp_path / "index.yaml"
    script = str(ROOT / "scripts" / "build_public_software.py")
    built = []
    for _ in range(2):  # the same input gives the same bytes
        subprocess.run([sys.executable, script, str(csv_path), "--out", str(out)], check=True, cwd=ROOT)
        built.append(out.read_bytes())
    assert built[0] == built[1]
    text = out.read_text(encoding="utf-8")
    publishers, products = (
        block.splitlines() for block in text.split("publishers: |\n")[1].split("products: |\n")
    )
    assert [p.strip() for p in publishers] == ["documentfoundation", "mozilla", "thedocumentfoundation"]
    assert [p.strip() for p in products] == ["hr tool", "libreoffice", "mozilla firefox"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,version\nx,1\n", encoding="utf-8")
    failed = subprocess.run(
        [sys.executable, script, str(bad), "--out", str(out)], capture_output=True, text=True
    )
    assert failed.returncode == 2 and "not a public-software.csv" in failed.stderr
