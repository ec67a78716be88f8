"""Find and neutralise the Xen paravirtual drivers of a Windows guest, offline.

    from . import xen

    report = xen.detect(system_hive, software_hive)   # what a Xen guest has: a typed report
    changes = xen.neutralise(system_hive)             # make it bootable without Xen

What ``neutralise`` does in every control set ``Select`` uses (each step a
``winmigrate.windows.changes.Change`` with the data before and after and the reason):

* removes every Xen PV service (``xenfilt``, ``scsifilt``, ...) from the REG_MULTI_SZ
  ``UpperFilters`` and ``LowerFilters`` of each setup class key (``Control\\Class\\{GUID}``),
  each device key (``Enum\\<enumerator>\\<device>\\<instance>``, Microsoft KB976267) and each
  remaining CriticalDeviceDatabase entry. A filter whose service is disabled or missing stops
  the boot with INACCESSIBLE_BOOT_DEVICE. Matching is case-insensitive; the other entries keep
  their order (duplicates included); a list left empty is deleted.
  Empty strings: Windows reads a REG_MULTI_SZ up to its first empty string
  (``RtlQueryRegistryValues`` stops there), so entries after one were never loaded. A list that
  names a Xen filter is rewritten as the entries Windows loaded, minus the Xen ones: the empty
  strings go, and so does the dead tail after the first one -- keeping it would let a later
  clean-up revive entries Windows never loaded. Lists without a Xen filter are not touched.
* disables (``Start`` = 4) each installed Xen PV service -- never deletes it, so the change can
  be undone from the ``before`` values;
* deletes the CriticalDeviceDatabase entries of Xen hardware or Xen services;
* deletes the unplug settings (the values of ``Services\\XEN\\Unplug``,
  ``Services\\XEN\\ForceUnplug``, ``Services\\xenfilt\\Unplug``: ``DISKS``, ``NICS``), which
  tell the Xen platform device to hide the emulated disks and NICs;
* sets ``Services\\xenevtchn\\NoPVBoot`` = 1 where the legacy Citrix ``xenevtchn`` is
  installed (without it those guests crash at boot off Xen).

Evidence: the transaction logs of a real AWS EC2 (Xen) Windows Server 2019 guest's SYSTEM hive
(corpus ``strozfriedberg_notatin/test_data/system.log1``/``.log2``) hold the services
``xenbus``/``xenfilt`` (Start 0, Group "Boot Bus Extender"), ``xenvbd`` (Start 0, "Scsi
Miniport", ``StartOverride\\0`` = 3), ``xenvif``/``xennet`` (NDIS), ``xeniface``,
``xenbus_monitor``; ``Services\\XEN\\Unplug`` with DWORDs ``DISKS`` = 1 and ``NICS`` = 1;
``xenfilt\\Parameters`` naming ``ACPI\\PNP0A03`` (DEVICE) and ``PCIIDE\\IDEChannel`` (DISK), the
PCI bus and IDE channel devices it filters; the devices ``PCI\\VEN_5853&DEV_0001&...``,
``XENBUS\\VEN_XS0001&DEV_VBD|VIF|IFACE&REV_...``, ``XENVIF\\VEN_XS0001&DEV_NET&REV_0000000B``;
descriptions "AWS PV Bus", "AWS PV Storage Host Adapter", "AWS PV Network Device".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import WinmigrateError
from ..regf.regtype import RegType
from .cdd import CDD_PATH, CriticalDevice, list_critical_devices, plan_remove_critical_devices
from .changes import Change, ChangeSet, RegValue, apply_changes, find_key, get_value, join
from .controlsets import ControlSetSelection, select_control_sets
from .services import Service, StartType, list_services

if TYPE_CHECKING:
    from ..hive import Hive, Key, Value
    from .netsettings import Interface

__all__ = [
    "FILTER_VALUES",
    "UNPLUG_KEYS",
    "XEN_SERVICES",
    "FilterRef",
    "Uninstaller",
    "UnplugSetting",
    "XenDevice",
    "XenReport",
    "XenService",
    "clean_filter_list",
    "detect",
    "is_xen_hardware_id",
    "is_xen_service",
    "neutralise",
    "plan_neutralise",
]

#: Known Xen PV driver and agent services (lower case; Windows matches names
#: case-insensitively). domain.md section 2; the first six are in the AWS logs.
XEN_SERVICES = frozenset({
    # XenServer / XCP-ng / AWS PV drivers (the xenbus family)
    "xenbus", "xenfilt", "xenvbd", "xenvif", "xennet", "xeniface", "xenbus_monitor",
    "xencons", "xencons_monitor", "xendisk", "xenhid", "xenvkbd", "xenagent", "xensvc",
    "xeninstall",
    # legacy Citrix XenServer tools (XENBUS is xenbus, matched case-insensitively)
    "xenlite", "xennet6", "xenutil", "xenevtchn", "scsifilt",
    # Red Hat PV
    "rhelscsi",
    # GPLPV (James Harper): xenhide is its filter that hides the emulated disks and NICs
    "xenpci", "xenscsi", "xenusb", "xenstub", "xenhide",
})
FILTER_VALUES = ("UpperFilters", "LowerFilters")
#: Keys below ``Services`` whose values are unplug settings (domain.md; the AWS logs show
#: ``XEN\\Unplug`` holding DWORDs ``DISKS`` and ``NICS``).
UNPLUG_KEYS = (("XEN", "Unplug"), ("XEN", "ForceUnplug"), ("xenfilt", "Unplug"))
_XEN_ID_RE = re.compile(
    r"^(?:PCI\\VEN_5853(?:&|$)|PCI\\VEN_FFFD(?:&|$)|XENBUS\\|XENVIF\\|XENVKBD\\|XEN\\|"
    r"ROOT\\XENEVTCHN(?:\\|$)|XENCLASS$)", re.IGNORECASE)
#: Enumerators of devices that only exist under Xen (XENVKBD: the PV keyboard/mouse of the
#: newer xenbus drivers).
_XEN_ENUMERATORS = frozenset({"XENBUS", "XENVIF", "XENVKBD", "XEN"})
_XEN_TEXT_RE = re.compile(r"\bxen|xenserver|xcp-ng|\baws pv\b|citrix.*\bpv\b", re.IGNORECASE)
_UNINSTALL_RE = re.compile(
    r"xen|xcp-ng|citrix.*tools|aws pv|red hat paravirtualized|gplpv", re.IGNORECASE)
_UNINSTALL_PATHS = (r"Microsoft\Windows\CurrentVersion\Uninstall",
                    r"Wow6432Node\Microsoft\Windows\CurrentVersion\Uninstall")


def is_xen_service(name: str) -> bool:
    return name.lower() in XEN_SERVICES


def is_xen_hardware_id(device_id: str) -> bool:
    """A Xen hardware or compatible ID: the Xen platform PCI device (``PCI\\VEN_5853``, also
    ``PCI\\VEN_FFFD``), devices enumerated by the PV bus drivers (``XENBUS\\``, ``XENVIF\\``,
    ``XENVKBD\\``, ``XEN\\``), ``ROOT\\XENEVTCHN``, ``XENCLASS``. A CDD key name (``#`` for
    ``\\``) works too.
    Emulated devices that merely carry Xen's subsystem ID (``PCI\\VEN_8086&DEV_7010&
    SUBSYS_00015853``, the IDE controller) are not Xen PV hardware."""
    return bool(_XEN_ID_RE.match(device_id.strip().replace("#", "\\")))


@dataclass(frozen=True)
class XenService:
    """An installed Xen PV service (``known`` = in ``XEN_SERVICES``; others are keys whose
    name, display name or image path mention Xen -- reported, never changed)."""

    name: str
    control_set: str
    start: int | None
    type: int | None
    image_path: str | None
    display_name: str | None
    known: bool

    @classmethod
    def of(cls, svc: Service, known: bool) -> XenService:
        return cls(svc.name, svc.control_set or "",
                   None if svc.start is None else int(svc.start),
                   None if svc.type is None else int(svc.type), svc.image_path,
                   svc.friendly_name, known)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "control_set": self.control_set, "start": self.start,
                "type": self.type, "image_path": self.image_path,
                "display_name": self.display_name, "known": self.known}


@dataclass(frozen=True)
class XenDevice:
    """A device instance under ``<CCS>\\Enum`` that is Xen PV hardware or bound to a Xen
    service. ``instance`` is its path below ``Enum``."""

    control_set: str
    instance: str
    hardware_ids: tuple[str, ...]
    service: str | None
    description: str | None
    why: str

    def to_dict(self) -> dict[str, object]:
        return {"control_set": self.control_set, "instance": self.instance,
                "hardware_ids": list(self.hardware_ids), "service": self.service,
                "description": self.description, "why": self.why}


@dataclass(frozen=True)
class FilterRef:
    """A filter list naming a Xen service: ``key`` is the full path, ``kind`` ``class``,
    ``device`` or ``cdd``; ``entries`` the whole stored list, ``xen_entries`` the Xen ones."""

    control_set: str
    key: str
    value: str
    kind: str
    entries: tuple[str, ...]
    xen_entries: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"control_set": self.control_set, "key": self.key, "value": self.value,
                "kind": self.kind, "entries": list(self.entries),
                "xen_entries": list(self.xen_entries)}


@dataclass(frozen=True)
class UnplugSetting:
    key: str
    value: str
    data: RegValue

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "value": self.value, "data": self.data.to_dict()}


@dataclass(frozen=True)
class Uninstaller:
    """A Xen tools entry of SOFTWARE's ``Uninstall`` list, to run at first boot."""

    key: str
    display_name: str
    publisher: str | None
    display_version: str | None
    uninstall_string: str | None
    quiet_uninstall_string: str | None

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "display_name": self.display_name,
                "publisher": self.publisher, "display_version": self.display_version,
                "uninstall_string": self.uninstall_string,
                "quiet_uninstall_string": self.quiet_uninstall_string}


