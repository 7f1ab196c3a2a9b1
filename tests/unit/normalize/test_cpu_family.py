"""cpu_family: processor family from Win32_Processor names."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import cpu_family


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("13th Gen Intel(R) Core(TM) i5-1345U", "Intel Core i5 (13th Gen)"),
        ("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "Intel Xeon Gold"),
        ("AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics", "AMD Ryzen 7 PRO"),
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC"),
        ("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", "Intel Core i7 (8th Gen)"),
        ("Intel(R) Core(TM) i7-10610U CPU @ 1.80GHz", "Intel Core i7 (10th Gen)"),
        ("11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz", "Intel Core i5 (11th Gen)"),
        ("Intel(R) Core(TM) i5-1135G7", "Intel Core i5 (11th Gen)"),
        ("Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz", "Intel Core i3 (2nd Gen)"),
        ("Intel(R) Core(TM) i7-920 CPU", "Intel Core i7 (1st Gen)"),
        ("Intel(R) Core(TM) i9-14900K", "Intel Core i9 (14th Gen)"),
        ("Intel(R) Core(TM) m3-8100Y CPU @ 1.10GHz", "Intel Core m3 (8th Gen)"),
        ("Intel(R) Core(TM) Ultra 7 155U", "Intel Core Ultra 7 (Series 1)"),
        ("Intel(R) Core(TM) Ultra 7 265K", "Intel Core Ultra 7 (Series 2)"),
        ("Intel(R) Core(TM) 7 150U", "Intel Core 7 (Series 1)"),
        ("Intel(R) Core(TM)2 Duo CPU E8400 @ 3.00GHz", "Intel Core 2 Duo"),
        ("Intel(R) Core(TM)2 Quad CPU Q9400", "Intel Core 2 Quad"),
        ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "Intel Xeon E5"),
        ("Intel(R) Xeon(R) W-2245 CPU @ 3.90GHz", "Intel Xeon W"),
        ("Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", "Intel Xeon Silver"),
        ("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", "Intel Xeon Platinum"),
        ("Intel(R) Xeon(R) CPU X5650 @ 2.67GHz", "Intel Xeon"),
        ("Intel(R) Pentium(R) Silver N5000 CPU @ 1.10GHz", "Intel Pentium Silver"),
        ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", "Intel Celeron"),
        ("Intel(R) Atom(TM) x6413E", "Intel Atom"),
        ("AMD Ryzen 5 5600X 6-Core Processor", "AMD Ryzen 5"),
        ("AMD Ryzen 7 5800H with Radeon Graphics", "AMD Ryzen 7"),
        ("AMD Ryzen Threadripper PRO 5975WX 32-Cores", "AMD Ryzen Threadripper PRO"),
        ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", "AMD Ryzen AI 9"),
        ("AMD Athlon Silver 3050U with Radeon Graphics", "AMD Athlon"),
        ("AMD Opteron(tm) Processor 6174", "AMD Opteron"),
        ("AMD FX(tm)-8350 Eight-Core Processor", "AMD FX"),
        ("AMD A10-9700 RADEON R7, 10 COMPUTE CORES 4C+6G", "AMD A-Series"),
        ("Snapdragon(R) X Elite - X1E78100 - Qualcomm(R) Oryon(TM) CPU", "Qualcomm Snapdragon X Elite"),
        ("Microsoft SQ3 @ 3.0 GHz", "Microsoft SQ"),
    ],
)
def test_known_processors_map_to_their_family(name: str, family: str) -> None:
    assert cpu_family(name) == family


@pytest.mark.parametrize(
    "name",
    [
        "Common KVM processor",
        "QEMU Virtual CPU version 2.5+",
        "Foo(R) Bar(TM) 9000 @ 3.2GHz",
        "Ünïcode Prozessor 9000",
        "Vendor " + "x" * 300,
        # A device-count-1 name carrying a host and a user name must not come back as itself.
        "WS0042 jsmith custom build CPU @ 3.0GHz",
    ],
)
def test_unknown_processors_are_other_never_their_name(name: str) -> None:
    assert cpu_family(name) == "other"


@pytest.mark.parametrize("name", [None, "", "   ", "CPU", "@ 2.0GHz"])
def test_missing_processor_name_is_none(name: str | None) -> None:
    assert cpu_family(name) is None
