"""Client script output into ``device`` records: per-device aggregation as the SQL statement does it."""

from __future__ import annotations

from typing import Any

from sccm_cep import model as m
from sccm_cep.connector import CollectionRequest
from sccm_cep_connectors.winrm import WinRMConnector
from sccm_cep_connectors.winrm.mapping import CLIENT_RECORDS, ClientCounts

INVENTORY: dict[str, Any] = {
    "ClientId": "GUID:0000-TEST",
    "ClientVersion": "5.00.9128.1000",
    "OperatingSystem": [{"Caption": "Microsoft Windows 11 Enterprise", "Version": "10.0.22631"}],
    "ComputerSystem": [
        {"Manufacturer": "Dell Inc.", "Model": "Latitude 7440", "TotalPhysicalMemory": 17_000_000_000}
    ],
    "Processors": [
        {"Name": "Intel Xeon Gold", "NumberOfCores": 8},
        {"Name": "Intel Xeon Gold", "NumberOfCores": 8},
    ],
    "SystemDisk": [{"Size": 512 * 2**30}],
    "Enclosures": [{"ChassisTypes": [10, 9]}],
    "Bios": [{"ReleaseDate": "2023-10-21T00:00:00"}],
}


def _devices(inventory: dict[str, Any] | None, software: list[dict[str, Any]] | None) -> list[m.Record]:
    fields = CLIENT_RECORDS["device"]
    counts = ClientCounts({"device": fields})
    counts.add(inventory, software)
    return list(counts.records(m.Device, fields))


def test_device_fields_are_aggregated_per_client() -> None:
    (device,) = _devices(INVENTORY, [{"DisplayName": "A"}, {"DisplayName": "B"}])
    assert isinstance(device, m.Device)
    assert device.device_id == "GUID:0000-TEST" and device.client_version == "5.00.9128.1000"
    assert device.cores == 16 and device.cpu_name == "Intel Xeon Gold"
    assert device.memory_gb == 16 and device.system_disk_gb == 512
    assert device.chassis_type == "10" and device.bios_release_year == 2023
    assert device.software_count == 2
    assert device.host_name is None and device.user_name is None


def test_missing_inventory_gives_empty_fields_not_errors() -> None:
    (device,) = _devices({"ClientId": "GUID:1", "Enclosures": [{"ChassisTypes": []}]}, [])
    assert isinstance(device, m.Device)
    assert device.device_id == "GUID:1"
    assert device.cores is None and device.memory_gb is None and device.chassis_type is None
    assert device.software_count is None  # as the SQL connector's outer join gives it


def test_device_fields_winrm_cannot_read_are_noted() -> None:
    connector = WinRMConnector("sccm01.corp.example", ["pc01.corp.example"])
    request = CollectionRequest(level=m.Level.ENHANCED, fields={"device": frozenset({"host_name", "cores"})})
    assert "device: not collected over WinRM: host_name" in connector.skipped(request)
