"""Phase one of moving a Windows guest from Xen to KVM: the offline registry edits.

    import winmigrate
    from winmigrate.convert import ConversionOptions, FirstBootService, plan_xen_to_kvm

    options = ConversionOptions(
        storage_driver="viostor",
        first_boot=FirstBootService(r"C:\\Windows\\KvmConv\\kvmconv.exe"))
    with winmigrate.open("SYSTEM", writable=True) as system, \\
            winmigrate.open("SOFTWARE", writable=True) as software:
        plan = plan_xen_to_kvm(system, software, options)
        for change in plan.changes:      # nothing is written yet
            print(change)
        plan.apply()                     # one transaction per hive; a failure undoes both
        system.save(backup=True)
        software.save(backup=True)

What the plan holds, in every control set ``Select`` uses (see docs/migration.md for the
evidence behind each location):

1. the virtio storage driver (``viostor`` or ``vioscsi``) as a boot-start kernel driver:
   ``Type`` 1, ``Start`` 0, ``ErrorControl`` 1, ``Group`` "SCSI miniport", ``ImagePath``
   REG_EXPAND_SZ ``system32\\drivers\\<name>.sys``, no ``StartOverride``;
2. its two PCI IDs (legacy virtio and virtio 1.0) bound to it at boot: CriticalDeviceDatabase
   entries on Windows 7 / 2008 R2 and older, ``DriverDatabase`` entries on 8 / 2012 and later;
3. the Xen PV drivers neutralised (``winmigrate.windows.xen``);
4. optionally the first-boot service (own process, automatic start, LocalSystem) that finishes
   the move inside the guest, and (SOFTWARE) certificates trusted in TrustedPublisher and a
   ``DevicePath`` entry for the staged drivers.

Planning never writes. ``plan.apply()`` skips whatever is already in place, so applying twice
-- or planning again after applying -- changes nothing. The driver files themselves are copied
by the caller; ``plan.first_boot`` lists what the guest must still do when it starts on KVM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import UsageError, WrongHiveError
from ..regf.regtype import RegType
from ..windows import drivers
from ..windows.cdd import SCSI_ADAPTER_CLASS, plan_add_critical_device
from ..windows.certs import parse_certificate, plan_add_certificate
from ..windows.changes import (
    Change,
    ChangeSet,
    RegValue,
    apply_changes,
    dirty_unreplayed,
    find_key,
    join,
)
from ..windows.controlsets import control_sets
from ..windows.services import (
    ErrorControl,
    Service,
    ServiceType,
    StartType,
    get_service,
    plan_register_service,
    quote_image_path,
)
from ..windows.version import WindowsFamily, WindowsVersion, windows_version
from ..windows.xen import XenReport, detect, plan_neutralise
from .options import ConversionOptions

if TYPE_CHECKING:
    from ..hive import Hive

__all__ = [
    "IDE_FALLBACK_SERVICES",
    "STORAGE_DRIVERS",
    "Plan",
    "StorageDriver",
    "plan_xen_to_kvm",
]


@dataclass(frozen=True)
class StorageDriver:
    """A virtio storage driver: its service, INF and the PCI IDs of the device it drives
    (legacy virtio first, then virtio 1.0). ``configuration`` names the placeholder
    DriverDatabase configuration (a first-boot ``pnputil`` install replaces it)."""

    service: str
    hardware_ids: tuple[str, str]
    description: str
    configuration: str

    @property
    def inf(self) -> str:
        return f"{self.service}.inf"

    @property
    def image_path(self) -> str:
        return f"system32\\drivers\\{self.service}.sys"


STORAGE_DRIVERS: Mapping[str, StorageDriver] = {
    "viostor": StorageDriver("viostor", (r"PCI\VEN_1AF4&DEV_1001&REV_00",
                                         r"PCI\VEN_1AF4&DEV_1042&REV_01"),
                             "Red Hat VirtIO SCSI controller", "rhelscsi_inst"),
    "vioscsi": StorageDriver("vioscsi", (r"PCI\VEN_1AF4&DEV_1004&REV_00",
                                         r"PCI\VEN_1AF4&DEV_1048&REV_01"),
                             "Red Hat VirtIO SCSI pass-through controller", "scsi_inst"),
}
#: Boot drivers of emulated disk controllers, for a first boot on an emulated disk
#: (``ide_fallback``): IDE of the i440fx machine (``intelide``, ``pciide``, ``atapi``), AHCI of
#: q35 (``storahci`` on Windows 8+, ``msahci`` on 7), NVMe (``stornvme``). Windows 8+ often sets
#: a ``StartOverride`` disabling those it never used; it is removed too.
IDE_FALLBACK_SERVICES = ("intelide", "pciide", "atapi", "storahci", "msahci", "stornvme")
_STORAGE_GROUP = "SCSI miniport"


@dataclass(frozen=True)
class Plan:
    """The registry changes of a Xen -> KVM conversion, not yet written (see the module
    docstring). ``changes`` are in the order ``apply`` carries them out; each names its
    hive, key and value with the data before and after."""

    changes: tuple[Change, ...]
    version: WindowsVersion
    control_sets: tuple[str, ...]
    storage_driver: StorageDriver
    xen: XenReport
    warnings: tuple[str, ...] = ()
    first_boot: tuple[str, ...] = ()
    system_hive: Hive | None = field(default=None, repr=False, compare=False)
    software_hive: Hive | None = field(default=None, repr=False, compare=False)
    options: ConversionOptions = field(default_factory=ConversionOptions)

    @property
    def system_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.hive == "SYSTEM")

    @property
    def software_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.hive == "SOFTWARE")

    def apply(self) -> tuple[Change, ...]:
        """Carry out the plan: SYSTEM and SOFTWARE each inside a transaction, the SOFTWARE one
        nested in the SYSTEM one, so a failure anywhere leaves both hives as they were. Returns
        the changes that changed something (none when applied before)."""
        system = self.system_hive
        if system is None:
            raise UsageError("this plan has no hive to apply it to")
        soft = self.software_changes
        if soft and self.software_hive is None:
            raise UsageError("this plan changes SOFTWARE but has no SOFTWARE hive")
        with system.transaction():
            done = apply_changes(system, self.system_changes)
            if soft:
                assert self.software_hive is not None
                done += apply_changes(self.software_hive, soft)
        return done

    def to_dict(self) -> dict[str, object]:
        return {"version": self.version.to_dict(), "control_sets": list(self.control_sets),
                "storage_driver": self.storage_driver.service,
                "hardware_ids": list(self.storage_driver.hardware_ids),
                "changes": [c.to_dict() for c in self.changes],
                "xen": self.xen.to_dict(), "warnings": list(self.warnings),
                "first_boot": list(self.first_boot)}


def _plan_storage_service(plan: ChangeSet, system: Hive, cs: str, drv: StorageDriver) -> None:
    existing = get_service(system, drv.service, cs)
    why = (f"{drv.service}: the virtio disk controller's driver must start with the boot "
           "drivers (Type 1, Start 0)")
    group = _STORAGE_GROUP
    image: str | None = drv.image_path
    if existing is not None:
        if existing.group and existing.group.lower() == group.lower():
            group = existing.group  # same group (names are case-insensitive): keep it
        if existing.image_path and existing.image_path.lower().replace("/", "\\").endswith(
                f"\\{drv.service}.sys"):
            image = None  # an installed driver's own path (\SystemRoot\System32\...) is fine
    plan_register_service(system, Service(
        drv.service, type=ServiceType.KERNEL_DRIVER, start=StartType.BOOT,
        error_control=ErrorControl.NORMAL, image_path=image, group=group),
        cs, reason=why, changes=plan)
    drivers.plan_remove_start_override(system, drv.service, cs, changes=plan)


def plan_xen_to_kvm(system_hive: Hive, software_hive: Hive | None = None,
                    options: ConversionOptions | None = None) -> Plan:
    """Plan the offline part of a Xen -> KVM conversion (nothing is written), as ``options``
    ask (``ConversionOptions()``: viostor, Xen neutralised, no first-boot service).

    Raises ``winmigrate.windows.controlsets.ControlSetError`` when ``Select`` is unusable or
    names a missing control set, ``UsageError`` when the hives do not go together or the options
    need SOFTWARE and none is given."""
    if options is None:
        options = ConversionOptions()
    elif not isinstance(options, ConversionOptions):
        raise UsageError("options must be a ConversionOptions")
    drv = STORAGE_DRIVERS[options.storage_driver]
    if options.needs_software and software_hive is None:
        raise UsageError("trusting certificates and DevicePath need the SOFTWARE hive")
    sets = control_sets(system_hive).in_use
    version = windows_version(system_hive, software_hive)
    has_ddb = system_hive.root.get_subkey(drivers.DRIVER_DATABASE) is not None
    if has_ddb != (version.family is WindowsFamily.DRIVER_DATABASE):
        # SOFTWARE and SYSTEM disagree: the edits for the wrong family would not boot
        raise WrongHiveError(f"SOFTWARE says {version.label} but SYSTEM "
                         f"{'has' if has_ddb else 'has no'} DriverDatabase: the two hives are "
                         "not from the same Windows installation")
    warnings = list(version.warnings)
    if dirty_unreplayed(system_hive):
        warnings.append("SYSTEM is dirty and its transaction logs were not replayed: this plan "
                        "shows the primary file as it is and cannot be applied")
    if software_hive is not None and dirty_unreplayed(software_hive):
        warnings.append("SOFTWARE is dirty and its transaction logs were not replayed: this "
                        "plan cannot be applied")
    report = detect(system_hive, software_hive)
    plan = ChangeSet(system_hive, "SYSTEM")

    hardware_ids = tuple(dict.fromkeys(
        (*drv.hardware_ids, *(h.upper() for h in options.storage_hardware_ids))))
    for cs in sets:
        _plan_storage_service(plan, system_hive, cs, drv)
    if version.family is WindowsFamily.LEGACY_CDD:
        for cs in sets:
            for hwid in hardware_ids:
                plan_add_critical_device(
                    system_hive, hwid, drv.service, SCSI_ADAPTER_CLASS, cs, changes=plan,
                    create_database=True,
                    reason=f"Windows <= 7 finds the driver of a new boot disk controller "
                           f"through the CriticalDeviceDatabase: {hwid} -> {drv.service}")
    else:
        drivers.plan_register_boot_driver(system_hive, drivers.BootDriver(
            drv.service, drv.inf, hardware_ids, SCSI_ADAPTER_CLASS, drv.configuration,
            drv.description, package_id=options.driver_package_id,
            oem_path=options.driver_oem_path),
            changes=plan,
            reason=f"Windows 8+ binds a new boot disk controller to its driver through the "
                   f"DriverDatabase: {', '.join(hardware_ids)} -> {drv.service}")
    if options.neutralise_xen:
        plan_neutralise(system_hive, sets, changes=plan)
    if options.ide_fallback:
        for cs in sets:
            for name in IDE_FALLBACK_SERVICES:
                svc = get_service(system_hive, name, cs)
                if svc is None or svc.type is None:
                    continue
                plan.set_value(join(cs, "Services", svc.name), "Start",
                               RegValue.make(int(StartType.BOOT), RegType.DWORD),
                               f"{svc.name}: boot from an emulated disk as a fallback")
                drivers.plan_remove_start_override(system_hive, svc.name, cs, changes=plan)
    if options.crash_auto_reboot_off:
        for cs in sets:
            plan.set_value(join(cs, r"Control\CrashControl"), "AutoReboot",
                           RegValue.make(0, RegType.DWORD),
                           "a stop error at the first boot on KVM stays on screen instead of "
                           "a reboot loop (the agent puts the value back)")
    fb = options.first_boot
    if fb is not None:
        service = Service(
            fb.name, type=ServiceType.WIN32_OWN_PROCESS, start=StartType.AUTO,
            error_control=ErrorControl.NORMAL,
            image_path=quote_image_path(fb.image, fb.arguments),
            display_name=fb.display_name or fb.name,
            object_name="LocalSystem", description=fb.description,
            depend_on_service=fb.depend_on, delayed_auto_start=fb.delayed,
            parameters=dict(fb.parameters))
        plan_register_service(system_hive, service, sets, changes=plan,
                              reason=f"first-boot service {fb.name}: finishes the move "
                                     "inside the guest (own process, automatic, LocalSystem)")
    changes = plan.changes
    if software_hive is not None and options.needs_software:
        soft = ChangeSet(software_hive, "SOFTWARE")
        for cert in options.trust_certificates:
            plan_add_certificate(software_hive, cert, "TrustedPublisher", changes=soft)
        if options.device_path:
            _plan_device_path(soft, options.device_path)
        changes += soft.changes
    return Plan(changes, version, sets, drv, report, tuple(warnings),
                _first_boot(drv, report, fb is not None, options.trust_certificates),
                system_hive, software_hive, options)


def _plan_device_path(plan: ChangeSet, folder: str) -> None:
    path = r"Microsoft\Windows\CurrentVersion"
    current = plan.value(path, "DevicePath")
    text = current.data if current is not None and isinstance(current.data, str) else ""
    parts = [p for p in text.split(";") if p]
    if folder.lower() in (p.lower() for p in parts):
        return
    parts.append(folder)
    if not text:
        parts.insert(0, r"%SystemRoot%\inf")  # Windows' default when the value is absent
    plan.set_value(path, "DevicePath", RegValue.make(";".join(parts), RegType.EXPAND_SZ),
                   "PnP searches DevicePath for drivers: lets it find the staged virtio drivers")


def _first_boot(drv: StorageDriver, report: XenReport, service: bool,
                certificates: Sequence[bytes | str]) -> tuple[str, ...]:
    notes = [f"copy {drv.service}.sys to C:\\Windows\\System32\\drivers before the first boot "
             "(the registry entries point at it)",
             f"install the virtio drivers properly: pnputil -i -a <staged folder>\\{drv.inf} "
             "(replaces the placeholder DriverDatabase package on Windows 8+), then the "
             "network driver (netkvm.inf)"]
    if not certificates:
        notes.append("trust the Red Hat driver publisher certificate (TrustedPublisher) or "
                     "the driver installs will prompt")
    else:
        names = ", ".join(parse_certificate(c).subject_cn or "?" for c in certificates)
        notes.append(f"certificates already trusted offline: {names}")
    for u in report.uninstallers:
        cmd = u.quiet_uninstall_string or u.uninstall_string or "(no uninstall command)"
        notes.append(f"uninstall {u.display_name}: {cmd}")
    if report.nics:
        labels = ", ".join(dict.fromkeys(n.label for n in report.nics))  # once, not per set
        notes.append(f"re-apply the network settings of the Xen NIC(s) {labels} to the new "
                     "virtio NIC (winmigrate.convert.netscript.build_script)")
    if service:
        notes.append("the first-boot service deletes itself and reboots when done")
    return tuple(notes)


def find_storage_driver(name: str) -> StorageDriver:
    drv = STORAGE_DRIVERS.get(name.lower())
    if drv is None:
        raise UsageError(f"unknown storage driver {name!r}")
    return drv


def control_sets_in_use(hive: Hive) -> tuple[str, ...]:
    return control_sets(hive).in_use


def storage_ready(hive: Hive, storage_driver: str = "viostor") -> list[str]:
    """What is still missing for the guest to boot from the virtio disk, per control set in
    use (empty when ready): the boot-start service and the CDD or DriverDatabase entries."""
    drv = find_storage_driver(storage_driver)
    problems: list[str] = []
    legacy = hive.root.get_subkey(drivers.DRIVER_DATABASE) is None
    for cs in control_sets(hive).in_use:
        svc = get_service(hive, drv.service, cs)
        if svc is None:
            problems.append(f"{cs}: no {drv.service} service")
            continue
        if svc.start != StartType.BOOT or svc.type is None or not svc.is_driver:
            problems.append(f"{cs}: {drv.service} is not a boot-start driver")
        if svc.start_override:
            problems.append(f"{cs}: {drv.service} has a StartOverride")
        if legacy:
            for hwid in drv.hardware_ids:
                key = find_key(hive, join(cs, r"Control\CriticalDeviceDatabase",
                                          hwid.replace("\\", "#")))
                if key is None or str(key.get("Service", "")).lower() != drv.service:
                    problems.append(f"{cs}: no CriticalDeviceDatabase entry {hwid}")
    if not legacy:
        for hwid in drv.hardware_ids:
            if not any((m.service or "").lower() == drv.service
                       for m in drivers.find_drivers(hive, hwid)):
                problems.append(f"DriverDatabase: {hwid} does not lead to {drv.service}")
    return problems
