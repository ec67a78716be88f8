"""Boot-critical drivers on Windows 8 / Server 2012 and later: the root ``DriverDatabase`` key.

These releases have no CriticalDeviceDatabase. When PnP meets a device at boot it looks the
device's IDs up in ``SYSTEM\\DriverDatabase`` and follows a chain of keys to the service that
drives it; a boot storage controller whose chain is missing is left without a driver and the
guest stops with INACCESSIBLE_BOOT_DEVICE. The chain, as verified on the Windows 8.1
(``SYSTEM_2``) and Windows 10 (``SYSTEM_B``, ``SYSTEM_WIN_10_1709``) corpus hives::

    DriverDatabase
      Version             DWORD 0x06030000 (8.1) / 0x0A000000 (10)   Architecture DWORD 9 (amd64)
      DeviceIds\\PCI\\VEN_1AF4&DEV_1001&REV_00
          viostor.inf     REG_BINARY 01 ff 00 00          (rank: see RANK_HARDWARE_ID)
      DeviceIds\\{4d36e97b-e325-11ce-bfc1-08002be10318}      (the class GUID, lower case)
          viostor.inf     REG_NONE (empty)
      DriverInfFiles\\viostor.inf
          (default)       REG_MULTI_SZ [viostor.inf_amd64_<16 hex>]
          Active          REG_SZ viostor.inf_amd64_<16 hex>
          Configurations  REG_MULTI_SZ [<configuration>]
      DriverPackages\\viostor.inf_amd64_<16 hex>
          (default) REG_SZ viostor.inf, Version REG_BINARY (48 bytes, ``version_blob``),
          Provider, InfName, OemPath, SignerName REG_SZ, SignerScore, StatusFlags DWORD,
          (Windows 10:) ImportDate REG_BINARY FILETIME
        Configurations\\<configuration>
          Service REG_SZ viostor, ConfigFlags DWORD 0, (Windows 10:) ConfigScope DWORD 7
        Descriptors\\PCI\\VEN_1AF4&DEV_1001&REV_00
          Configuration REG_SZ <configuration>, Manufacturer/Description REG_SZ %strings%
        Strings
          the %strings% above

The package written here is a placeholder with the real ``<inf>_<arch>_<16 hex>`` form (a
malformed name -- one public tool used a ``_tmp`` suffix -- broke ``pnputil`` and later
Windows upgrades). Pass the FileRepository folder name of the virtio-win build you stage as
``package_id`` and a first-boot ``pnputil -i -a viostor.inf`` lands on the same package and
replaces it; otherwise the proper install adds its own package next to this one and wins on
driver date and version (``BootDriver.driver_date`` defaults to an old date on purpose).

The boot loader starts the driver from its service key (``Start`` = 0); Windows 8 and later
also honour ``Services\\<name>\\StartOverride``, which keeps unneeded inbox boot drivers off --
``remove_start_override`` deletes it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError, WrongHiveError
from ..regf.regtype import RegType
from .changes import Change, ChangeSet, RegValue, apply_changes, find_key, join
from .controlsets import ControlSetSelection, select_control_sets

if TYPE_CHECKING:
    from ..hive import Hive, Key

__all__ = [
    "ARCHITECTURES",
    "AUTHENTICODE_SIGNER_SCORE",
    "DRIVER_DATABASE",
    "RANK_HARDWARE_ID",
    "WHQL_SIGNER",
    "WHQL_SIGNER_SCORE",
    "BootDriver",
    "DriverDatabaseInfo",
    "DriverMatch",
    "PackageVersion",
    "driver_database_info",
    "find_drivers",
    "package_name",
    "parse_version_blob",
    "plan_register_boot_driver",
    "plan_remove_start_override",
    "register_boot_driver",
    "remove_start_override",
    "version_blob",
]

DRIVER_DATABASE = "DriverDatabase"
#: ``Architecture`` DWORD (PROCESSOR_ARCHITECTURE_*) -> the name used in package names.
ARCHITECTURES = {0: "x86", 5: "arm", 6: "ia64", 9: "amd64", 12: "arm64"}
#: DeviceIds rank of an ID listed as the hardware ID of an INF model line. Observed values:
#: byte 0 = 1 for the hardware ID, 2 for a compatible ID listed after it (VMware's
#: ``VEN_15AD&DEV_0740`` 02ff0000 beside ``...&SUBSYS_074015AD`` 01ff0000); byte 1 = the INF's
#: FeatureScore (0xFF by default; basicdisplay 0xFB, usbxhci 0x80); bytes 2-3 = the position of
#: a compatible ID (input.inf ``USB\Class_03`` 02ff0200, ``...&SubClass_01`` 02ff0100).
RANK_HARDWARE_ID = bytes((0x01, 0xFF, 0x00, 0x00))
#: Third-party packages in the corpus are WHQL-signed (SignerName as here, SignerScore
#: 0x0d000005) or, like VirtualBox's, Authenticode-signed by the vendor (SignerName "Oracle
#: Corporation", SignerScore 0x0f000000).
WHQL_SIGNER = "Microsoft Windows Hardware Compatibility Publisher"
WHQL_SIGNER_SCORE = 0x0D000005
AUTHENTICODE_SIGNER_SCORE = 0x0F000000
#: The most common StatusFlags of packages in the corpus hives (0x12).
STATUS_FLAGS = 0x12
#: ConfigScope of Windows 10 configurations (7 on most; absent on Windows 8.1).
CONFIG_SCOPE = 7
_VERSION = struct.Struct("<BBHI16sQQ8s")  # 48 bytes
_PACKAGE_RE = re.compile(r"^(?P<inf>[^\\/]+\.inf)_(?P<arch>[a-z0-9]+)_(?P<hash>[0-9a-f]{16})$",
                         re.IGNORECASE)
_FILETIME_EPOCH = _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc)


@dataclass(frozen=True)
class DriverDatabaseInfo:
    """The root ``DriverDatabase`` values: ``version`` 0x06030000 on 8.1, 0x0A000000 on 10."""

    version: int | None
    architecture: int | None

    @property
    def arch_name(self) -> str | None:
        return None if self.architecture is None else ARCHITECTURES.get(self.architecture)

    @property
    def windows10(self) -> bool:
        return self.version is not None and self.version >= 0x0A000000


def driver_database_info(hive: Hive) -> DriverDatabaseInfo | None:
    ddb = hive.root.get_subkey(DRIVER_DATABASE)
    if ddb is None:
        return None
    version = ddb.get("Version")
    arch = ddb.get("Architecture")
    return DriverDatabaseInfo(version if isinstance(version, int) else None,
                              arch if isinstance(arch, int) else None)


@dataclass(frozen=True)
class PackageVersion:
    """A package's ``Version`` value, decoded: 48 bytes = flags byte (0x00 third-party, 0xFF
    inbox), 0xFF, u16 architecture, u32 0, the setup class GUID, the DriverVer date (FILETIME),
    the DriverVer version (u64: major << 48 | minor << 32 | build << 16 | revision), 8 bytes
    that are zero on most packages."""

    third_party: bool
    architecture: int
    class_guid: str
    date: _dt.datetime | None
    version: tuple[int, int, int, int]
    flags: int
    tail: bytes


def version_blob(class_guid: str, architecture: int, date: _dt.date,
                 version: tuple[int, int, int, int], *, third_party: bool = True) -> bytes:
    """The 48-byte ``Version`` value of a driver package (see ``PackageVersion``)."""
    guid = uuid.UUID(class_guid.strip("{}"))
    when = _dt.datetime(date.year, date.month, date.day, tzinfo=_dt.timezone.utc)
    ticks = int((when - _FILETIME_EPOCH).total_seconds()) * 10_000_000
    major, minor, build, rev = version
    packed = (major << 48) | (minor << 32) | (build << 16) | rev
    return _VERSION.pack(0x00 if third_party else 0xFF, 0xFF, architecture, 0, guid.bytes_le,
                         ticks, packed, bytes(8))


def parse_version_blob(data: bytes) -> PackageVersion | None:
    if len(data) != _VERSION.size:
        return None
    flags, _ff, arch, _zero, guid, ticks, packed, tail = _VERSION.unpack(data)
    try:
        date: _dt.datetime | None = _FILETIME_EPOCH + _dt.timedelta(microseconds=ticks // 10)
    except OverflowError:
        date = None
    return PackageVersion(flags == 0, arch, "{" + str(uuid.UUID(bytes_le=guid)).upper() + "}",
                          date, ((packed >> 48) & 0xFFFF, (packed >> 32) & 0xFFFF,
                                 (packed >> 16) & 0xFFFF, packed & 0xFFFF), flags, tail)


def package_name(inf: str, arch: str, digest: str) -> str:
    """``<inf>_<arch>_<16 hex>``, the only form Windows' driver store uses."""
    name = f"{inf.lower()}_{arch.lower()}_{digest.lower()}"
    if not _PACKAGE_RE.match(name):
        raise UsageError(f"not a driver package name: {name!r} (expected <inf>_<arch>_<16 hex>)")
    return name


