"""Windows services and drivers: ``<CCS>\\Services\\<name>`` of a SYSTEM hive.

    from . import services
    from .services import Service, ServiceType, StartType, ErrorControl

    for svc in services.list_services(hive):                 # the current control set
        print(svc.name, svc.start, svc.image_path)
    services.set_start(hive, "xenvbd", StartType.DISABLED)   # every control set Select uses
    services.register_service(hive, Service(
        "KvmConv", type=ServiceType.WIN32_OWN_PROCESS, start=StartType.AUTO,
        error_control=ErrorControl.NORMAL, image_path=r"C:\\Windows\\KvmConv\\kvmconv.exe",
        object_name="LocalSystem"))

Reading is tolerant of what real hives hold: a value of the wrong type (a ``Start`` stored as
REG_SZ "3" or as 4 REG_BINARY bytes), a missing value, keys under ``Services`` that are not
services (``Services\\XEN`` only holds ``Unplug`` settings). Each oddity becomes a line in
``Service.warnings``. Writing functions return the ``winmigrate.windows.changes.Change`` records of
what they did; the ``plan_*`` twins return the same without writing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import TYPE_CHECKING, TypeAlias

from ..errors import KeyNotFoundError, UsageError
from ..regf.regtype import RegType
from ..regf.values import parse_decimal
from .changes import Change, ChangeSet, RegValue, apply_changes, find_key, join
from .controlsets import ControlSetSelection, resolve_control_set, select_control_sets

if TYPE_CHECKING:
    from ..hive import Hive, Key, Value

__all__ = [
    "ErrorControl",
    "ParamValue",
    "Service",
    "ServiceType",
    "StartType",
    "get_service",
    "list_services",
    "plan_register_service",
    "plan_remove_service",
    "plan_set_start",
    "quote_image_path",
    "register_service",
    "remove_service",
    "service_exists",
    "set_start",
]

ParamValue: TypeAlias = "str | int | list[str] | bytes | RegValue"


class ServiceType(IntFlag):
    """``Type`` (``SERVICE_*`` in winnt.h). Unknown bits are kept."""

    KERNEL_DRIVER = 0x1
    FILE_SYSTEM_DRIVER = 0x2
    ADAPTER = 0x4
    RECOGNIZER_DRIVER = 0x8
    WIN32_OWN_PROCESS = 0x10
    WIN32_SHARE_PROCESS = 0x20
    USER_SERVICE = 0x40
    USERSERVICE_INSTANCE = 0x80
    INTERACTIVE_PROCESS = 0x100
    PKG_SERVICE = 0x200

    @property
    def is_driver(self) -> bool:
        return bool(self & (ServiceType.KERNEL_DRIVER | ServiceType.FILE_SYSTEM_DRIVER |
                            ServiceType.RECOGNIZER_DRIVER))


class StartType(IntEnum):
    """``Start``: when the service or driver is loaded."""

    BOOT = 0  # by the boot loader, with the boot drivers
    SYSTEM = 1  # by the kernel during initialisation
    AUTO = 2  # by the service control manager at startup
    DEMAND = 3
    DISABLED = 4


class ErrorControl(IntEnum):
    """``ErrorControl``: what a load failure does to the boot."""

    IGNORE = 0
    NORMAL = 1
    SEVERE = 2  # switch to LastKnownGood
    CRITICAL = 3  # switch to LastKnownGood, fail the boot if already there


@dataclass(frozen=True)
class Service:
    """One ``Services\\<name>`` key. ``None`` means the value is absent (or unreadable: see
    ``warnings``). ``parameters`` are the values of the ``Parameters`` subkey,
    ``start_override`` those of ``StartOverride`` (Windows 8 and later: a value there replaces
    ``Start`` -- how Windows keeps inbox boot drivers it does not need from loading)."""

    name: str
    type: ServiceType | None = None
    start: StartType | int | None = None
    error_control: ErrorControl | int | None = None
    image_path: str | None = None
    display_name: str | None = None
    group: str | None = None
    object_name: str | None = None
    depend_on_service: tuple[str, ...] = ()
    depend_on_group: tuple[str, ...] = ()
    description: str | None = None
    delayed_auto_start: bool | None = None
    parameters: Mapping[str, ParamValue] = field(default_factory=dict, hash=False)
    start_override: Mapping[str, int] = field(default_factory=dict, hash=False)
    tag: int | None = None
    owners: tuple[str, ...] = ()
    control_set: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def is_driver(self) -> bool:
        return self.type is not None and self.type.is_driver

    @property
    def disabled(self) -> bool:
        return self.start == StartType.DISABLED

    @property
    def friendly_name(self) -> str:
        """The display name as shown by Windows: the fallback after ``;`` of an indirect
        string (``@oem88.inf,%XenBusName%;AWS PV Bus`` -> ``AWS PV Bus``), else the name."""
        return friendly_text(self.display_name) or self.name

    def to_dict(self) -> dict[str, object]:
        def enum_name(v: object) -> object:
            return getattr(v, "name", v)

        return {
            "name": self.name, "control_set": self.control_set,
            "type": None if self.type is None else int(self.type),
            "type_flags": None if self.type is None else _flag_names(self.type),
            "start": None if self.start is None else int(self.start),
            "start_name": enum_name(self.start),
            "error_control": None if self.error_control is None else int(self.error_control),
            "image_path": self.image_path, "display_name": self.display_name,
            "group": self.group, "object_name": self.object_name,
            "depend_on_service": list(self.depend_on_service),
            "depend_on_group": list(self.depend_on_group), "description": self.description,
            "delayed_auto_start": self.delayed_auto_start,
            "parameters": {k: (v.hex() if isinstance(v, bytes) else
                               str(v) if isinstance(v, RegValue) else v)
                           for k, v in self.parameters.items()},
            "start_override": dict(self.start_override), "tag": self.tag,
            "owners": list(self.owners), "warnings": list(self.warnings),
        }


def _flag_names(flags: ServiceType) -> list[str]:
    names = [m.name for m in ServiceType if m.name and m & flags]
    rest = int(flags) & ~sum(int(m) for m in ServiceType)
    if rest:
        names.append(f"0x{rest:x}")
    return names


def friendly_text(text: str | None) -> str | None:
    """An indirect string's fallback text (``@file,-id;Fallback`` -> ``Fallback``)."""
    if text and text.startswith("@") and ";" in text:
        return text.rsplit(";", 1)[1] or text
    return text


