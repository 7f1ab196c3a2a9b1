"""Run Python as if only sccm-cep's base dependencies were installed.

The test venv has every extra; this blocks the import of any installed distribution that is
not in the requirement closure of ``sccm-cep`` without extras, so a module-level import of an
optional library fails here exactly as it would after a plain ``pip install sccm-cep``.
Usage: ``python base_only.py [--extras NAME,NAME] -c CODE`` (CODE runs with the blocker in
place; ``--extras`` allows what those extras bring, as if only they were installed).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections import deque
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def base_closure(root: str = "sccm-cep", extras: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Canonical names of the distributions an install of ``root[extras]`` brings."""
    seen: set[str] = set()
    done: set[tuple[str, str]] = set()
    todo = deque([(root, ""), *((root, extra) for extra in extras)])
    while todo:
        name, extra = todo.popleft()
        key = canonicalize_name(name)
        if (key, extra) in done:
            continue
        done.add((key, extra))
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo.append((req.name, ""))
    return seen


def blocked_modules(extras: set[str]) -> set[str]:
    allowed = base_closure(extras=extras)
    blocked = set()
    for module, dists in metadata.packages_distributions().items():
        if module in sys.stdlib_module_names or (
            module.startswith("_") and module[1:] in sys.stdlib_module_names
        ):
            continue
        if module in ("sccm_cep", "sccm_cep_connectors"):
            continue
        if not any(canonicalize_name(d) in allowed for d in dists):
            blocked.add(module)
    return blocked


class Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not a base dependency)", name=fullname)
        return None


if __name__ == "__main__":
    args = sys.argv[1:]
    extras: set[str] = set()
    if args[:1] == ["--extras"]:
        extras, args = set(args[1].split(",")), args[2:]
    names = blocked_modules(extras)
    # packaging itself is only needed above; drop it so product code cannot lean on it.
    for loaded in [m for m in sys.modules if m.split(".")[0] in names]:
        del sys.modules[loaded]
    sys.meta_path.insert(0, Blocker(names))
    if args[:1] != ["-c"] or len(args) < 2:
        raise SystemExit("usage: base_only.py [--extras NAME,...] -c CODE")
    exec(compile(args[1], "<base-only>", "exec"), {"__name__": "__main__"})