@dataclass(frozen=True)
class BootDriver:
    """A boot-critical driver to register in the DriverDatabase.

    ``hardware_ids`` are full IDs (``PCI\\VEN_1AF4&DEV_1001&REV_00``). ``package_id`` is the
    whole package name (``viostor.inf_amd64_0123456789abcdef``), e.g. the FileRepository folder
    of the virtio-win build being staged; ``None`` derives a stable one from the inf name, the
    service and the IDs. ``driver_date``/``driver_version`` go into the package's ``Version``;
    the defaults are deliberately older than any virtio-win release so a proper install wins."""

    service: str
    inf: str
    hardware_ids: tuple[str, ...]
    class_guid: str
    configuration: str
    description: str
    provider: str = "Red Hat, Inc."
    manufacturer: str = "Red Hat, Inc."
    package_id: str | None = None
    oem_path: str | None = None
    driver_date: _dt.date = _dt.date(2010, 1, 1)
    driver_version: tuple[int, int, int, int] = (0, 0, 0, 1)
    signer_name: str = WHQL_SIGNER
    signer_score: int = WHQL_SIGNER_SCORE

    def package_for(self, arch: str) -> str:
        if self.package_id is not None:
            m = _PACKAGE_RE.match(self.package_id)
            if not m:
                raise UsageError(f"not a driver package name: {self.package_id!r} (expected "
                                 "<inf>_<arch>_<16 hex>, e.g. viostor.inf_amd64_0123456789abcdef)")
            if m.group("inf").lower() != self.inf.lower():
                raise UsageError(f"package {self.package_id} is not for {self.inf}")
            return self.package_id.lower()
        seed = "\n".join(["winmigrate", self.inf.lower(), self.service.lower(), arch,
                          *sorted(h.upper() for h in self.hardware_ids)])
        return package_name(self.inf, arch, hashlib.sha256(seed.encode()).hexdigest()[:16])


