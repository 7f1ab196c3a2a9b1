"""Benchmark: how long the normalizers and the scrubber take on hostile input.

Moved here from the unit tests, where wall-clock limits flaked on a busy 2-core machine; the
tests assert what comes out, this measures how long it takes. Prints one row per case
and exits 1 when a case exceeds its budget (1 s for 10 MB input, 2 s for a 64 KiB
pathological repetition), so a regression is still visible when someone runs it:
``python -m bench.hostile_input``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from sccm_cep import normalize
from sccm_cep.privacy.scrub import scrub, scrub_findings

TEN_MB = 10 * 1024 * 1024
UNITS = [
    "a.",
    "1:",
    "\\\\a",
    "C:\\A B\\",
    "a@a.",
    "S-1-5-",
    "::",
    "(555) ",
    "%a%\\",
    "http://",
    "0000.",
    "SRV-1a",
]


def _time(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _scrub_case(text: str) -> Callable[[], object]:
    return lambda: (scrub_findings(text), scrub(text))


def main() -> int:
    huge = ("Microsoft Corporation 7-Zip 23.01 (x64) " * (TEN_MB // 40))[:TEN_MB]
    personal = (r"C:\Users\jdoe\x jdoe@contoso.com 10.1.2.3 " * (TEN_MB // 40))[:TEN_MB]
    one = [
        normalize.normalize_publisher,
        normalize.publisher_key,
        normalize.major_minor,
        normalize.clean_version,
    ]
    one += [normalize.sccm_release, normalize.chassis_name, normalize.form_factor, normalize.cpu_family]
    two = [normalize.split_product, normalize.windows_release, normalize.hypervisor, normalize.model_family]
    cases: list[tuple[str, float, Callable[[], object]]] = []
    cases += [(f"{f.__name__}(10 MB)", 1.0, lambda f=f: f(huge)) for f in one]  # type: ignore[misc]
    cases += [(f"{f.__name__}(10 MB, 10 MB)", 1.0, lambda f=f: f(huge, huge)) for f in two]  # type: ignore[misc]
    cases.append(("scrub + scrub_findings(10 MB)", 1.0, lambda: (scrub(personal), scrub_findings(personal))))
    for unit in UNITS:
        cases.append((f"scrub({unit!r} x 64 KiB)", 2.0, _scrub_case(unit * (64 * 1024 // len(unit) + 1))))
    over = 0
    for name, budget, action in cases:
        seconds = _time(action)
        flag = "" if seconds < budget else f"  OVER {budget:.0f} s"
        over += bool(flag)
        print(f"{seconds * 1000:9.1f} ms  {name}{flag}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
