"""What a conversion needs to know about an offline guest, read from its SYSTEM and SOFTWARE
hives: the Windows release, edition (client or server) and architecture, the control sets, the
Xen drivers, and the network settings of the old Xen NIC.

Dirty hives are replayed from their logs as the library does everywhere (``logs="auto"``); one
that cannot be brought up to date is reported, and the conversion refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import WinmigrateError
from ..windows.changes import find_key
from ..windows.controlsets import ControlSetError, control_sets, resolve_control_set
from ..windows.version import WindowsVersion, windows_version
from .volume import ConversionError

if TYPE_CHECKING:
    from ..hive import Hive
    from ..windows.netsettings import GlobalSettings, Interface
    from ..windows.xen import XenReport
    from .volume import WindowsInstall

__all__ = ["GuestInfo", "inspect_hives", "open_guest_hives"]

#: ``Control\\Session Manager\\Environment\\PROCESSOR_ARCHITECTURE`` -> virtio-win's name.
_ARCHES = {"AMD64": "amd64", "X86": "x86", "ARM64": "ARM64", "IA64": "ia64"}


@dataclass(frozen=True)
class GuestInfo:
    """A guest as the conversion sees it (see the module docstring). ``arch`` is ``x86``,
    ``amd64`` or ``ARM64`` (``None`` when SYSTEM does not say); ``server`` comes from
    ``Control\\ProductOptions\\ProductType`` (``WinNT`` is a client; ``ServerNT`` and
    ``LanmanNT``, a domain controller, are servers), else from SOFTWARE's
    ``InstallationType``/``ProductName``."""

    version: WindowsVersion
    server: bool | None
    arch: str | None
    control_sets: tuple[str, ...]
    current_control_set: str
    system_root: str | None  # as the guest knows it, e.g. "C:\\Windows" (SOFTWARE's SystemRoot)
    xen: XenReport
    interfaces: tuple[Interface, ...] = field(hash=False, default=())
    to_migrate: tuple[Interface, ...] = field(hash=False, default=())
    settings: GlobalSettings | None = field(hash=False, default=None)
    system_dirty: bool = False
    software_dirty: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        edition = {True: "server", False: "client", None: "edition unknown"}[self.server]
        return f"{self.version.label}, {edition}, {self.arch or 'architecture unknown'}"

    def to_dict(self) -> dict[str, object]:
        return {"version": self.version.to_dict(), "server": self.server, "arch": self.arch,
                "label": self.label, "control_sets": list(self.control_sets),
                "current_control_set": self.current_control_set,
                "system_root": self.system_root, "xen": self.xen.to_dict(),
                "interfaces": [n.to_dict() for n in self.interfaces],
                "to_migrate": [n.guid for n in self.to_migrate],
                "settings": None if self.settings is None else self.settings.to_dict(),
                "system_dirty": self.system_dirty, "software_dirty": self.software_dirty,
                "warnings": list(self.warnings)}


def inspect_hives(system: Hive, software: Hive | None) -> GuestInfo:
    """Read everything a conversion needs from the guest's open SYSTEM (and SOFTWARE) hive."""
    from ..windows.network import global_settings, interfaces, interfaces_to_migrate
    from ..windows.xen import detect

    warnings: list[str] = []
    version = windows_version(system, software)
    warnings += version.warnings
    sets = control_sets(system).in_use
    ccs = resolve_control_set(system)
    cs_key = find_key(system, ccs)
    arch = None
    server: bool | None = None
    if cs_key is not None:
        env = find_key(cs_key, r"Control\Session Manager\Environment")
        raw_arch = env.get("PROCESSOR_ARCHITECTURE") if env is not None else None
        if isinstance(raw_arch, str):
            arch = _ARCHES.get(raw_arch.strip().upper())
            if arch is None:
                warnings.append(f"unknown PROCESSOR_ARCHITECTURE {raw_arch!r}")
        options = find_key(cs_key, r"Control\ProductOptions")
        product_type = options.get("ProductType") if options is not None else None
        if isinstance(product_type, str) and product_type.strip():
            server = product_type.strip().upper() != "WINNT"
    if server is None:
        if version.installation_type:
            server = "server" in version.installation_type.lower()
        elif version.product_name:
            server = "server" in version.product_name.lower()
    if arch is None:
        warnings.append("SYSTEM does not name the processor architecture "
                        "(Session Manager\\Environment\\PROCESSOR_ARCHITECTURE)")
    system_root = None
    if software is not None:
        cv = find_key(software, r"Microsoft\Windows NT\CurrentVersion")
        value = cv.get("SystemRoot") if cv is not None else None
        system_root = value if isinstance(value, str) and value.strip() else None
    report = detect(system, software)
    try:
        nics = tuple(interfaces(system))
        settings = global_settings(system)
    except ControlSetError as e:  # pragma: no cover - resolve_control_set above raised already
        raise WinmigrateError(str(e)) from None
    for nic in nics:
        warnings += [f"network {nic.label}: {w}" for w in nic.warnings]
    return GuestInfo(
        version=version, server=server, arch=arch, control_sets=sets,
        current_control_set=ccs, system_root=system_root, xen=report, interfaces=nics,
        to_migrate=tuple(interfaces_to_migrate(nics)), settings=settings,
        system_dirty=system.dirty,
        software_dirty=bool(software is not None and software.dirty),
        warnings=tuple(dict.fromkeys(warnings)))


def open_guest_hives(install: WindowsInstall, *, writable: bool) -> tuple[Hive, Hive]:
    """SYSTEM and SOFTWARE of the installation, open (dirty ones replayed from their logs),
    or ``ConversionError`` when there is no SOFTWARE."""
    from ..hive import open as open_hive

    if install.software_hive is None:
        raise ConversionError(f"{install.volume.root}: {install.system_root}\\System32\\config "
                              "has no SOFTWARE hive (the Windows release and DevicePath are in "
                              "it)")
    system = open_hive(install.system_hive, writable=writable, logs="auto")
    try:
        software = open_hive(install.software_hive, writable=writable, logs="auto")
    except BaseException:
        system.close()
        raise
    return system, software
