"""SYSTEM-shaped hives: control sets, services (Xen's among them), CriticalDeviceDatabase entries,
driver packages, class filters and network adapters, returned with a ``SystemDescription`` of
everything put in."""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import TYPE_CHECKING, Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..hive import Key
from ..regf.names import collation_key
from ..regf.regtype import RegType
from .generated import GeneratedHive, GeneratedHiveBytes, generated, generated_bytes
from .names import key_names
from .trees import create_child
from .values import ValueData, strings

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hypothesis.strategies import SearchStrategy



_NET_CLASS = "{4D36E972-E325-11CE-BFC1-08002BE10318}"
_SYSTEM_CLASS = "{4D36E97D-E325-11CE-BFC1-08002BE10318}"
_HDC_CLASS = "{4D36E96A-E325-11CE-BFC1-08002BE10318}"
_SCSI_CLASS = "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
_DISK_CLASS = "{4D36E967-E325-11CE-BFC1-08002BE10318}"


@dataclass(frozen=True)
class ServiceSpec:
    """A service key ``<CS>\\Services\\<name>`` and its values (``Type``: 1 kernel driver,
    2 file system driver, 0x10 own process, 0x20 shared process; ``Start``: 0 boot, 1 system,
    2 automatic, 3 on demand, 4 disabled)."""

    name: str
    type: int
    start: int
    error_control: int = 1
    image_path: str | None = None
    group: str | None = None
    display_name: str | None = None
    xen: bool = False

    def write(self, services: Key) -> None:
        key = create_child(services, self.name)
        key.set_value("Type", self.type, RegType.DWORD)
        key.set_value("Start", self.start, RegType.DWORD)
        key.set_value("ErrorControl", self.error_control, RegType.DWORD)
        if self.image_path is not None:
            key.set_value("ImagePath", self.image_path, RegType.EXPAND_SZ)
        if self.group is not None:
            key.set_value("Group", self.group, RegType.SZ)
        if self.display_name is not None:
            key.set_value("DisplayName", self.display_name, RegType.SZ)
        if self.type & 0x30:
            key.set_value("ObjectName", "LocalSystem", RegType.SZ)


def _driver(name: str, group: str, start: int = 0, *, xen: bool = False,
            display: str | None = None) -> ServiceSpec:
    return ServiceSpec(name, 1, start, 1 if start else 3,
                       f"system32\\DRIVERS\\{name.lower()}.sys", group, display, xen)


#: Services every generated control set has (the storage path of a boot and TCP/IP).
CORE_SERVICES = (
    _driver("disk", "SCSI Class"), _driver("atapi", "SCSI miniport"),
    _driver("intelide", "System Bus Extender"), _driver("pciide", "System Bus Extender", 3),
    _driver("PartMgr", "Boot Bus Extender"), _driver("Tcpip", "PNP_TDI"),
)
#: Optional Windows services, drawn in this order of preference.
OTHER_SERVICES = (
    ServiceSpec("Dhcp", 0x20, 2, 1, "%SystemRoot%\\system32\\svchost.exe -k "
                "LocalServiceNetworkRestricted", "TDI", "DHCP Client"),
    _driver("NetBT", "PNP_TDI", 1), _driver("storahci", "SCSI Miniport", 3),
    _driver("volsnap", "Filter"), _driver("E1G60", "NDIS", 3),
    ServiceSpec("W32Time", 0x20, 3, 1, "%SystemRoot%\\system32\\svchost.exe -k LocalService",
                None, "Windows Time"),
    ServiceSpec("LanmanServer", 0x20, 2, 1, "%SystemRoot%\\system32\\svchost.exe -k netsvcs",
                None, "Server"),
    _driver("netkvm", "NDIS", 3, display="Red Hat VirtIO Ethernet Adapter"),
    _driver("viostor", "SCSI miniport", 0, display="Red Hat VirtIO SCSI controller"),
)
#: Xen PV driver services (the AWS/XenServer set of domain.md).
XEN_SERVICES = (
    _driver("xenbus", "Boot Bus Extender", xen=True, display="AWS PV Bus"),
    _driver("xenfilt", "Boot Bus Extender", xen=True, display="AWS Bus Filter"),
    _driver("xenvbd", "Scsi Miniport", xen=True, display="AWS PV Storage Host Adapter"),
    _driver("xenvif", "NDIS", 3, xen=True, display="AWS PV Network Class"),
    _driver("xennet", "NDIS", 3, xen=True, display="AWS PV Network Device"),
    _driver("xeniface", "Extended Base", 3, xen=True, display="AWS Interface"),
)


