"""Closed vocabularies for low-cardinality fields a source reports as text.

OS architecture, site-system role, site type and status, chassis type code and the
ConfigMgr site and client versions each map onto a known set (``data/vocabularies.yaml``,
``data/hardware.yaml``, ``data/sccm.yaml``); anything else, however close, is ``OTHER`` and
never the raw value. Matching folds case and white space only: "64-bit (jdoe)" is ``OTHER``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sccm_cep.normalize._data import load
from sccm_cep.normalize.hardware import chassis_codes
from sccm_cep.normalize.sccm import release_table, sccm_release

__all__ = [
    "OTHER",
    "chassis_code",
    "os_architecture",
    "sccm_version",
    "site_role",
    "site_status",
    "site_type",
    "vocabulary",
]

#: What every vocabulary says for a value it does not know.
OTHER = "other"

_MAX_INPUT = 128
_SPACE = re.compile(r"\s+")
# A ChassisTypes value: one code or a list, optionally in braces: "10", "{10}", "3,9", "{2, 9}".
_CHASSIS_LIST = re.compile(r"\{?\s*[0-9]{1,4}(?:\s*[,;]\s*[0-9]{1,4})*\s*\}?")


def _fold(value: object) -> str | None:
    """Case- and space-folded text of a value; None for NULL, an empty or an overlong value."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value)
    if len(text) > _MAX_INPUT:
        return ""
    return _SPACE.sub(" ", text).strip().casefold()


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, str]]:
    d = load("vocabularies")
    arch = {
        _SPACE.sub(" ", str(s)).strip().casefold(): str(name)
        for name, spellings in d["os_architectures"].items()
        for s in spellings
    }
    return {
        "os_architecture": arch,
        "site_role": {str(r).casefold(): str(r) for r in d["site_roles"]},
        "site_type": {str(t): str(t) for t in d["site_types"]},
        "site_status": {str(s): str(s) for s in d["site_statuses"]},
    }


def _closed(table: str, value: object) -> str | None:
    folded = _fold(value)
    if folded is None:
        return None
    return _tables()[table].get(folded, OTHER)


def os_architecture(value: object) -> str | None:
    """x64, x86, arm64 or other: "64-bit", "64 bits", "x64-based PC" → x64; NULL → None."""
    return _closed("os_architecture", value)


def site_role(value: object) -> str | None:
    """A known site-system role name in its canonical spelling ("SMS Management Point"), or other."""
    return _closed("site_role", value)


def site_type(value: object) -> str | None:
    """primary, secondary, central_administration or other."""
    return _closed("site_type", value)


def site_status(value: object) -> str | None:
    """A known SMS_Site status name (active, pending, failed, ...) or other."""
    return _closed("site_status", value)


def sccm_version(value: object) -> str | None:
    """The ConfigMgr release of a site or client version: "5.00.9132.1011" → "2409"; else other."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int | str):
        return OTHER
    if isinstance(value, str) and value in _releases():
        return value  # already a release name: mapping twice gives the same value
    return sccm_release(value) or OTHER


@lru_cache(maxsize=1)
def _releases() -> frozenset[str]:
    return frozenset(release_table().values())


def chassis_code(value: object) -> str | None:
    """The SMBIOS chassis type code (as text) of a ChassisTypes value, or other.

    Only a well-formed value ("10", "{10}", "3,9") of known codes (1-36) maps; the most telling
    code is kept, as for the chassis name. "10 (jdoe)" is other.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str) and len(value) <= _MAX_INPUT:
        text = value.strip()
    else:
        return OTHER
    if not _CHASSIS_LIST.fullmatch(text):
        return OTHER
    code = chassis_codes(text)
    return OTHER if code is None else str(code)


def vocabulary(name: str) -> tuple[str, ...]:
    """Every value the vocabulary ``name`` can give, ``OTHER`` last."""
    if name == "sccm_version":
        values = sorted(set(release_table().values()))
    elif name == "chassis_code":
        values = [str(n) for n in sorted(load("hardware")["chassis_types"])]
    elif name == "os_architecture":
        values = list(dict.fromkeys(_tables()[name].values()))
    else:
        values = list(_tables()[name].values())
    return (*values, OTHER)