@dataclass(frozen=True)
class XenReport:
    """What ``detect`` found. ``found`` is true when anything points at Xen PV drivers."""

    control_sets: tuple[str, ...]
    services: tuple[XenService, ...] = ()
    devices: tuple[XenDevice, ...] = ()
    critical_devices: tuple[CriticalDevice, ...] = ()
    filters: tuple[FilterRef, ...] = ()
    nics: tuple[Interface, ...] = field(default=(), hash=False)
    unplug: tuple[UnplugSetting, ...] = ()
    legacy_xenevtchn: tuple[str, ...] = ()
    uninstallers: tuple[Uninstaller, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(any(s.known for s in self.services) or self.devices or
                    self.critical_devices or self.filters or self.nics or self.unplug or
                    self.uninstallers)

    @property
    def service_names(self) -> tuple[str, ...]:
        seen: dict[str, str] = {}
        for s in self.services:
            if s.known:
                seen.setdefault(s.name.lower(), s.name)
        return tuple(seen.values())

    def to_dict(self) -> dict[str, object]:
        return {"found": self.found, "control_sets": list(self.control_sets),
                "services": [s.to_dict() for s in self.services],
                "devices": [d.to_dict() for d in self.devices],
                "critical_devices": [c.to_dict() for c in self.critical_devices],
                "filters": [f.to_dict() for f in self.filters],
                "nics": [n.to_dict() for n in self.nics],
                "unplug": [u.to_dict() for u in self.unplug],
                "legacy_xenevtchn": list(self.legacy_xenevtchn),
                "uninstallers": [u.to_dict() for u in self.uninstallers],
                "warnings": list(self.warnings)}


# -- filters ------------------------------------------------------------------------------------


def clean_filter_list(entries: Iterable[str], drop: Iterable[str] = XEN_SERVICES
                      ) -> list[str] | None:
    """The filter list to store instead of ``entries``, or ``None`` when ``entries`` names none
    of the services in ``drop`` (case-insensitive) and must stay as it is.

    The result is what Windows loaded (the entries before the first empty string) without the
    dropped services, in order; ``[]`` means "delete the value" (see the module docstring)."""
    items = list(entries)
    dropped = {d.lower() for d in drop}
    if not any(item.lower() in dropped for item in items):
        return None
    loaded: list[str] = []
    for item in items:
        if not item:
            break
        loaded.append(item)
    return [item for item in loaded if item.lower() not in dropped]


def _filter_entries(key: Key, name: str) -> tuple[list[str], bool] | None:
    """The decoded filter list of ``key``\\``name`` and whether it is a REG_MULTI_SZ."""
    value = get_value(key, name)
    return None if value is None else _entries_of(value)


def _entries_of(value: Value) -> tuple[list[str], bool] | None:
    data = value.data
    if isinstance(data, list):
        return data, True
    if isinstance(data, str):
        return ([data] if data else []), False
    return None


def _filter_keys(hive: Hive, plan: ChangeSet | None, cs: str) -> Iterable[tuple[str, str, Key]]:
    """(kind, path, key) of every key whose filters Windows reads: setup classes, device
    instances, CriticalDeviceDatabase entries (those not planned for deletion)."""
    ccs = find_key(hive, cs)
    if ccs is None:
        return
    classes = find_key(ccs, r"Control\Class")
    for key in classes.subkeys() if classes is not None else ():
        yield "class", join(cs, r"Control\Class", key.name), key
    enum = ccs.get_subkey("Enum")
    for enumerator in enum.subkeys() if enum is not None else ():
        for device in enumerator.subkeys():
            for instance in device.subkeys():
                yield ("device", join(cs, "Enum", enumerator.name, device.name, instance.name),
                       instance)
    cdd = find_key(ccs, CDD_PATH)
    for key in cdd.subkeys() if cdd is not None else ():
        path = join(cs, CDD_PATH, key.name)
        if plan is None or not plan.deleted(path):
            yield "cdd", path, key


def _filters(hive: Hive, cs: str, plan: ChangeSet | None = None) -> list[FilterRef]:
    out: list[FilterRef] = []
    wanted = {n.upper() for n in FILTER_VALUES}
    for kind, path, key in _filter_keys(hive, plan, cs):
        if not key.value_count:
            continue
        for value in key.values():
            if value.name.upper() not in wanted:
                continue
            found = _entries_of(value)
            if found is None:
                continue
            entries = found[0]
            xen = tuple(e for e in entries if is_xen_service(e))
            if xen:
                out.append(FilterRef(cs, path, value.name, kind, tuple(entries), xen))
    return out


# -- detection ----------------------------------------------------------------------------------


def _texts(key: Key, name: str) -> tuple[str, ...]:
    data = key.get(name)
    if isinstance(data, list):
        return tuple(d for d in data if d)
    if isinstance(data, str) and data:
        return (data,)
    return ()


def _text(key: Key, name: str) -> str | None:
    data = key.get(name)
    return data if isinstance(data, str) else None


def _devices(hive: Hive, cs: str) -> list[XenDevice]:
    from .services import friendly_text

    enum = find_key(hive, join(cs, "Enum"))
    out: list[XenDevice] = []
    for enumerator in enum.subkeys() if enum is not None else ():
        for device in enumerator.subkeys():
            for instance in device.subkeys():
                ids = _texts(instance, "HardwareID") + _texts(instance, "CompatibleIDs")
                service = _text(instance, "Service")
                why = None
                if enumerator.name.upper() in _XEN_ENUMERATORS:
                    why = f"enumerated by {enumerator.name}"
                elif is_xen_hardware_id(f"{enumerator.name}\\{device.name}"):
                    why = f"device {enumerator.name}\\{device.name}"
                else:
                    xen_id = next((i for i in ids if is_xen_hardware_id(i)), None)
                    if xen_id is not None:
                        why = f"hardware ID {xen_id}"
                    elif service and is_xen_service(service):
                        why = f"service {service}"
                if why is not None:
                    desc = _text(instance, "FriendlyName") or _text(instance, "DeviceDesc")
                    out.append(XenDevice(cs, join(enumerator.name, device.name, instance.name),
                                         _texts(instance, "HardwareID"), service,
                                         friendly_text(desc), why))
    return out


def _unplug(hive: Hive, cs: str) -> list[UnplugSetting]:
    out: list[UnplugSetting] = []
    services = find_key(hive, join(cs, "Services"))
    if services is None:
        return out
    for owner, name in UNPLUG_KEYS:
        okey = services.get_subkey(owner)
        if okey is None:
            continue
        sub = okey.get_subkey(name)
        if sub is not None:
            path = join(cs, "Services", okey.name, sub.name)
            out.extend(UnplugSetting(path, v.name, RegValue.of(v)) for v in sub.values())
        value = get_value(okey, name)
        if value is not None:
            out.append(UnplugSetting(join(cs, "Services", okey.name), value.name,
                                     RegValue.of(value)))
    return out


def _uninstallers(software: Hive) -> list[Uninstaller]:
    out: list[Uninstaller] = []
    for base in _UNINSTALL_PATHS:
        key = find_key(software, base)
        for entry in key.subkeys() if key is not None else ():
            name = _text(entry, "DisplayName")
            if name and _UNINSTALL_RE.search(name):
                out.append(Uninstaller(join(base, entry.name), name, _text(entry, "Publisher"),
                                       _text(entry, "DisplayVersion"),
                                       _text(entry, "UninstallString"),
                                       _text(entry, "QuietUninstallString")))
    return out


def detect(system_hive: Hive, software_hive: Hive | None = None,
           control_sets: ControlSetSelection = "all") -> XenReport:
    """Everything in the guest's hives that belongs to Xen PV drivers: installed services,
    Xen devices under ``Enum``, Xen CriticalDeviceDatabase entries, filter lists naming a Xen
    service, the Xen NIC (``winmigrate.windows.network.interfaces``' ``is_xen``), unplug settings,
    the legacy ``xenevtchn``, and (with SOFTWARE) the tools' uninstallers."""
    from . import network

    cs_names = select_control_sets(system_hive, control_sets)
    services: list[XenService] = []
    devices: list[XenDevice] = []
    cdd: list[CriticalDevice] = []
    filters: list[FilterRef] = []
    nics: list[Interface] = []
    unplug: list[UnplugSetting] = []
    legacy: list[str] = []
    warnings: list[str] = []
    for cs in cs_names:
        for svc in list_services(system_hive, cs):
            known = is_xen_service(svc.name)
            if known or (svc.type is not None and any(
                    _XEN_TEXT_RE.search(t or "") for t in (svc.name, svc.image_path,
                                                          svc.friendly_name))):
                services.append(XenService.of(svc, known))
                if svc.name.lower() == "xenevtchn":
                    legacy.append(cs)
        devices.extend(_devices(system_hive, cs))
        cdd.extend(c for c in list_critical_devices(system_hive, cs)
                   if is_xen_hardware_id(c.key_name) or (c.service and is_xen_service(c.service)))
        filters.extend(_filters(system_hive, cs))
        unplug.extend(_unplug(system_hive, cs))
        try:
            nics.extend(n for n in network.interfaces(system_hive, cs) if n.is_xen)
        except WinmigrateError as e:  # a damaged network part must not hide the rest
            warnings.append(f"{cs}: network settings unreadable: {e}")
    uninstallers = _uninstallers(software_hive) if software_hive is not None else []
    return XenReport(cs_names, tuple(services), tuple(devices), tuple(cdd), tuple(filters),
                     tuple(nics), tuple(unplug), tuple(legacy), tuple(uninstallers),
                     tuple(warnings))


# -- neutralising -----------------------------------------------------------------------------


def plan_neutralise(hive: Hive, control_sets: ControlSetSelection = "all", *,
                    changes: ChangeSet | None = None) -> tuple[Change, ...]:
    """The changes ``neutralise`` would make (nothing is written)."""
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    for cs in select_control_sets(hive, control_sets):
        # CriticalDeviceDatabase first, so that filter lists of entries going away are not
        # rewritten needlessly.
        plan_remove_critical_devices(
            hive, control_sets=cs, changes=plan,
            match=lambda c: is_xen_hardware_id(c.key_name) or bool(
                c.service and is_xen_service(c.service)),
            reason="Xen PV device or driver: no such hardware on KVM")
        for ref in _filters(hive, cs, plan):
            key = find_key(hive, ref.key)
            assert key is not None
            found = _filter_entries(key, ref.value)
            assert found is not None
            entries = found[0]
            new = clean_filter_list(entries)
            if new is None:
                continue
            why = (f"{', '.join(ref.xen_entries)}: a filter whose driver is disabled or "
                   "missing stops the boot with INACCESSIBLE_BOOT_DEVICE (KB976267)")
            if new:
                plan.set_value(ref.key, ref.value, RegValue.make(new, RegType.MULTI_SZ), why)
            else:
                plan.delete_value(ref.key, ref.value, why + "; no filter left")
        for svc in list_services(hive, cs):
            if not is_xen_service(svc.name) or svc.type is None:
                continue  # Services\XEN is no service: it only holds Unplug settings
            if svc.start != StartType.DISABLED:
                plan.set_value(join(cs, "Services", svc.name), "Start",
                               RegValue.make(int(StartType.DISABLED), RegType.DWORD),
                               f"Xen PV {'driver' if svc.is_driver else 'service'} "
                               f"{svc.name}: disabled (Start=4, not deleted, so it can be "
                               f"undone: it was {_start_text(svc.start)})")
            if svc.name.lower() == "xenevtchn":
                plan.set_value(join(cs, "Services", svc.name), "NoPVBoot",
                               RegValue.make(1, RegType.DWORD),
                               "legacy xenevtchn: NoPVBoot=1 or the guest crashes at boot "
                               "off Xen")
        for setting in _unplug(hive, cs):
            plan.delete_value(setting.key, setting.value,
                              "Xen unplug setting: tells the Xen platform device to hide the "
                              "emulated disks/NICs; meaningless on KVM")
    return plan.since(first)


def _start_text(start: int | None) -> str:
    if start is None:
        return "unset"
    try:
        return f"{int(start)} ({StartType(start).name.lower()})"
    except ValueError:
        return str(start)


def neutralise(hive: Hive, control_sets: ControlSetSelection = "all") -> tuple[Change, ...]:
    """Neutralise the Xen PV drivers in every selected control set (see the module docstring);
    returns the changes made. Running it again changes nothing."""
    return apply_changes(hive, plan_neutralise(hive, control_sets))