@dataclass(frozen=True)
class CddEntry:
    """``<CS>\\Control\\CriticalDeviceDatabase\\<device_id>`` (Windows 7 and older)."""

    device_id: str
    service: str
    class_guid: str


_CDD_STANDARD = (CddEntry("primary_ide_channel", "atapi", _HDC_CLASS),
                 CddEntry("pci#ven_8086&dev_7010", "intelide", _HDC_CLASS),
                 CddEntry("pci#cc_0101", "pciide", _HDC_CLASS),
                 CddEntry("gendisk", "disk", _DISK_CLASS))
_CDD_XEN = (CddEntry("pci#ven_5853&dev_0001", "xenbus", _SYSTEM_CLASS),
            CddEntry("xenbus#ven_xs0001&dev_vbd&rev_00000001", "xenvbd", _SCSI_CLASS))


@dataclass(frozen=True)
class DriverPackage:
    """A package in the root ``DriverDatabase`` (Windows 8 and later): ``DriverInfFiles\\<inf>``,
    ``DriverPackages\\<package>`` with ``Configurations\\<configuration>\\Service`` and
    ``Descriptors\\<hardware id>``, and ``DeviceIds\\<hardware id>`` ranking the inf."""

    inf: str
    package: str
    service: str
    class_guid: str
    hardware_ids: tuple[str, ...]
    configuration: str


@dataclass(frozen=True)
class ClassFilter:
    """``UpperFilters``/``LowerFilters`` (REG_MULTI_SZ) of ``<CS>\\Control\\Class\\<guid>``;
    an empty tuple means the value is absent."""

    class_guid: str
    upper: tuple[str, ...] = ()
    lower: tuple[str, ...] = ()


@dataclass(frozen=True)
class NicSpec:
    """One network adapter as written, in the terms of ``winmigrate.windows.netsettings.Interface``.

    ``guid`` is upper case with braces (the keys may spell it in other cases); ``gateways``
    are ``(address, metric or None)``; ``ipv4`` is empty for DHCP adapters (their
    ``IPAddress`` holds the ``0.0.0.0`` placeholder) and ``dhcp_address`` is the lease."""

    guid: str
    class_key: str
    name: str | None
    driver_desc: str
    component_id: str
    service: str
    device_instance_id: str
    hardware_ids: tuple[str, ...]
    present: bool
    is_xen: bool
    dhcp: bool
    ipv4: tuple[IPv4Interface, ...] = ()
    gateways: tuple[tuple[IPv4Address, int | None], ...] = ()
    dns_servers: tuple[IPv4Address, ...] = ()
    dns_suffix: str | None = None
    dhcp_address: IPv4Address | None = None
    net_luid_index: int = 1
    tcpip_key_case: Literal["upper", "lower"] = "upper"


@dataclass(frozen=True)
class ControlSetSpec:
    """What ``ControlSet<number>`` holds."""

    number: int
    services: tuple[ServiceSpec, ...]
    nics: tuple[NicSpec, ...] = ()
    cdd: tuple[CddEntry, ...] = ()
    filters: tuple[ClassFilter, ...] = ()
    hostname: str = "WINGUEST"

    @property
    def name(self) -> str:
        """``ControlSet001`` etc."""
        return f"ControlSet{self.number:03d}"

    def service(self, name: str) -> ServiceSpec | None:
        """The service called ``name`` (compared as Windows does), or ``None``."""
        wanted = collation_key(name)
        return next((s for s in self.services if collation_key(s.name) == wanted), None)


