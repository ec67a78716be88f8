"""What a Xen -> KVM conversion is asked to do: one frozen, typed ``ConversionOptions``, shared by
``plan_xen_to_kvm``, the command line and ``winmigrate convert``.

Every field has the default a careful conversion wants; each is checked when the object is made,
so a bad option fails before any hive is read (``UsageError``)::

    from winmigrate.convert import ConversionOptions, FirstBootService

    options = ConversionOptions(
        storage_driver="vioscsi",
        first_boot=FirstBootService(r"C:\\Windows\\KvmConv\\kvmconv.exe"),
    )
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..windows.services import ParamValue

__all__ = ["STORAGE_DRIVER_NAMES", "AgentOptions", "ConversionOptions", "ConvertConfig",
           "FirstBootService"]

#: The virtio storage drivers a conversion can make boot-critical.
STORAGE_DRIVER_NAMES = ("viostor", "vioscsi")


@dataclass(frozen=True)
class FirstBootService:
    """The service that finishes the move inside the guest at its first boot on KVM (own
    process, automatic start, LocalSystem).

    ``image`` is its program as the guest sees it (``C:\\Windows\\KvmConv\\kvmconv.exe``;
    quoted in ``ImagePath`` when it holds spaces, then ``arguments``). ``depend_on`` names
    services that must run first (``DependOnService``); ``delayed`` asks for a delayed automatic
    start (``DelayedAutostart``, Vista and later); ``parameters`` become values of the service's
    ``Parameters`` key."""

    image: str
    name: str = "KvmConv"
    display_name: str | None = None
    description: str | None = None
    arguments: str | None = None
    depend_on: tuple[str, ...] = ()
    delayed: bool | None = None
    parameters: Mapping[str, ParamValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.image, str) or not self.image.strip():
            raise UsageError("the first-boot service needs an image path")
        if not isinstance(self.name, str) or not self.name.strip() or "\\" in self.name \
                or "/" in self.name:
            raise UsageError(f"bad first-boot service name {self.name!r}")
        if isinstance(self.depend_on, str) or not isinstance(self.depend_on, Sequence):
            raise UsageError("depend_on is a sequence of service names")
        object.__setattr__(self, "depend_on", tuple(self.depend_on))
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))


@dataclass(frozen=True)
class ConversionOptions:
    """The choices of a Xen -> KVM conversion (see the module docstring).

    ``storage_driver``: ``viostor`` (virtio-blk, the default) or ``vioscsi`` (virtio-scsi).
    ``first_boot``: the service to register, or ``None``. ``neutralise_xen``: take the Xen PV
    drivers out of the boot path. ``ide_fallback``: also make the drivers of the emulated disk
    controllers boot-start (IDE of the i440fx machine, AHCI of q35, NVMe), for a first boot on
    an emulated disk. ``driver_package_id`` / ``driver_oem_path``:
    the DriverDatabase package of the staged virtio storage driver on Windows 8 and later
    (``winmigrate.windows.drivers``). ``trust_certificates`` (DER or PEM) go to SOFTWARE's
    TrustedPublisher store, ``device_path`` is appended to SOFTWARE's ``DevicePath``.
    ``crash_auto_reboot_off``: ``Control\\CrashControl\\AutoReboot`` = 0, so a stop error at the
    first boot stays on screen. ``storage_hardware_ids``: more hardware IDs to bind to the storage
    driver (those its INF lists), besides the legacy and virtio 1.0 PCI IDs."""

    storage_driver: str = "viostor"
    first_boot: FirstBootService | None = None
    neutralise_xen: bool = True
    ide_fallback: bool = False
    driver_package_id: str | None = None
    driver_oem_path: str | None = None
    trust_certificates: tuple[bytes | str, ...] = ()
    device_path: str | None = None
    crash_auto_reboot_off: bool = False
    storage_hardware_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.storage_driver, str) or \
                self.storage_driver.lower() not in STORAGE_DRIVER_NAMES:
            raise UsageError(f"unknown storage driver {self.storage_driver!r} "
                             f"(choose {' or '.join(STORAGE_DRIVER_NAMES)})")
        object.__setattr__(self, "storage_driver", self.storage_driver.lower())
        if self.first_boot is not None and not isinstance(self.first_boot, FirstBootService):
            raise UsageError("first_boot is a FirstBootService or None")
        if isinstance(self.trust_certificates, (bytes, str)):
            raise UsageError("trust_certificates is a sequence of certificates")
        object.__setattr__(self, "trust_certificates", tuple(self.trust_certificates))
        if self.device_path is not None and not self.device_path.strip():
            raise UsageError("device_path is empty")
        if isinstance(self.storage_hardware_ids, str):
            raise UsageError("storage_hardware_ids is a sequence of hardware IDs")
        object.__setattr__(self, "storage_hardware_ids", tuple(self.storage_hardware_ids))

    @property
    def needs_software(self) -> bool:
        """Whether these options change SOFTWARE (certificates, ``DevicePath``)."""
        return bool(self.trust_certificates or self.device_path)



def _normal_mac(text: str) -> str:
    import re

    digits = re.sub(r"[-:.]", "", text.strip())
    if not re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        raise UsageError(f"bad MAC address {text!r} (give aa:bb:cc:dd:ee:ff)")
    return "-".join(digits[i:i + 2] for i in range(0, 12, 2)).upper()


@dataclass(frozen=True)
class AgentOptions:
    """How the phase-two agent (the service that finishes the move at the first boot on KVM)
    is installed and behaves (``winmigrate.convert.agent``, docs/agent.md).

    ``service_name``/``display_name``/``description``, ``depend_on`` (``DependOnService``) and
    ``delayed`` (delayed automatic start, Vista and later) are its service registration.
    ``max_boots``: starts on which it tries before it gives up and disables itself;
    ``step_timeout``, ``pnp_timeout``, ``adapter_timeout`` (seconds): how long a step, Plug and
    Play, and the new network adapter may take. ``reboot``/``reboot_delay``: reboot when done.
    ``mac``: the new NIC's MAC address when the operator knows it (kept from Xen, say); without
    it the agent takes the one new adapter. ``ipv6``: re-apply static IPv6 addresses too.
    ``uninstall_xen_tools``: run the Xen PV tools' registered quiet uninstaller. ``program``: a
    host path of an agent executable to install instead of the one winmigrate ships."""

    service_name: str = "KvmConv"
    display_name: str = "winmigrate: finish the move to KVM"
    description: str = ("Runs once at the first boot on KVM: trusts the driver publisher, "
                        "installs the network driver, re-applies the old network settings, "
                        "removes itself and reboots. Log: %SystemRoot%\\KvmConv\\kvmconv.log")
    depend_on: tuple[str, ...] = ()
    delayed: bool = False
    max_boots: int = 3
    step_timeout: int = 600
    pnp_timeout: int = 300
    adapter_timeout: int = 300
    reboot: bool = True
    reboot_delay: int = 15
    mac: str | None = None
    ipv6: bool = True
    uninstall_xen_tools: bool = False
    program: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.service_name, str) or not self.service_name.strip() or any(
                c in self.service_name for c in '\\/"'):
            raise UsageError(f"bad agent service name {self.service_name!r}")
        if isinstance(self.depend_on, str) or not isinstance(self.depend_on, Sequence):
            raise UsageError("depend_on is a sequence of service names")
        object.__setattr__(self, "depend_on", tuple(self.depend_on))
        for name in ("max_boots", "step_timeout", "pnp_timeout", "adapter_timeout",
                     "reboot_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 86400:
                raise UsageError(f"{name} must be a number of seconds (or boots) from 0 to "
                                 f"86400, not {value!r}")
        if self.max_boots < 1:
            raise UsageError("max_boots must be at least 1")
        if self.mac is not None:
            object.__setattr__(self, "mac", _normal_mac(self.mac))

    def first_boot(self) -> FirstBootService:
        """The service registration of the agent installed in ``%SystemRoot%\\KvmConv``."""
        return FirstBootService(r"%SystemRoot%\KvmConv\kvmconv.exe", name=self.service_name,
                                display_name=self.display_name,
                                description=self.description, depend_on=self.depend_on,
                                delayed=self.delayed or None)


@dataclass(frozen=True)
class ConvertConfig:
    """Everything ``winmigrate convert`` is asked to do to a guest (``plan_conversion``).

    ``drivers``: the virtio-win source, a folder or the ISO. ``storage_driver``: ``viostor`` or
    ``vioscsi``. ``network_driver``: stage NetKVM for the first boot. ``agent``: the phase-two
    agent to install (``None``: none -- the guest then needs its network set up by hand).
    ``neutralise_xen``, ``emulated_disk_fallback`` (IDE/AHCI/NVMe boot drivers kept bootable),
    ``crash_auto_reboot_off`` (a stop error stays on screen at the first boot; the agent puts
    the value back), ``trust_driver_signer`` (the catalog signer's certificate to
    TrustedPublisher when it is not Microsoft's), ``certificates`` (more DER or PEM ones)."""

    drivers: str
    storage_driver: str = "viostor"
    network_driver: bool = True
    agent: AgentOptions | None = field(default_factory=AgentOptions)
    neutralise_xen: bool = True
    emulated_disk_fallback: bool = False
    crash_auto_reboot_off: bool = True
    trust_driver_signer: bool = True
    certificates: tuple[bytes | str, ...] = ()

    def __post_init__(self) -> None:
        import os

        if not isinstance(self.drivers, (str, os.PathLike)) or not os.fspath(self.drivers):
            raise UsageError("drivers must name the virtio-win folder or ISO")
        object.__setattr__(self, "drivers", os.fspath(self.drivers))
        if not isinstance(self.storage_driver, str) or \
                self.storage_driver.lower() not in STORAGE_DRIVER_NAMES:
            raise UsageError(f"unknown storage driver {self.storage_driver!r} "
                             f"(choose {' or '.join(STORAGE_DRIVER_NAMES)})")
        object.__setattr__(self, "storage_driver", self.storage_driver.lower())
        if self.agent is not None and not isinstance(self.agent, AgentOptions):
            raise UsageError("agent is an AgentOptions or None")
        if isinstance(self.certificates, (bytes, str)):
            raise UsageError("certificates is a sequence of certificates")
        object.__setattr__(self, "certificates", tuple(self.certificates))