def quote_image_path(path: str, arguments: str | None = None) -> str:
    """An ``ImagePath`` for ``path``: quoted when it holds a space (an unquoted path with spaces
    is ambiguous to the service control manager -- and a known privilege-escalation hole),
    followed by ``arguments``."""
    path = path.strip()
    if " " in path and not (path.startswith('"') and path.endswith('"')):
        path = f'"{path}"'
    return f"{path} {arguments.strip()}" if arguments and arguments.strip() else path


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    """Typed reads of one key's values, noting each oddity."""

    def __init__(self, key: Key, warnings: list[str]) -> None:
        self.values: dict[str, Value] = {v.name.upper(): v for v in key.values()}
        self.warnings = warnings
        self.where = key.name

    def _get(self, name: str) -> Value | None:
        return self.values.get(name.upper())

    def number(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        data = value.data
        if value.type_number in (RegType.DWORD, RegType.QWORD) and isinstance(data, int):
            return data
        if isinstance(data, str) and (number := parse_decimal(data)) is not None:
            self.warnings.append(f"{name} is {value.type!s} {data!r}, not a REG_DWORD")
            return number
        if isinstance(data, str) and data.strip().lower().startswith("0x"):
            try:
                number = int(data.strip(), 16)
            except ValueError:
                pass
            else:
                self.warnings.append(f"{name} is {value.type!s} {data!r}, not a REG_DWORD")
                return number
        if isinstance(data, bytes) and len(value.raw) in (4, 8):
            self.warnings.append(f"{name} is {len(value.raw)} bytes of type "
                                 f"{value.type_number}, read as a little-endian number")
            return int.from_bytes(value.raw, "little")
        self.warnings.append(f"{name} is not a number (type {value.type_number}, "
                             f"{value.raw[:16].hex() or 'empty'}); ignored")
        return None

    def text(self, name: str) -> str | None:
        value = self._get(name)
        if value is None:
            return None
        data = value.data
        if isinstance(data, str):
            return data
        if isinstance(data, list):
            self.warnings.append(f"{name} is a REG_MULTI_SZ; its first string is used")
            return data[0] if data else ""
        if isinstance(data, int):
            self.warnings.append(f"{name} is a number ({data}), not a string")
            return str(data)
        self.warnings.append(f"{name} is binary (type {value.type_number}); ignored")
        return None

    def texts(self, name: str) -> tuple[str, ...]:
        value = self._get(name)
        if value is None:
            return ()
        data = value.data
        if isinstance(data, list):
            # Windows stops reading a REG_MULTI_SZ at its first empty string.
            out: list[str] = []
            for item in data:
                if not item:
                    break
                out.append(item)
            return tuple(out)
        if isinstance(data, str):
            if value.type_number != RegType.MULTI_SZ:
                self.warnings.append(f"{name} is a single string, not a REG_MULTI_SZ")
            return (data,) if data else ()
        self.warnings.append(f"{name} is not a string list (type {value.type_number}); ignored")
        return ()


def _enum_or_int(cls: type[IntEnum], number: int | None) -> IntEnum | int | None:
    if number is None:
        return None
    try:
        return cls(number)
    except ValueError:
        return number


def _read_service(key: Key, control_set: str | None) -> Service:
    warnings: list[str] = []
    r = _Reader(key, warnings)
    type_number = r.number("Type")
    delayed = r.number("DelayedAutoStart")
    params: dict[str, ParamValue] = {}
    pkey = key.get_subkey("Parameters")
    if pkey is not None:
        for value in pkey.values():
            params[value.name] = value.data
    overrides: dict[str, int] = {}
    okey = key.get_subkey("StartOverride")
    if okey is not None:
        for value in okey.values():
            data = value.data
            if isinstance(data, int):
                overrides[value.name] = data
            else:
                warnings.append(f"StartOverride\\{value.name} is not a number")
    start = _enum_or_int(StartType, r.number("Start"))
    error_control = _enum_or_int(ErrorControl, r.number("ErrorControl"))
    return Service(
        name=key.name,
        type=None if type_number is None else ServiceType(type_number & 0xFFFFFFFF),
        start=start,
        error_control=error_control,
        image_path=r.text("ImagePath"), display_name=r.text("DisplayName"),
        group=r.text("Group"), object_name=r.text("ObjectName"),
        depend_on_service=r.texts("DependOnService"), depend_on_group=r.texts("DependOnGroup"),
        description=r.text("Description"),
        delayed_auto_start=None if delayed is None else bool(delayed),
        parameters=params, start_override=overrides, tag=r.number("Tag"),
        owners=r.texts("Owners"), control_set=control_set, warnings=tuple(warnings))


def _services_key(hive: Hive, control_set: str) -> Key | None:
    return find_key(hive, join(control_set, "Services"))


def list_services(hive: Hive, control_set: int | str | None = None) -> list[Service]:
    """Every subkey of ``<control set>\\Services`` (default: the current set), in stored order.
    A key without ``Type`` is listed too (with ``type=None``): Windows ignores it, but it may
    hold settings (``Services\\XEN\\Unplug``)."""
    cs = resolve_control_set(hive, control_set)
    services = _services_key(hive, cs)
    if services is None:
        return []
    return [_read_service(key, cs) for key in services.subkeys()]


def get_service(hive: Hive, name: str, control_set: int | str | None = None) -> Service | None:
    """The service ``name`` (case-insensitive) in ``control_set``, or ``None``."""
    cs = resolve_control_set(hive, control_set)
    services = _services_key(hive, cs)
    key = services.get_subkey(name) if services is not None else None
    return None if key is None else _read_service(key, cs)


def service_exists(hive: Hive, name: str, control_set: str) -> bool:
    services = _services_key(hive, control_set)
    return services is not None and services.get_subkey(name) is not None


# -- writing ---------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not name or "\\" in name or "/" in name or len(name) > 256:
        raise UsageError(f"not a service name: {name!r}")


def _param_value(data: ParamValue) -> RegValue:
    if isinstance(data, RegValue):
        return data
    return RegValue.make(data)


def _service_values(service: Service) -> list[tuple[str, RegValue]]:
    values: list[tuple[str, RegValue]] = []

    def dword(vname: str, number: int | None) -> None:
        if number is not None:
            values.append((vname, RegValue.make(int(number), RegType.DWORD)))

    def sz(vname: str, text: str | None, t: RegType = RegType.SZ) -> None:
        if text is not None:
            values.append((vname, RegValue.make(text, t)))

    def multi(vname: str, items: tuple[str, ...]) -> None:
        if items:
            values.append((vname, RegValue.make(list(items), RegType.MULTI_SZ)))

    dword("Type", None if service.type is None else int(service.type))
    dword("Start", None if service.start is None else int(service.start))
    dword("ErrorControl", None if service.error_control is None else int(service.error_control))
    sz("ImagePath", service.image_path, RegType.EXPAND_SZ)
    sz("DisplayName", service.display_name)
    sz("Group", service.group)
    sz("ObjectName", service.object_name)
    sz("Description", service.description)
    multi("DependOnService", service.depend_on_service)
    multi("DependOnGroup", service.depend_on_group)
    if service.delayed_auto_start is not None:
        dword("DelayedAutoStart", int(service.delayed_auto_start))
    dword("Tag", service.tag)
    multi("Owners", service.owners)
    return values


def plan_register_service(hive: Hive, service: Service,
                          control_sets: ControlSetSelection = "all", *,
                          reason: str | None = None, changes: ChangeSet | None = None
                          ) -> tuple[Change, ...]:
    """The changes ``register_service`` would make (nothing is written).

    Each field that is not ``None`` (not empty, for the tuples and mappings) is written with
    the type Windows uses: DWORD for ``Type``/``Start``/``ErrorControl``/``DelayedAutoStart``/
    ``Tag``, REG_EXPAND_SZ for ``ImagePath``, REG_SZ for the texts, REG_MULTI_SZ for the
    dependency lists; ``parameters`` go to the ``Parameters`` subkey (type inferred, or give a
    ``RegValue``). Other values of an existing service are left alone. A new service needs
    ``type``, ``start`` and ``error_control``."""
    _check_name(service.name)
    cs_names = select_control_sets(hive, control_sets)
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    why = reason or f"register service {service.name}"
    for cs in cs_names:
        services = _services_key(hive, cs)
        existing = services.get_subkey(service.name) if services is not None else None
        name = existing.name if existing is not None else service.name
        path = join(cs, "Services", name)
        if not plan.key_exists(path) and (service.type is None or service.start is None
                                          or service.error_control is None):
            raise UsageError(f"a new service ({service.name}) needs type, start and "
                             "error_control")
        values = _service_values(service)
        plan.ensure_key(path, why)
        for vname, value in values:
            plan.set_value(path, vname, value, why)
        for pname, pdata in service.parameters.items():
            plan.set_value(join(path, "Parameters"), pname, _param_value(pdata), why)
    return plan.since(first)


def register_service(hive: Hive, service: Service,
                     control_sets: ControlSetSelection = "all") -> tuple[Change, ...]:
    """Create or update ``service`` in every selected control set (see
    ``plan_register_service``); returns the changes made."""
    return apply_changes(hive, plan_register_service(hive, service, control_sets))


def _present_sets(hive: Hive, name: str, control_sets: ControlSetSelection) -> list[str]:
    cs_names = select_control_sets(hive, control_sets)
    present = [cs for cs in cs_names if service_exists(hive, name, cs)]
    if not present:
        raise KeyNotFoundError(f"Services\\{name}",
                               f"{name} (in {', '.join(cs_names)})")
    return present


def plan_set_start(hive: Hive, name: str, start: StartType | int,
                   control_sets: ControlSetSelection = "all", *, reason: str | None = None,
                   changes: ChangeSet | None = None, missing_ok: bool = False
                   ) -> tuple[Change, ...]:
    """The changes ``set_start`` would make. Control sets without the service are
    skipped (a driver may be installed in only some of them); none at all raises
    ``KeyNotFoundError`` unless ``missing_ok``."""
    if isinstance(start, bool) or not 0 <= int(start) <= 4:
        raise UsageError(f"not a start type: {start!r} (0 boot .. 4 disabled)")
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    try:
        present = _present_sets(hive, name, control_sets)
    except KeyNotFoundError:
        if missing_ok:
            return ()
        raise
    for cs in present:
        key = _services_key(hive, cs).get_subkey(name)  # type: ignore[union-attr]
        assert key is not None
        plan.set_value(join(cs, "Services", key.name), "Start",
                       RegValue.make(int(start), RegType.DWORD),
                       reason or f"set {key.name} to start {_start_label(start)}")
    return plan.since(first)


def _start_label(start: int) -> str:
    try:
        return StartType(start).name.lower()
    except ValueError:
        return str(start)


def set_start(hive: Hive, name: str, start: StartType | int,
              control_sets: ControlSetSelection = "all") -> tuple[Change, ...]:
    """Set ``Start`` of service ``name`` in every selected control set that has it."""
    return apply_changes(hive, plan_set_start(hive, name, start, control_sets))


def plan_remove_service(hive: Hive, name: str, control_sets: ControlSetSelection = "all", *,
                        changes: ChangeSet | None = None) -> tuple[Change, ...]:
    plan = changes if changes is not None else ChangeSet(hive)
    first = plan.mark()
    for cs in _present_sets(hive, name, control_sets):
        key = _services_key(hive, cs).get_subkey(name)  # type: ignore[union-attr]
        assert key is not None
        plan.delete_tree(join(cs, "Services", key.name), f"remove service {key.name}")
    return plan.since(first)


def remove_service(hive: Hive, name: str,
                   control_sets: ControlSetSelection = "all") -> tuple[Change, ...]:
    """Delete ``Services\\<name>`` (with its subkeys) from every selected control set that has
    it. To take a driver out of the boot reversibly, prefer ``set_start(..., DISABLED)``."""
    return apply_changes(hive, plan_remove_service(hive, name, control_sets))