@dataclass(frozen=True)
class SystemDescription:
    """Everything ``system_hives`` put into a SYSTEM hive.

    ``select`` is ``(Current, Default, LastKnownGood, Failed)`` of the ``Select`` key;
    ``style`` is ``"cdd"`` (Windows 7 and older: a CriticalDeviceDatabase in every control set)
    or ``"driver-database"`` (Windows 8 and later: a root ``DriverDatabase`` holding
    ``driver_packages``); ``xen`` says whether the Xen PV drivers are installed (services,
    ``XENFILT`` class filters, ``xenfilt\\Unplug``, Xen CDD entries or packages).
    """

    version: tuple[int, int]
    select: tuple[int, int, int, int]
    control_sets: tuple[ControlSetSpec, ...]
    style: Literal["cdd", "driver-database"]
    xen: bool
    driver_packages: tuple[DriverPackage, ...] = ()

    @property
    def current(self) -> int:
        """``Select\\Current``."""
        return self.select[0]

    @property
    def current_set(self) -> ControlSetSpec:
        """The control set ``Select\\Current`` names."""
        return self.control_set(self.current)

    def control_set(self, number: int) -> ControlSetSpec:
        """The control set numbered ``number``."""
        for cs in self.control_sets:
            if cs.number == number:
                return cs
        raise KeyError(number)

    def build(self) -> GeneratedHive:
        """The SYSTEM hive this describes (writable, re-read from its bytes)."""
        return _build_system(self)


_NIC_KINDS = {
    # kind: (driver desc, component id, service, hardware id, instance prefix, is_xen)
    "e1000": ("Intel(R) PRO/1000 MT Network Connection", "pci\\ven_8086&dev_100e", "E1G60",
              "PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", "3&267A616A&0&", False),
    "rtl8139": ("Realtek RTL8139C+ Fast Ethernet NIC", "pci\\ven_10ec&dev_8139", "RTL8023",
                "PCI\\VEN_10EC&DEV_8139&SUBSYS_11001AF4&REV_20", "3&13C0B0C5&0&", False),
    "virtio": ("Red Hat VirtIO Ethernet Adapter", "pci\\ven_1af4&dev_1000", "netkvm",
               "PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "3&13C0B0C5&0&", False),
    "xen-aws": ("AWS PV Network Device #0", "xenvif\\ven_xs0001&dev_net&rev_00000000",
                "xennet", "XENVIF\\VEN_XS0001&DEV_NET&REV_00000000", "", True),
    "xen-xcp": ("XCP-ng PV Network Device #0", "xenvif\\ven_xs0001&dev_net&rev_00000001",
                "xennet", "XENVIF\\VEN_XS0001&DEV_NET&REV_00000001", "", True),
    "xen-citrix": ("Citrix PV Ethernet Adapter #0", "xen\\vif", "xennet6", "XEN\\VIF", "",
                   True),
}
_NETWORKS = ("192.0.2.", "198.51.100.", "203.0.113.", "10.0.0.")


def _guid(value: int) -> str:
    h = f"{value:032X}"
    return "{" + f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" + "}"


@st.composite
def _nic(draw: st.DrawFn, index: int, kinds: Sequence[str]) -> NicSpec:
    kind = draw(st.sampled_from(kinds))
    desc, component, service, hwid, prefix, is_xen = _NIC_KINDS[kind]
    guid = _guid(draw(st.integers(0, 2**128 - 1)))
    slot = 0x10 + index
    instance = f"{hwid}\\{prefix}{slot:02X}" if prefix else f"{hwid}\\{index}"
    name = draw(st.one_of(st.sampled_from(("Local Area Connection", "Ethernet",
                                           f"Local Area Connection {index + 2}",
                                           f"Ethernet {index + 2}")),
                          st.none(), key_names(max_length=60)))
    dhcp = draw(st.booleans())
    net = draw(st.sampled_from(_NETWORKS))
    hosts = st.integers(1, 254)
    ipv4: tuple[IPv4Interface, ...] = ()
    gateways: tuple[tuple[IPv4Address, int | None], ...] = ()
    dns: tuple[IPv4Address, ...] = ()
    lease: IPv4Address | None = None
    if dhcp:
        lease = IPv4Address(net + str(draw(hosts)))
    else:
        addresses = draw(st.lists(hosts, min_size=1, max_size=3, unique=True))
        prefix_len = draw(st.sampled_from((24, 25, 16, 8, 30)))
        ipv4 = tuple(IPv4Interface(f"{net}{h}/{prefix_len}") for h in addresses)
        gws = draw(st.lists(hosts, max_size=2, unique=True))
        metrics = draw(st.one_of(st.none(), st.lists(st.integers(0, 9999), min_size=len(gws),
                                                     max_size=len(gws))))
        gateways = tuple((IPv4Address(f"{net}{g}"), None if metrics is None else metrics[i])
                         for i, g in enumerate(gws))
        dns = tuple(IPv4Address(f"{net}{d}")
                    for d in draw(st.lists(hosts, max_size=3, unique=True)))
    suffix = draw(st.one_of(st.none(), st.sampled_from(("corp.example", "example.com"))))
    return NicSpec(
        guid=guid, class_key=f"{index + 7:04d}", name=name, driver_desc=desc,
        component_id=component, service=service, device_instance_id=instance,
        hardware_ids=(hwid, hwid.rsplit("&REV_", 1)[0]) if "&REV_" in hwid else (hwid,),
        present=draw(st.booleans()), is_xen=is_xen, dhcp=dhcp, ipv4=ipv4, gateways=gateways,
        dns_servers=dns, dns_suffix=suffix, dhcp_address=lease, net_luid_index=index + 1,
        tcpip_key_case=draw(st.sampled_from(("upper", "lower"))))


