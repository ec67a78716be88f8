"""The Windows release of a guest, from its SOFTWARE hive or inferred from SYSTEM, and whether
it may have shut down into hibernation (Fast Startup)::

    from winmigrate.windows.version import windows_version

    version = windows_version(system, software)  # WindowsVersion(family=LEGACY_CDD, ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ..regf.values import parse_decimal
from .changes import find_key
from .controlsets import ControlSetError, resolve_control_set

if TYPE_CHECKING:
    from ..hive import Hive

__all__ = ["VersionSource", "WindowsFamily", "WindowsVersion", "hiberboot_enabled",
           "windows_version"]


class WindowsFamily(Enum):
    """How a Windows release finds the driver of a boot device it has not seen before."""

    #: Windows 7 / Server 2008 R2 and older: ``<CCS>\\Control\\CriticalDeviceDatabase``.
    LEGACY_CDD = "legacy-cdd"
    #: Windows 8 / Server 2012 and later: the root ``DriverDatabase`` key.
    DRIVER_DATABASE = "driver-database"


class VersionSource(Enum):
    SOFTWARE = "SOFTWARE Microsoft\\Windows NT\\CurrentVersion"
    SYSTEM = "inferred from the SYSTEM hive"


@dataclass(frozen=True)
class WindowsVersion:
    """The Windows release of a guest and how it was determined (``source``, ``evidence``).

    ``major``/``minor``/``build`` come from SOFTWARE (``CurrentMajorVersionNumber`` on Windows
    10 and later, whose ``CurrentVersion`` stays "6.3"; else ``CurrentVersion``). Without
    SOFTWARE only ``family`` is known. ``hiberboot_enabled`` is SYSTEM's
    ``<CCS>\\Control\\Session Manager\\Power\\HiberbootEnabled`` (Fast Startup: the guest may
    have shut down into hibernation, which makes an offline conversion unsafe)."""

    family: WindowsFamily
    source: VersionSource
    major: int | None = None
    minor: int | None = None
    build: int | None = None
    ubr: int | None = None
    product_name: str | None = None
    installation_type: str | None = None
    edition_id: str | None = None
    current_version: str | None = None
    has_driver_database: bool = False
    has_critical_device_database: bool = False
    hiberboot_enabled: bool | None = None
    evidence: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def legacy(self) -> bool:
        return self.family is WindowsFamily.LEGACY_CDD

    @property
    def label(self) -> str:
        if self.product_name:
            text = self.product_name
        elif self.family is WindowsFamily.LEGACY_CDD:
            text = "Windows 7 / Server 2008 R2 or older"
        else:
            text = "Windows 8 / Server 2012 or newer"
        if self.major is not None:
            text += f" ({self.major}.{self.minor}" + (f".{self.build}" if self.build else "") + ")"
        return text

    def to_dict(self) -> dict[str, object]:
        return {"family": self.family.value, "source": self.source.value, "major": self.major,
                "minor": self.minor, "build": self.build, "ubr": self.ubr,
                "product_name": self.product_name, "installation_type": self.installation_type,
                "edition_id": self.edition_id, "current_version": self.current_version,
                "has_driver_database": self.has_driver_database,
                "has_critical_device_database": self.has_critical_device_database,
                "hiberboot_enabled": self.hiberboot_enabled, "label": self.label,
                "evidence": list(self.evidence), "warnings": list(self.warnings)}


def _int(data: object) -> int | None:
    if isinstance(data, int):
        return data
    if isinstance(data, str):
        number = parse_decimal(data)
        return number if number is not None and number >= 0 else None
    return None


def _str(data: object) -> str | None:
    return data.strip() or None if isinstance(data, str) else None


def hiberboot_enabled(system_hive: Hive, control_set: int | str | None = None) -> bool | None:
    """``HiberbootEnabled`` of the control set (``None`` when absent or not a number)."""
    cs = find_key(system_hive, resolve_control_set(system_hive, control_set))
    power = find_key(cs, r"Control\Session Manager\Power") if cs is not None else None
    if power is None:
        return None
    value = _int(power.get("HiberbootEnabled"))
    return None if value is None else bool(value)


def windows_version(system_hive: Hive, software_hive: Hive | None = None) -> WindowsVersion:
    """The guest's Windows release: from SOFTWARE's ``CurrentVersion`` key when given, else
    inferred from SYSTEM (a root ``DriverDatabase`` key means Windows 8 / 2012 or newer)."""
    has_ddb = system_hive.root.get_subkey("DriverDatabase") is not None
    has_cdd = False
    hiber: bool | None = None
    evidence: list[str] = []
    warnings: list[str] = []
    try:
        ccs_name = resolve_control_set(system_hive)
        ccs = find_key(system_hive, ccs_name)
        has_cdd = ccs is not None and find_key(ccs, r"Control\CriticalDeviceDatabase") is not None
        hiber = hiberboot_enabled(system_hive, ccs_name)
    except ControlSetError as e:
        warnings.append(f"SYSTEM: {e}")
    evidence.append("SYSTEM has a root DriverDatabase key" if has_ddb
                    else "SYSTEM has no root DriverDatabase key")
    if has_cdd:
        evidence.append("SYSTEM has Control\\CriticalDeviceDatabase in the current control set")
    if hiber:
        warnings.append("HiberbootEnabled=1 (Fast Startup): make sure the guest was shut down "
                        "fully, not hibernated, before converting it offline")
    inferred = WindowsFamily.DRIVER_DATABASE if has_ddb else WindowsFamily.LEGACY_CDD
    cv = None
    if software_hive is not None:
        cv = find_key(software_hive, r"Microsoft\Windows NT\CurrentVersion")
        if cv is None:
            warnings.append("SOFTWARE has no Microsoft\\Windows NT\\CurrentVersion key; "
                            "the version is inferred from SYSTEM")
    if cv is None:
        return WindowsVersion(inferred, VersionSource.SYSTEM, has_driver_database=has_ddb,
                              has_critical_device_database=has_cdd, hiberboot_enabled=hiber,
                              evidence=tuple(evidence), warnings=tuple(warnings))
    current_version = _str(cv.get("CurrentVersion"))
    major = _int(cv.get("CurrentMajorVersionNumber"))
    minor = _int(cv.get("CurrentMinorVersionNumber"))
    if major is not None:
        evidence.append(f"SOFTWARE CurrentMajorVersionNumber = {major}")
        minor = minor or 0
    elif current_version and re.fullmatch(r"[0-9]+\.[0-9]+", current_version):
        major, minor = (int(p) for p in current_version.split("."))
        evidence.append(f"SOFTWARE CurrentVersion = {current_version}")
    build = _int(cv.get("CurrentBuildNumber"))
    if build is None:
        build = _int(cv.get("CurrentBuild"))
    if major is None:
        warnings.append("SOFTWARE CurrentVersion gives no version number; the family is "
                        "inferred from SYSTEM")
        family = inferred
    else:
        family = (WindowsFamily.DRIVER_DATABASE if (major, minor) >= (6, 2)
                  else WindowsFamily.LEGACY_CDD)
        if family is not inferred:
            warnings.append(f"SOFTWARE says {major}.{minor} but SYSTEM "
                            f"{'has' if has_ddb else 'has no'} DriverDatabase: are the two "
                            "hives from the same guest?")
    return WindowsVersion(
        family, VersionSource.SOFTWARE, major=major, minor=minor, build=build,
        ubr=_int(cv.get("UBR")), product_name=_str(cv.get("ProductName")),
        installation_type=_str(cv.get("InstallationType")),
        edition_id=_str(cv.get("EditionID")), current_version=current_version,
        has_driver_database=has_ddb, has_critical_device_database=has_cdd,
        hiberboot_enabled=hiber, evidence=tuple(evidence), warnings=tuple(warnings))
