"""Device rows are read from the site once, kept in a private spill between the anonymizer's
two passes, and the spill leaves nothing behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from sccm_cep.model import Device, Level
from sccm_cep.privacy.anonymize import Anonymizer, SiteSecret
from sccm_cep.privacy.policy import load_policies
from sccm_cep.privacy.spill import RowSpill


def _device(i: int) -> Device:
    return Device(
        device_id=f"GUID:{i:08d}",
        host_name=f"PC-{i:05d}",
        user_name=f"CONTOSO\\user{i}",
        os_family="Windows 11",
        os_release="23H2",
        os_edition="Enterprise",
        architecture="x64",
        model_family="Dell Latitude" if i % 3 else "HP EliteBook",
        cpu_family="Intel Core i5 (13th Gen)",
        cores=4 + 4 * (i % 2),
        memory_gb=16,
    )


def test_the_spill_gives_back_every_row_in_order_from_memory_or_disk(data_dir: Path) -> None:
    small, big = RowSpill(), RowSpill(memory_limit=1024)
    rows = [(i, f"value {i}", None, i * 0.5) for i in range(10_000)]
    for row in rows:
        small.append(row)
        big.append(row)
    assert not small.on_disk and big.on_disk
    assert list(small) == rows and list(big) == rows
    assert list(big) == rows  # read again: the stream may be read more than once
    both = zip(iter(big), iter(big), strict=True)  # two readers at once do not disturb each other
    assert all(a == b for a, b in both)
    # The file has no name under the data folder's private tmp folder, and goes with close().
    folder = data_dir / "tmp"
    assert folder.is_dir() and not any(folder.iterdir())
    if os.name == "posix":
        assert folder.stat().st_mode & 0o077 == 0
    big.close()
    assert list(big) == []


def test_device_rows_read_the_source_once_and_match_a_second_read(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setattr("sccm_cep.privacy.spill.MEMORY_LIMIT", 2048)  # force the file path
    reads = 0

    def source() -> Iterator[Device]:
        nonlocal reads
        reads += 1
        return (_device(i) for i in range(3000))

    anonymizer = Anonymizer(
        load_policies(), SiteSecret(b"k" * 32, site="P01"), Level.ENHANCED, reference=date(2026, 12, 31)
    )
    part = anonymizer.part(Device, source)
    first = list(part.iter_rows())
    assert reads == 1
    assert (data_dir / "tmp").is_dir()  # the rows went through the private spill file
    assert list(part.iter_rows()) == first and reads == 1
    assert len(first) == 3000
    # Per-period pseudonyms, nothing the policy drops, and the counted fields as decided.
    assert {len(r["device_id"]) for r in first} == {32}
    assert len({r["device_id"] for r in first}) == 3000
    assert all("host_name" not in r and "user_name" not in r for r in first)
    assert {r["model_family"] for r in first} == {"Dell Latitude", "HP EliteBook"}