_XEN_KINDS = tuple(k for k, v in _NIC_KINDS.items() if v[5])
_PLAIN_KINDS = tuple(k for k, v in _NIC_KINDS.items() if not v[5])


@functools.lru_cache(maxsize=32)
def _odd_services(max_services: int) -> SearchStrategy[list[ServiceSpec]]:
    """Services with generated names and values (anything a service key may hold)."""
    return st.lists(st.builds(
        ServiceSpec, key_names(max_length=60), st.sampled_from((1, 0x10, 0x20, 2)),
        st.integers(0, 4), st.integers(0, 3),
        st.one_of(st.none(), strings(400)), st.one_of(st.none(), st.just("Extended Base")),
        st.one_of(st.none(), strings(400))), max_size=max_services)


@st.composite
def _control_set(draw: st.DrawFn, number: int, *, style: str, xen: bool, max_services: int,
                 max_nics: int, current: bool) -> ControlSetSpec:
    # The same choices are drawn whatever ``xen`` and ``style`` say, so that the shrinker can
    # turn either off without the rest of the example changing meaning.
    services: dict[str, ServiceSpec] = {}
    extra = draw(st.lists(st.sampled_from(OTHER_SERVICES), max_size=max_services,
                          unique_by=lambda s: s.name))
    odd = draw(_odd_services(max_services))[:max(0, max_services - len(extra))]
    for svc in (*CORE_SERVICES, *(XEN_SERVICES if xen else ()), *extra, *odd):
        services.setdefault(collation_key(svc.name), svc)
    count = draw(st.integers(0, max_nics))
    nics: list[NicSpec] = []
    for i in range(count):
        # With xen, the first adapter of the current control set is the Xen PV NIC, and Xen
        # NICs are the simplest choice for the others.
        kinds = (_XEN_KINDS if current and i == 0 else _XEN_KINDS + _PLAIN_KINDS) if xen \
            else _PLAIN_KINDS
        nic = draw(_nic(i, kinds))
        if all(n.guid != nic.guid for n in nics):
            nics.append(nic)
    for nic in nics:
        services.setdefault(collation_key(nic.service), _driver(nic.service, "NDIS", 3,
                                                                xen=nic.is_xen))
    filters = [ClassFilter(_DISK_CLASS, upper=("PartMgr",))]
    for guid in (_SYSTEM_CLASS, _HDC_CLASS):
        spelled = draw(st.sampled_from(("XENFILT", "xenfilt")))
        others = draw(st.lists(st.sampled_from(("PartMgr", "vmbusr")), max_size=1))
        upper = tuple(draw(st.permutations([spelled, *others])))
        if xen:
            filters.append(ClassFilter(guid, upper=upper))
    cdd: tuple[CddEntry, ...] = ()
    if style == "cdd":
        cdd = _CDD_STANDARD + (_CDD_XEN if xen else ())
    hostname = draw(st.sampled_from(("WINGUEST", "xenguest", "SRV01", "win-7f3a")))
    return ControlSetSpec(number, tuple(services.values()), tuple(nics), cdd,
                          tuple(filters), hostname)


_PACKAGE_VERSION = struct.Struct("<BBHI16sQQ8s")