@dataclass(frozen=True)
class DriverMatch:
    """How the DriverDatabase maps a hardware ID to a service: DeviceIds value (``inf`` and
    ``rank``) -> ``DriverInfFiles\\<inf>\\Active`` (``package``) -> the package's
    ``Descriptors\\<id>\\Configuration`` -> ``Configurations\\<conf>\\Service``. Missing links
    are ``None``."""

    hardware_id: str
    inf: str
    rank: bytes | None
    package: str | None
    configuration: str | None
    service: str | None


def _split_id(hardware_id: str) -> list[str]:
    parts = [p for p in hardware_id.strip().split("\\") if p]
    if not parts:
        raise UsageError(f"not a hardware ID: {hardware_id!r}")
    return parts


def find_drivers(hive: Hive, hardware_id: str) -> tuple[DriverMatch, ...]:
    """Every DriverDatabase entry for ``hardware_id`` (case-insensitive), each followed along
    the chain as far as it goes (empty when the hive has no DriverDatabase)."""
    ddb = hive.root.get_subkey(DRIVER_DATABASE)
    if ddb is None:
        return ()
    ids = find_key(ddb, join("DeviceIds", *_split_id(hardware_id)))
    if ids is None:
        return ()
    out: list[DriverMatch] = []
    for value in ids.values():
        inf = value.name
        rank = value.raw if value.type_number == RegType.BINARY else None
        infkey = find_key(ddb, join("DriverInfFiles", inf)) if inf else None
        active = infkey.get("Active") if infkey is not None else None
        package = active if isinstance(active, str) and active else None
        conf = service = None
        pkg = find_key(ddb, join("DriverPackages", package)) if package else None
        if pkg is not None:
            desc = find_key(pkg, join("Descriptors", *_split_id(hardware_id)))
            c = desc.get("Configuration") if desc is not None else None
            conf = c if isinstance(c, str) else None
            ckey = find_key(pkg, join("Configurations", conf)) if conf else None
            s = ckey.get("Service") if ckey is not None else None
            service = s if isinstance(s, str) else None
        out.append(DriverMatch(hardware_id, inf, rank, package, conf, service))
    return tuple(out)


