"""The doctor's checks of who can use the files sccm-cep keeps (the data folder, the secrets and
the state file), and the ``Check`` record every check of the doctor returns.

Who can use them is asked of the platform seam (mode bits on POSIX, the access list on Windows)
and reported as found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sccm_cep.platform import Platform

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check; a passing check has severity ``info``.

    A failing one is an ``error`` (sccm-cep cannot work), a ``warning`` (a feature will fail)
    or ``info`` (an optional feature is absent).
    """

    name: str
    ok: bool
    severity: Severity
    detail: str
    fix: str | None = None


def _ok(name: str, detail: str) -> Check:
    return Check(name=name, ok=True, severity="info", detail=detail)


def _fail(name: str, severity: Severity, detail: str, fix: str | None) -> Check:
    return Check(name=name, ok=False, severity=severity, detail=detail, fix=fix)


def _data_dir_permissions(folder: Path, seam: Platform) -> Check:
    name = "data-dir-permissions"
    try:
        found = seam.exposure(folder)
    except OSError as exc:
        # The data-dir check already reports the cause; one root cause should be one error.
        return _fail(name, "info", f"not checked: {folder} cannot be examined ({_reason(exc)})", None)
    # The site's pseudonymization key lives here: in a folder others can write, they can swap it.
    if found.writers:
        detail = f"{folder} is {found.describe()} ({found.found})"
        return _fail(name, "error", detail, seam.fix_hint(folder))
    if found.readers:
        # The state store (site URLs, audit) is readable too; the keys have their own check.
        detail = f"{folder} is {found.describe()} ({found.found})"
        return _fail(name, "warning", detail, seam.fix_hint(folder))
    return _ok(name, f"{folder} is private ({found.found})")


def _secrets(folder: Path, seam: Platform) -> Check:
    name = "secrets"
    if not folder.is_dir():
        return _ok(name, f"no key files yet ({folder} is made with the first site key)")
    problems: list[tuple[str, str]] = []
    try:
        found = seam.exposure(folder)
        if not found.private:
            problems.append((f"{folder} is {found.describe()} ({found.found})", seam.fix_hint(folder)))
        keys = sorted(folder.glob("*.key"))
        for key in keys:
            exposed = seam.exposure(key)
            if not exposed.private:
                problems.append((f"{key.name} is {exposed.describe()} ({exposed.found})", seam.fix_hint(key)))
    except OSError as exc:
        return _fail(name, "error", f"{folder} cannot be examined ({_reason(exc)})", "check the folder")
    if problems:
        # A key others can read lets them link pseudonyms back; one that is not private is refused.
        return _fail(name, "error", "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))
    return _ok(name, f"{folder} and its {len(keys)} key file(s) are private ({found.found})")


def _state_file(state_url: str | None, seam: Platform) -> Check:
    name = "state-file"
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(state_url) if state_url else None
    except (ArgumentError, ValueError):
        return _ok(name, "not checked: the state store URL is not valid (see state-store)")
    if url is None or url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return _ok(name, "the state store is not a local file")
    path = Path(url.database)
    if not path.exists():
        return _ok(name, f"{path} does not exist yet; it is made private")
    try:
        found = seam.exposure(path)
    except OSError as exc:
        return _fail(name, "warning", f"{path} cannot be examined ({_reason(exc)})", "check the file")
    if not found.private:
        # It holds no secret value, but site URLs, references and the audit trail.
        return _fail(name, "warning", f"{path} is {found.describe()} ({found.found})", seam.fix_hint(path))
    return _ok(name, f"{path} is private ({found.found})")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