def _package_version(class_guid: str) -> bytes:
    """The 48-byte ``Version`` value of a driver package: flags, architecture (9 = amd64), the
    class GUID, the driver date (2006-06-21 as FILETIME) and version 10.0.0.0."""
    import uuid

    guid = uuid.UUID(class_guid.strip("{}")).bytes_le
    return _PACKAGE_VERSION.pack(0xFF, 0xFF, 9, 0, guid, 0x01C6953D4CC40000, 10 << 48, bytes(8))


def _packages(xen: bool, digest: int) -> tuple[DriverPackage, ...]:
    out = [DriverPackage("mshdc.inf", f"mshdc.inf_amd64_{digest:016x}", "atapi", _HDC_CLASS,
                         ("PCI\\CC_0101",), "atapi_Inst"),
           DriverPackage("disk.inf", f"disk.inf_amd64_{digest ^ 1:016x}", "disk", _DISK_CLASS,
                         ("GenDisk",), "disk_install")]
    if xen:
        out += [DriverPackage("oem2.inf", f"xenvbd.inf_amd64_{digest ^ 2:016x}", "xenvbd",
                              _SCSI_CLASS, ("XENBUS\\VEN_XS0001&DEV_VBD&REV_00000001",),
                              "XenVbd_Inst"),
                DriverPackage("oem88.inf", f"xenbus.inf_amd64_{digest ^ 3:016x}", "xenbus",
                              _SYSTEM_CLASS, ("PCI\\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01",),
                              "XenBus_Inst")]
    return tuple(out)


def system_hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] = (1, 5),
                 style: Literal["cdd", "driver-database"] | None = None,
                 xen: bool | None = None, max_control_sets: int = 2,
                 control_set_numbers: Sequence[int] = (1, 2, 3, 10, 11, 99, 100, 999),
                 max_services: int = 3, max_nics: int = 2,
                 as_bytes: bool = False,
                 ) -> SearchStrategy[tuple[GeneratedHive | GeneratedHiveBytes,
                                           SystemDescription]]:
    """SYSTEM-shaped hives for testing conversion code, each with a ``SystemDescription``
    of what was put in: ``(hive, description)``.

    * ``Select`` (``Current``, ``Default``, ``LastKnownGood``, ``Failed``) over 1 to
      ``max_control_sets`` control sets numbered from ``control_set_numbers`` (numbers of 10
      and more included: ``ControlSet010``);
    * in each control set: ``Services`` with realistic service keys (``CORE_SERVICES``,
      up to ``max_services`` of ``OTHER_SERVICES`` and odd-named ones), the disk class's
      ``UpperFilters``, network adapters (``Control\\Class\\{4D36E972-...}\\NNNN`` with
      ``NetCfgInstanceId``, the ``Connection`` name, ``Enum`` device, ``Services\\Tcpip\\
      Parameters\\Interfaces\\{GUID}`` with static or DHCP IPv4 settings), the host name;
    * ``style``: a ``CriticalDeviceDatabase`` in each control set (``"cdd"``, Windows 7 and
      older) or a root ``DriverDatabase`` (``"driver-database"``, Windows 8 and later); drawn
      when ``None``;
    * ``xen``: the Xen PV drivers (services, ``XENFILT`` in the System and HDC classes'
      ``UpperFilters``, ``xenfilt\\Unplug``, Xen CDD entries or driver packages; the first
      adapter of the current control set, if there is one, is a Xen PV NIC); drawn when
      ``None``.

    The hive reads back through ``winmigrate.windows.network.interfaces`` as the description's
    ``current_set.nics`` say. With ``as_bytes`` the hive is given as its bytes.

    Examples:
        >>> from winmigrate.windows import network
        >>> from winmigrate.testing import system_hives
        >>> hive, description = system_hives(xen=True).example()
        >>> nics = description.current_set.nics
        >>> not nics or nics[0].is_xen
        True
        >>> {n.guid for n in network.interfaces(hive) if n.is_xen} == {
        ...     n.guid for n in nics if n.is_xen}
        True
    """
    if max_control_sets < 1:
        raise InvalidArgument("max_control_sets must be at least 1")
    numbers_ok = [n for n in control_set_numbers if 1 <= n <= 999]
    if not numbers_ok:
        raise InvalidArgument("control_set_numbers must hold numbers in 1..999")
    versions_ = st.just(version) if isinstance(version, tuple) else version
    styles: SearchStrategy[Literal["cdd", "driver-database"]] = (
        st.just(style) if style is not None else st.sampled_from(("cdd", "driver-database")))
    xens = st.just(xen) if xen is not None else st.booleans()

    @st.composite
    def description(draw: st.DrawFn) -> SystemDescription:
        version_ = draw(versions_)
        style_ = draw(styles)
        xen_ = draw(xens)
        numbers = draw(st.lists(st.sampled_from(numbers_ok), min_size=1,
                                max_size=max_control_sets, unique=True))
        current = numbers[0]
        default = draw(st.sampled_from(numbers))
        last_good = draw(st.sampled_from(numbers))
        failed = draw(st.one_of(st.just(0), st.sampled_from(numbers)))
        sets = tuple(draw(_control_set(n, style=style_, xen=xen_, max_services=max_services,
                                       max_nics=max_nics, current=n == current))
                     for n in numbers)
        digest = draw(st.integers(0, 2**64 - 1))
        packages = _packages(xen_, digest) if style_ == "driver-database" else ()
        return SystemDescription(version_, (current, default, last_good, failed),
                                 sets, style_, xen_, packages)

    def build(desc: SystemDescription) -> tuple[GeneratedHive | GeneratedHiveBytes,
                                                SystemDescription]:
        hive = _build_system(desc)
        return (generated_bytes(hive) if as_bytes else hive), desc

    return description().map(build)