def _filetime(date: _dt.date) -> bytes:
    when = _dt.datetime(date.year, date.month, date.day, tzinfo=_dt.timezone.utc)
    return struct.pack("<Q", int((when - _FILETIME_EPOCH).total_seconds()) * 10_000_000)


def plan_register_boot_driver(hive: Hive, driver: BootDriver, *,
                              changes: ChangeSet | None = None,
                              reason: str | None = None) -> tuple[Change, ...]:
    """The changes ``register_boot_driver`` would make (nothing is written).

    Hardware IDs whose chain already ends at ``driver.service`` (a real install, or an earlier
    run) are left alone; when all of them do, nothing is planned."""
    info = driver_database_info(hive)
    if info is None:
        raise WrongHiveError("this hive has no DriverDatabase: it is Windows 7 / 2008 R2 or older "
                         "(use winmigrate.windows.cdd) or not a SYSTEM hive")
    arch = info.arch_name
    if arch is None:
        raise WrongHiveError(f"DriverDatabase\\Architecture is {info.architecture!r}: unknown "
                         "processor architecture")
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    why = reason or f"boot-critical driver {driver.service} ({driver.inf})"
    missing = [h for h in driver.hardware_ids
               if not any((m.service or "").upper() == driver.service.upper()
                          for m in find_drivers(hive, h))]
    if not missing:
        return ()
    inf = driver.inf.lower()
    package = driver.package_for(arch)
    conf = driver.configuration
    ddb = DRIVER_DATABASE

    def sz(text: str) -> RegValue:
        return RegValue.make(text, RegType.SZ)

    def multi(items: Sequence[str]) -> RegValue:
        return RegValue.make(list(items), RegType.MULTI_SZ)

    def dword(n: int) -> RegValue:
        return RegValue.make(n, RegType.DWORD)

    for hwid in missing:
        parts = _split_id(hwid)
        plan.set_value(join(ddb, "DeviceIds", *parts), inf,
                       RegValue(RegType.BINARY, RANK_HARDWARE_ID), why)
    # Every INF is also listed under its setup class (REG_NONE, no data), as Windows does.
    plan.set_value(join(ddb, "DeviceIds", driver.class_guid.lower()), inf,
                   RegValue(RegType.NONE, b""), why)
    inf_path = join(ddb, "DriverInfFiles", inf)
    current = plan.value(inf_path, "")
    packages = [p for p in (current.data if current is not None and
                            isinstance(current.data, list) else []) if p]
    if package.lower() not in (p.lower() for p in packages):
        packages.append(package)
    plan.set_value(inf_path, "", multi(packages), why)
    plan.set_value(inf_path, "Active", sz(package), why)
    confs_now = plan.value(inf_path, "Configurations")
    confs = [c for c in (confs_now.data if confs_now is not None and
                         isinstance(confs_now.data, list) else []) if c]
    if conf.lower() not in (c.lower() for c in confs):
        confs.append(conf)
    plan.set_value(inf_path, "Configurations", multi(confs), why)
    pkg = join(ddb, "DriverPackages", package)
    assert info.architecture is not None
    plan.set_value(pkg, "Version", RegValue(RegType.BINARY, version_blob(
        driver.class_guid, info.architecture, driver.driver_date, driver.driver_version)), why)
    plan.set_value(pkg, "Provider", sz(driver.provider), why)
    plan.set_value(pkg, "InfName", sz(inf), why)
    if driver.oem_path:
        plan.set_value(pkg, "OemPath", sz(driver.oem_path), why)
    plan.set_value(pkg, "SignerName", sz(driver.signer_name), why)
    if info.windows10:
        plan.set_value(pkg, "ImportDate",
                       RegValue(RegType.BINARY, _filetime(driver.driver_date)), why)
    plan.set_value(pkg, "SignerScore", dword(driver.signer_score), why)
    plan.set_value(pkg, "StatusFlags", dword(STATUS_FLAGS), why)
    plan.set_value(pkg, "", sz(inf), why)
    cpath = join(pkg, "Configurations", conf)
    plan.set_value(cpath, "Service", sz(driver.service), why)
    if info.windows10:
        plan.set_value(cpath, "ConfigScope", dword(CONFIG_SCOPE), why)
    plan.set_value(cpath, "ConfigFlags", dword(0), why)
    for hwid in driver.hardware_ids:
        dpath = join(pkg, "Descriptors", *_split_id(hwid))
        plan.set_value(dpath, "Configuration", sz(conf), why)
        plan.set_value(dpath, "Manufacturer", sz("%mfg%"), why)
        plan.set_value(dpath, "Description", sz("%devicedesc%"), why)
    plan.set_value(join(pkg, "Strings"), "mfg", sz(driver.manufacturer), why)
    plan.set_value(join(pkg, "Strings"), "devicedesc", sz(driver.description), why)
    return plan.since(first)


