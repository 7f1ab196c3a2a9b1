"""The policy loader as hostile input: any YAML-ish text in a policy file loads or is refused
with one PolicyError line (exit 3), in bounded memory and time (no alias expansion)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep.errors import ExitCode, PolicyError
from sccm_cep.privacy.policy import default_policy_dir, load_policies
from tests.fuzz.conftest import Meter, budget

CAP = 64 * 2**20
_WORDS = [
    "record:",
    "fields:",
    "action:",
    "keep",
    "drop",
    "generalize",
    "bands:",
    "- ",
    "&a ",
    "*a",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "\n",
    "  ",
    "k: ",
    "2",
    "-1",
    ".nan",
    ".inf",
    "!!python/object",
    "'",
    '"',
    "#",
    "~",
]


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), target)
    return target


def _texts(real: str) -> st.SearchStrategy[str]:
    tokens = st.lists(st.sampled_from(_WORDS) | st.text(max_size=6), max_size=60).map("".join)
    lines = real.splitlines()

    def spliced(data: tuple[int, int, str]) -> str:
        at, cut, insert = data
        return "\n".join([*lines[:at], insert, *lines[at + cut :]])

    return st.one_of(
        st.text(max_size=300),
        tokens,
        st.tuples(st.integers(0, len(lines)), st.integers(0, 3), tokens).map(spliced),
    )


def test_any_text_in_a_policy_file_loads_or_is_one_policy_error(
    policies: Path, meter: Callable[..., Meter]
) -> None:
    m_ = meter(CAP, "policy files")
    target = sorted(policies.glob("*.yaml"))[0]
    real = target.read_text(encoding="utf-8")

    @budget(30)
    @given(_texts(real))
    def run(text: str) -> None:
        target.write_text(text, encoding="utf-8", errors="surrogatepass")

        def one() -> None:
            try:
                load_policies(policies)
            except PolicyError as exc:
                assert exc.exit_code == ExitCode.CONFIG and "\n" not in exc.one_line()
                m_.count("refused")
                return
            m_.count("loaded")

        m_.run(one)

    try:
        run()
    finally:
        target.write_text(real, encoding="utf-8")
    assert m_.outcomes.get("refused"), m_.outcomes
    assert yaml.safe_load(real)  # the real file is back