def _put(key: Key, values_: dict[str, tuple[RegType, ValueData]]) -> Key:
    for name, (t, data) in values_.items():
        key.set_value(name, data, t)
    return key


def _path(key: Key, *names: str) -> Key:
    for name in names:
        key = create_child(key, name)
    return key


def _write_nic(cs: Key, nic: NicSpec) -> None:
    SZ, DW, MULTI = RegType.SZ, RegType.DWORD, RegType.MULTI_SZ
    inst = _path(cs, "Control", "Class", _NET_CLASS, nic.class_key)
    _put(inst, {"NetCfgInstanceId": (SZ, nic.guid), "DriverDesc": (SZ, nic.driver_desc),
                "ComponentId": (SZ, nic.component_id),
                "MatchingDeviceId": (SZ, nic.component_id),
                "DeviceInstanceID": (SZ, nic.device_instance_id), "*IfType": (DW, 6),
                "NetLuidIndex": (DW, nic.net_luid_index)})
    _put(_path(inst, "Ndi"), {"Service": (SZ, nic.service)})
    conn = _path(cs, "Control", "Network", _NET_CLASS, nic.guid, "Connection")
    _put(conn, {"PnPInstanceId": (SZ, nic.device_instance_id)})
    if nic.name is not None:
        _put(conn, {"Name": (SZ, nic.name)})
    if nic.present:
        device = _path(cs, "Enum", *nic.device_instance_id.split("\\"))
        _put(device, {"HardwareID": (MULTI, list(nic.hardware_ids)),
                      "Service": (SZ, nic.service), "ClassGUID": (SZ, _NET_CLASS.lower()),
                      "Driver": (SZ, f"{_NET_CLASS.lower()}\\{nic.class_key}")})
    tcpip_name = nic.guid if nic.tcpip_key_case == "upper" else nic.guid.lower()
    tcpip = _path(cs, "Services", "Tcpip", "Parameters", "Interfaces", tcpip_name)
    if nic.dhcp:
        assert nic.dhcp_address is not None
        net = str(nic.dhcp_address).rsplit(".", 1)[0]
        _put(tcpip, {"EnableDHCP": (DW, 1), "IPAddress": (MULTI, ["0.0.0.0"]),
                     "SubnetMask": (MULTI, ["0.0.0.0"]), "DefaultGateway": (MULTI, []),
                     "NameServer": (SZ, ""), "Domain": (SZ, nic.dns_suffix or ""),
                     "DhcpIPAddress": (SZ, str(nic.dhcp_address)),
                     "DhcpSubnetMask": (SZ, "255.255.255.0"), "DhcpServer": (SZ, net + ".1"),
                     "Lease": (DW, 86400), "LeaseObtainedTime": (DW, 1700000000),
                     "LeaseTerminatesTime": (DW, 1700086400)})
        return
    values_: dict[str, tuple[RegType, ValueData]] = {
        "EnableDHCP": (DW, 0),
        "IPAddress": (MULTI, [str(i.ip) for i in nic.ipv4]),
        "SubnetMask": (MULTI, [str(i.netmask) for i in nic.ipv4]),
        "DefaultGateway": (MULTI, [str(a) for a, _m in nic.gateways]),
        "NameServer": (SZ, ",".join(str(a) for a in nic.dns_servers)),
        "Domain": (SZ, nic.dns_suffix or ""),
    }
    if nic.gateways and all(m is not None for _a, m in nic.gateways):
        values_["DefaultGatewayMetric"] = (MULTI, [str(m) for _a, m in nic.gateways])
    _put(tcpip, values_)