def register_boot_driver(hive: Hive, driver: BootDriver) -> tuple[Change, ...]:
    """Register ``driver`` in the DriverDatabase so PnP binds its hardware IDs to its service
    at boot (the service key itself is ``winmigrate.windows.services.register_service``'s job)."""
    return apply_changes(hive, plan_register_boot_driver(hive, driver))


def plan_remove_start_override(hive: Hive, service: str,
                               control_sets: ControlSetSelection = "all", *,
                               changes: ChangeSet | None = None,
                               reason: str | None = None) -> tuple[Change, ...]:
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    for cs in select_control_sets(hive, control_sets):
        svc: Key | None = find_key(hive, join(cs, "Services", service))
        if svc is None:
            continue
        override = svc.get_subkey("StartOverride")
        if override is not None:
            plan.delete_tree(join(cs, "Services", svc.name, override.name),
                             reason or f"{svc.name}: StartOverride would keep it from starting "
                                       "at boot (Windows 8+)")
    return plan.since(first)


def remove_start_override(hive: Hive, service: str,
                          control_sets: ControlSetSelection = "all") -> tuple[Change, ...]:
    """Delete ``Services\\<service>\\StartOverride`` in every selected control set."""
    return apply_changes(hive, plan_remove_start_override(hive, service, control_sets))
