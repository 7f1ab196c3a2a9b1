"""Fill the derived fields of canonical records with ``normalize``, and say which raw fields
each derived field is computed from (so a connector reads them even when they are not sent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sccm_cep import model as m
from sccm_cep import normalize as n
from sccm_cep.connector import DERIVED_INPUTS
from sccm_cep.privacy.identifiers import has_identifier
from sccm_cep.privacy.vocabularies import map_vocabularies

__all__ = ["derive", "inputs_for"]


def inputs_for(record: str, fields: frozenset[str]) -> frozenset[str]:
    """``fields`` plus every raw field they are derived from."""
    derived = DERIVED_INPUTS.get(record, {})
    needed = set(fields)
    for f in fields:
        needed.update(derived.get(f, ()))
    return frozenset(needed)


def derive(record: m.Record) -> m.Record:
    """The record with its derived fields filled from its raw ones, and its vocabulary-bound
    fields mapped onto their closed sets (after deriving, so derivations read the raw value)."""
    fill = _FILLERS.get(type(record))
    values = dict(fill(record)) if fill is not None else {}
    values.update(map_vocabularies(record))
    if not values:
        return record
    return dataclasses.replace(record, **values)


def _site(r: Any) -> Mapping[str, Any]:
    return {"release": n.sccm_release(r.build_number or r.version)}


def _client_version(r: Any) -> Mapping[str, Any]:
    return {"release": n.sccm_release(r.client_version)}


def _hardware(manufacturer: str | None, model: str | None) -> dict[str, Any]:
    hv = n.hypervisor(manufacturer, model)
    return {"model_family": n.model_family(manufacturer, model), "hypervisor": hv}


def _hardware_model(r: Any) -> Mapping[str, Any]:
    out = _hardware(r.manufacturer, r.model)
    # Closed sets: a maker the catalog does not know, and a model or processor name with any
    # word the rules do not know, leave as "other" (a raw value with an identifier stays raw, so the
    # anonymizer withholds it and says why).
    out["vendor"] = _raw_if_identifier(r.manufacturer, n.hardware_vendor(r.manufacturer))
    out["model"] = _raw_if_identifier(r.model, n.hardware_model_name(r.manufacturer, r.model))
    out["is_virtual"] = None if r.manufacturer is None and r.model is None else out["hypervisor"] is not None
    return out


def _cpu(r: Any) -> Mapping[str, Any]:
    return {
        "cpu_family": n.cpu_family(r.cpu_name),
        "cpu_name": _raw_if_identifier(r.cpu_name, n.cpu_model(r.cpu_name)),
    }


def _chassis(r: Any) -> Mapping[str, Any]:
    return {"chassis": n.chassis_name(r.chassis_type), "form_factor": n.form_factor(r.chassis_type)}


def _os_fields(caption: str | None, version: str | None, server_hint: bool) -> dict[str, Any]:
    if server_hint and caption and "server" not in caption.lower():
        caption = f"{caption} Server"
    rel = n.windows_release(caption, version)
    return {"family": rel.family, "release": rel.release, "build": rel.build, "edition": rel.edition}


def _operating_system(r: Any) -> Mapping[str, Any]:
    server = r.product_type in ("server", "domain_controller")
    return _os_fields(r.caption, r.version, server)


def _software(r: Any) -> Mapping[str, Any]:
    name = n.split_product(r.product, r.version)
    # A raw name with an identifier in it stays raw, so the anonymizer withholds it (and says so)
    # instead of sending what tidying left of it ("10.77.148.203 Contoso" -> "Contoso").
    return {
        "publisher": _raw_if_identifier(r.publisher, n.normalize_publisher(r.publisher)),
        "product": _raw_if_identifier(r.product, name.product),
        "version": name.version,
    }


def _raw_if_identifier(raw: str | None, tidied: Any) -> Any:
    return raw if isinstance(raw, str) and has_identifier(raw) else tidied


#: Device rows share few raw (OS, model, CPU, chassis) tuples: each is derived once, up to this many.
_DEVICE_MEMO_SIZE = 1 << 16
_device_memo: dict[tuple[Any, ...], Mapping[str, Any]] = {}


def _device(r: Any) -> Mapping[str, Any]:
    key = (r.os_caption, r.os_version, r.manufacturer, r.model, r.cpu_name, r.chassis_type)
    found = _device_memo.get(key)
    if found is None:
        found = _device_fields(*key)
        if len(_device_memo) < _DEVICE_MEMO_SIZE:
            _device_memo[key] = found
    return found


def _device_fields(
    os_caption: Any, os_version: Any, manufacturer: Any, model: Any, cpu_name: Any, chassis_type: Any
) -> Mapping[str, Any]:
    os_ = _os_fields(os_caption, os_version, False)
    hw = _hardware(manufacturer, model)
    return {
        "os_family": os_["family"],
        "os_release": os_["release"],
        "os_edition": os_["edition"],
        "model_family": hw["model_family"],
        "hypervisor": hw["hypervisor"],
        "cpu_family": n.cpu_family(cpu_name),
        "chassis": n.chassis_name(chassis_type),
    }


_FILLERS: dict[type[m.Record], Any] = {
    m.Site: _site,
    m.ClientVersion: _client_version,
    m.HardwareModel: _hardware_model,
    m.HardwareCpu: _cpu,
    m.HardwareChassis: _chassis,
    m.OperatingSystem: _operating_system,
    m.Software: _software,
    m.Device: _device,
}
