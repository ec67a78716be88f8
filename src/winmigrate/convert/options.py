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

__all__ = ["STORAGE_DRIVER_NAMES", "ConversionOptions", "FirstBootService"]

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
    drivers out of the boot path. ``ide_fallback``: also make the emulated IDE drivers
    boot-start, for a first boot on an IDE disk. ``driver_package_id`` / ``driver_oem_path``:
    the DriverDatabase package of the staged virtio storage driver on Windows 8 and later
    (``winmigrate.windows.drivers``). ``trust_certificates`` (DER or PEM) go to SOFTWARE's
    TrustedPublisher store, ``device_path`` is appended to SOFTWARE's ``DevicePath``."""

    storage_driver: str = "viostor"
    first_boot: FirstBootService | None = None
    neutralise_xen: bool = True
    ide_fallback: bool = False
    driver_package_id: str | None = None
    driver_oem_path: str | None = None
    trust_certificates: tuple[bytes | str, ...] = ()
    device_path: str | None = None

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

    @property
    def needs_software(self) -> bool:
        """Whether these options change SOFTWARE (certificates, ``DevicePath``)."""
        return bool(self.trust_certificates or self.device_path)
