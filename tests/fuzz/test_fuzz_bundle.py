"""The bundle reader as hostile input: arbitrary bytes, and real bundles with bytes changed,
cut or added, are read or refused with one BundleError line (exit 12), in bounded memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sccm_cep.collector.store import Store, utcnow
from sccm_cep.delivery import BundleError, prepare_bundle, read_bundle
from sccm_cep.errors import ExitCode
from tests.fuzz.conftest import Meter, budget

CAP = 64 * 2**20


def _read(meter: Meter, path: Path) -> None:
    def one() -> None:
        try:
            read_bundle(path)
        except BundleError as exc:
            assert exc.exit_code == ExitCode.BUNDLE and "\n" not in exc.one_line()
            meter.count("refused")
            return
        meter.count("read")

    meter.run(one)


def test_arbitrary_bytes_are_refused_in_one_line(tmp_path: Path, meter: Callable[..., Meter]) -> None:
    m_ = meter(CAP, "bundle arbitrary bytes")
    path = tmp_path / "b.zip"

    @budget(100)
    @given(st.binary(max_size=2000) | st.binary(max_size=60).map(lambda b: b"PK\x03\x04" + b))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        _read(m_, path)

    run()
    assert m_.outcomes == {"refused": m_.inputs}


def test_mutated_real_bundles_are_read_only_when_intact(
    tmp_path: Path, store: Store, meter: Callable[..., Meter]
) -> None:
    good = prepare_bundle(store, "PS1", tmp_path / "good.zip", now=utcnow()).path.read_bytes()
    m_ = meter(CAP, "bundle mutations")
    path = tmp_path / "b.zip"

    @budget(150)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        raw = bytearray(good)
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "none"]))
        at = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[at] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del raw[at : at + data.draw(st.integers(1, 64))]
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        path.write_bytes(bytes(raw))
        before = m_.outcomes.get("read", 0)
        _read(m_, path)
        if m_.outcomes.get("read", 0) > before:
            assert bytes(raw) == good, kind  # any changed byte is refused

    run()
    assert m_.outcomes.get("refused"), m_.outcomes
