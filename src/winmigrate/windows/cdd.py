"""The CriticalDeviceDatabase of Windows 7 / Server 2008 R2 and older.

``<CCS>\\Control\\CriticalDeviceDatabase\\<device id>`` tells the kernel which service drives a
boot-critical device it has never seen installed: without an entry for the new virtio disk
controller, such a guest stops with INACCESSIBLE_BOOT_DEVICE. The key name is the hardware or
compatible ID with ``\\`` written as ``#`` (a key name cannot hold a backslash); Windows
matches it case-insensitively. Each entry holds REG_SZ ``Service`` and ``ClassGUID`` (Windows'
own entries add ``DriverPackageId``; some carry ``UpperFilters``/``LowerFilters``, copied to the
device when it is installed). Verified on the Windows 7 corpus hive (2,548 entries per control
set; VMware Tools wrote ``pci#ven_15ad&dev_0740`` with only ``Service`` and ``ClassGUID``).

Windows 8 / 2012 and later have no CriticalDeviceDatabase: see ``winmigrate.windows.drivers``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError, WrongHiveError
from ..regf.regtype import RegType
from .changes import Change, ChangeSet, RegValue, apply_changes, find_key, join
from .controlsets import ControlSetSelection, resolve_control_set, select_control_sets

if TYPE_CHECKING:
    from ..hive import Hive, Key

__all__ = [
    "CDD_PATH",
    "SCSI_ADAPTER_CLASS",
    "CriticalDevice",
    "add_critical_device",
    "device_id_from_key_name",
    "key_name_for",
    "list_critical_devices",
    "plan_add_critical_device",
    "plan_remove_critical_devices",
    "remove_critical_devices",
]

CDD_PATH = r"Control\CriticalDeviceDatabase"
#: The SCSIAdapter setup class (virtio-blk and virtio-scsi controllers).
SCSI_ADAPTER_CLASS = "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
_GUID_RE = re.compile(r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                      r"[0-9A-Fa-f]{12}\}$")


@dataclass(frozen=True)
class CriticalDevice:
    """One CriticalDeviceDatabase entry. ``device_id`` is the key name with ``#`` turned back
    into ``\\`` (``pci#ven_15ad&dev_0740`` -> ``pci\\ven_15ad&dev_0740``); ``key_name`` is the
    key as stored."""

    device_id: str
    service: str | None
    class_guid: str | None
    key_name: str = ""
    control_set: str | None = None
    driver_package_id: str | None = None
    upper_filters: tuple[str, ...] = ()
    lower_filters: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"device_id": self.device_id, "service": self.service,
                "class_guid": self.class_guid, "key_name": self.key_name,
                "control_set": self.control_set, "driver_package_id": self.driver_package_id,
                "upper_filters": list(self.upper_filters),
                "lower_filters": list(self.lower_filters)}


def key_name_for(hardware_id: str) -> str:
    """The CDD key name for ``PCI\\VEN_1AF4&DEV_1001&REV_00`` or ``pci#ven_1af4&dev_1001&rev_00``:
    ``#`` for ``\\``, lower case (as the entries public tools and domain notes use; Windows
    matches case-insensitively)."""
    text = hardware_id.strip()
    if not text or any(ord(c) < 0x20 for c in text):
        raise UsageError(f"not a hardware ID: {hardware_id!r}")
    return text.replace("\\", "#").lower()


def device_id_from_key_name(name: str) -> str:
    return name.replace("#", "\\")


def _text(data: object) -> str | None:
    if isinstance(data, str):
        return data
    if isinstance(data, list) and data and isinstance(data[0], str):
        return str(data[0])
    return None


def _texts(data: object) -> tuple[str, ...]:
    if isinstance(data, list):
        return tuple(str(d) for d in data)
    if isinstance(data, str) and data:
        return (data,)
    return ()


def _read(key: Key, control_set: str) -> CriticalDevice:
    # one pass over the values (a CDD has thousands of entries)
    values = {v.name.upper(): v.data for v in key.values()}
    return CriticalDevice(device_id_from_key_name(key.name), _text(values.get("SERVICE")),
                          _text(values.get("CLASSGUID")), key.name, control_set,
                          _text(values.get("DRIVERPACKAGEID")), _texts(values.get("UPPERFILTERS")),
                          _texts(values.get("LOWERFILTERS")))


def _cdd_key(hive: Hive, control_set: str) -> Key | None:
    return find_key(hive, join(control_set, CDD_PATH))


def list_critical_devices(hive: Hive, control_set: int | str | None = None
                          ) -> list[CriticalDevice]:
    """Every entry of the control set's CriticalDeviceDatabase (default: the current set);
    empty on Windows 8 and later."""
    cs = resolve_control_set(hive, control_set)
    cdd = _cdd_key(hive, cs)
    return [] if cdd is None else [_read(k, cs) for k in cdd.subkeys()]


def _check_guid(class_guid: str) -> str:
    guid = class_guid.strip()
    if not _GUID_RE.match(guid):
        raise UsageError(f"not a class GUID: {class_guid!r} (give {{XXXXXXXX-XXXX-...}})")
    return guid.upper()


def plan_add_critical_device(hive: Hive, hardware_id: str, service: str,
                             class_guid: str = SCSI_ADAPTER_CLASS,
                             control_sets: ControlSetSelection = "all", *,
                             reason: str | None = None, changes: ChangeSet | None = None,
                             create_database: bool = False) -> tuple[Change, ...]:
    """The changes ``add_critical_device`` would make (nothing is written)."""
    name = key_name_for(hardware_id)
    guid = _check_guid(class_guid)
    if not service or "\\" in service:
        raise UsageError(f"not a service name: {service!r}")
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    why = reason or f"boot-critical device {device_id_from_key_name(name)} -> {service}"
    for cs in select_control_sets(hive, control_sets):
        cdd_path = join(cs, CDD_PATH)
        if not plan.key_exists(cdd_path) and not create_database:
            raise WrongHiveError(f"{cs} has no CriticalDeviceDatabase: this is Windows 8 / 2012 or "
                             "later, which uses the DriverDatabase (winmigrate.windows.drivers)")
        cdd = _cdd_key(hive, cs)
        existing = cdd.get_subkey(name) if cdd is not None else None
        path = join(cdd_path, existing.name if existing is not None else name)
        plan.ensure_key(path, why)
        plan.set_value(path, "Service", RegValue.make(service, RegType.SZ), why)
        plan.set_value(path, "ClassGUID", RegValue.make(guid, RegType.SZ), why)
    return plan.since(first)


def add_critical_device(hive: Hive, hardware_id: str, service: str,
                        class_guid: str = SCSI_ADAPTER_CLASS,
                        control_sets: ControlSetSelection = "all") -> tuple[Change, ...]:
    """Make ``hardware_id`` a boot-critical device driven by ``service`` in every selected
    control set. An existing entry (matched case-insensitively) is updated in place; running
    it again changes nothing."""
    return apply_changes(hive, plan_add_critical_device(hive, hardware_id, service, class_guid,
                                                        control_sets))


def plan_remove_critical_devices(hive: Hive, service: str | None = None,
                                 device_ids: Iterable[str] | None = None,
                                 control_sets: ControlSetSelection = "all", *,
                                 match: Callable[[CriticalDevice], bool] | None = None,
                                 reason: str | None = None, changes: ChangeSet | None = None
                                 ) -> tuple[Change, ...]:
    """The changes ``remove_critical_devices`` would make. An entry goes when its
    ``Service`` is ``service`` (case-insensitive), or its ID is one of ``device_ids`` (either
    spelling), or ``match`` says so."""
    wanted = {key_name_for(d).upper() for d in device_ids or ()}
    if service is None and not wanted and match is None:
        raise UsageError("give a service, device IDs or a match function")
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    for cs in select_control_sets(hive, control_sets):
        cdd = _cdd_key(hive, cs)
        if cdd is None:
            continue
        for key in cdd.subkeys():
            entry = _read(key, cs)
            if ((service is not None and (entry.service or "").upper() == service.upper())
                    or key.name.upper() in wanted or (match is not None and match(entry))):
                plan.delete_tree(join(cs, CDD_PATH, key.name),
                                 reason or f"remove critical device {entry.device_id}")
    return plan.since(first)


def remove_critical_devices(hive: Hive, service: str | None = None,
                            device_ids: Iterable[str] | None = None,
                            control_sets: ControlSetSelection = "all") -> tuple[Change, ...]:
    """Delete the matching entries from every selected control set."""
    return apply_changes(hive, plan_remove_critical_devices(hive, service, device_ids,
                                                            control_sets))