def _write_packages(root: Key, packages: Iterable[DriverPackage]) -> None:
    SZ, DW, MULTI, BIN = RegType.SZ, RegType.DWORD, RegType.MULTI_SZ, RegType.BINARY
    ddb = _put(_path(root, "DriverDatabase"), {"Version": (DW, 0x0A000000),
                                               "Architecture": (DW, 9)})
    for pkg in packages:
        _put(_path(ddb, "DriverInfFiles", pkg.inf), {"": (MULTI, [pkg.package]),
                                                     "Active": (SZ, pkg.package),
                                                     "Configurations": (MULTI,
                                                                        [pkg.configuration])})
        entry = _put(_path(ddb, "DriverPackages", pkg.package), {
            "": (SZ, pkg.inf), "Version": (BIN, _package_version(pkg.class_guid)),
            "Provider": (SZ, "Microsoft"), "SignerScore": (DW, 0x0D000005)})
        _put(_path(entry, "Configurations", pkg.configuration), {"Service": (SZ, pkg.service),
                                                                 "ConfigFlags": (DW, 0)})
        for hwid in pkg.hardware_ids:
            _put(_path(entry, "Descriptors", *hwid.split("\\")),
                 {"Configuration": (SZ, pkg.configuration)})
            _put(_path(ddb, "DeviceIds", *hwid.split("\\")),
                 {pkg.inf: (BIN, b"\x01\xff\x00\x00")})
        _put(_path(ddb, "DeviceIds", pkg.class_guid.lower()), {pkg.inf: (RegType.NONE, b"")})


def _build_system(desc: SystemDescription) -> GeneratedHive:
    from ..hive.edit.blank import new_hive_bytes

    hive = generated(new_hive_bytes("ROOT", desc.version))
    root = hive.root
    DW = RegType.DWORD
    _put(_path(root, "Select"), dict(zip(("Current", "Default", "LastKnownGood", "Failed"),
                                         ((DW, n) for n in desc.select))))
    for cs_spec in desc.control_sets:
        cs = _path(root, cs_spec.name)
        services = _path(cs, "Services")
        for svc in cs_spec.services:
            svc.write(services)
        if desc.xen:
            _put(_path(services, "xenfilt", "Unplug"), {"DISKS": (DW, 1), "NICS": (DW, 1)})
        classes = _path(cs, "Control", "Class")
        for flt in cs_spec.filters:
            key = _path(classes, flt.class_guid)
            if flt.upper:
                key.set_value("UpperFilters", list(flt.upper), RegType.MULTI_SZ)
            if flt.lower:
                key.set_value("LowerFilters", list(flt.lower), RegType.MULTI_SZ)
        _path(classes, _NET_CLASS).set_value("Class", "Net", RegType.SZ)
        if desc.style == "cdd":
            cdd = _path(cs, "Control", "CriticalDeviceDatabase")
            for entry in cs_spec.cdd:
                _put(_path(cdd, entry.device_id), {"Service": (RegType.SZ, entry.service),
                                                   "ClassGUID": (RegType.SZ, entry.class_guid)})
        params = _path(services, "Tcpip", "Parameters")
        _put(params, {"Hostname": (RegType.SZ, cs_spec.hostname),
                      "NV Hostname": (RegType.SZ, cs_spec.hostname)})
        _put(_path(cs, "Control", "ComputerName", "ComputerName"),
             {"ComputerName": (RegType.SZ, cs_spec.hostname.upper())})
        _path(cs, "Enum", "Root")
        for nic in cs_spec.nics:
            _write_nic(cs, nic)
    if desc.style == "driver-database":
        _write_packages(root, desc.driver_packages)
    data = hive.to_bytes()
    hive.close()
    out = generated(data)
    out.recipe = desc
    out.label = "<SYSTEM hive: see its SystemDescription>"
    return out
