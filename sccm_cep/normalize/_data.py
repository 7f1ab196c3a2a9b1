"""Loads the YAML catalogs shipped in ``sccm_cep/normalize/data`` (the only I/O in normalize)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["load"]


@lru_cache(maxsize=16)
def load(name: str) -> Any:
    """The parsed content of the catalog ``data/<name>.yaml``, read once per process."""
    path = resources.files("sccm_cep.normalize").joinpath("data").joinpath(f"{name}.yaml")
    # libyaml's safe loader when PyYAML has it: the catalogs load 10x faster.
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
