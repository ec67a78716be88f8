"""Control sets, Windows version, and the typed change records every operation module shares.

An offline SYSTEM hive has no ``CurrentControlSet``: ``Select`` names the control sets Windows
uses, as DWORDs (``Current``, ``Default``, ``LastKnownGood``, ``Failed``; 0 means none) and the
keys are called ``ControlSet%03d`` (``ControlSet010`` for 10)::

    import winmigrate
    from winmigrate import system

    with winmigrate.open("SYSTEM") as hive:
        sets = system.control_sets(hive)          # ControlSets(current=1, ..., in_use=(...))
        version = system.windows_version(hive)    # WindowsVersion(family=LEGACY_CDD, ...)

The operation modules (``.services``, ``.cdd``, ``.drivers``, ``.xen``,
``.certs``, ``.migrate``) describe what they do as ``Change`` records -- one per key
created or deleted and per value set or deleted, with the data before and after -- which a
``ChangeSet`` plans against the hive without writing it and ``apply_changes`` carries
out inside ``hive.transaction()`` (all or nothing). Applying skips changes already in place, so
applying the same plan twice changes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal, TypeAlias

from .errors import UsageError, WinmigrateError
from .regf.regtype import RegType, to_regtype
from .regf.values import decode, encode, infer_type, parse_decimal

if TYPE_CHECKING:
    from .hive import Hive, Key, Value

__all__ = [
    "Change",
    "ChangeKind",
    "ChangeSet",
    "ControlSetError",
    "ControlSetSelection",
    "ControlSets",
    "RegValue",
    "VersionSource",
    "WindowsFamily",
    "WindowsVersion",
    "apply_changes",
    "control_set_name",
    "control_sets",
    "dirty_unreplayed",
    "find_key",
    "get_value",
    "hiberboot_enabled",
    "resolve_control_set",
    "select_control_sets",
    "windows_version",
]

ValueData: TypeAlias = "str | int | list[str] | bytes"
#: ``"all"`` (every control set ``Select`` uses), ``"current"``, one set (1, "001",
#: "ControlSet001") or several.
ControlSetSelection: TypeAlias = "Literal['all', 'current'] | int | str | Sequence[int | str]"

_SELECT_NAMES = ("Current", "Default", "LastKnownGood", "Failed")
_CONTROL_SET_RE = re.compile(r"^(?:controlset)?(\d{1,3})$", re.IGNORECASE | re.ASCII)


class ControlSetError(WinmigrateError, LookupError):
    """``Select`` is missing or unusable, or names a control set the hive does not have."""


def control_set_name(number: int) -> str:
    """``ControlSet%03d``: 1 -> ``ControlSet001``, 10 -> ``ControlSet010``."""
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 1000:
        raise UsageError(f"control set number out of range: {number!r}")
    return f"ControlSet{number:03d}"


@dataclass(frozen=True)
class ControlSets:
    """What ``Select`` says, resolved against the hive.

    ``current``/``default``/``last_known_good``/``failed`` are the numbers stored (0 or ``None``
    when unset); ``in_use`` the distinct ``ControlSetNNN`` key names they name, in that order, as
    spelled in the hive; ``present`` every ``ControlSetNNN`` key of the hive."""

    current: int
    default: int | None
    last_known_good: int | None
    failed: int | None
    in_use: tuple[str, ...]
    present: tuple[str, ...]

    @property
    def current_name(self) -> str:
        return self.in_use[0]

    def to_dict(self) -> dict[str, object]:
        return {"current": self.current, "default": self.default,
                "last_known_good": self.last_known_good, "failed": self.failed,
                "in_use": list(self.in_use), "present": list(self.present)}


def _select_number(select: Key, name: str) -> int | None:
    value = get_value(select, name)
    if value is None:
        return None
    data = value.data
    if value.type_number != RegType.DWORD or not isinstance(data, int):
        raise ControlSetError(
            f"Select\\{name} is not a REG_DWORD (type {value.type_number}, data "
            f"{value.raw.hex() or 'empty'}): cannot tell which control set it names")
    return data


def _present(hive: Hive) -> dict[int, str]:
    out: dict[int, str] = {}
    for key in hive.root.subkeys():
        m = _CONTROL_SET_RE.match(key.name)
        if m and key.name[:10].upper() == "CONTROLSET":
            out.setdefault(int(m.group(1)), key.name)
    return out


def control_sets_present(hive: Hive) -> tuple[str, ...]:
    """Every ``ControlSetNNN`` key of the hive, by number (whatever ``Select`` says)."""
    present = _present(hive)
    return tuple(present[n] for n in sorted(present))


def control_sets(hive: Hive) -> ControlSets:
    """The control sets ``Select`` names (see ``ControlSets``).

    Raises ``ControlSetError`` when ``Select`` or ``Select\\Current`` is missing, a value is
    not a DWORD, or any non-zero value names a ``ControlSetNNN`` the hive lacks: a conversion
    must reach every set Windows may boot (``LastKnownGood`` included), so an inconsistent
    ``Select`` is refused rather than half handled."""
    select = hive.root.get_subkey("Select")
    if select is None:
        raise ControlSetError("this hive has no Select key: it is not a SYSTEM hive (or not a "
                              "whole one); cannot tell which control sets Windows uses")
    numbers = {name: _select_number(select, name) for name in _SELECT_NAMES}
    current = numbers["Current"]
    if not current:
        raise ControlSetError("Select\\Current is missing or 0: no current control set")
    present = _present(hive)
    in_use: list[str] = []
    for name in _SELECT_NAMES:
        number = numbers[name]
        if not number:
            continue
        if not 0 < number < 1000:
            raise ControlSetError(f"Select\\{name} = {number} is not a control set number")
        if number not in present:
            raise ControlSetError(
                f"Select\\{name} names {control_set_name(number)}, which this hive does not have "
                f"(it has {', '.join(sorted(present.values())) or 'no control set'})")
        if present[number] not in in_use:
            in_use.append(present[number])
    return ControlSets(current, numbers["Default"], numbers["LastKnownGood"], numbers["Failed"],
                       tuple(in_use), control_sets_present(hive))


def resolve_control_set(hive: Hive, control_set: int | str | None = None) -> str:
    """The ``ControlSetNNN`` key name for ``control_set``: ``None``, ``"current"`` or
    ``"CurrentControlSet"`` mean ``Select\\Current`` (only that value is checked); an int or
    ``"2"``/``"002"``/``"ControlSet002"`` names one, which must exist."""
    if control_set is None or (isinstance(control_set, str) and control_set.strip().upper() in
                               ("CURRENT", "CURRENTCONTROLSET")):
        select = hive.root.get_subkey("Select")
        if select is None:
            raise ControlSetError("this hive has no Select key: give the control set explicitly")
        current = _select_number(select, "Current")
        if not current:
            raise ControlSetError("Select\\Current is missing or 0: no current control set")
        number = current
    elif isinstance(control_set, bool):
        raise UsageError(f"not a control set: {control_set!r}")
    elif isinstance(control_set, int):
        number = control_set
    elif isinstance(control_set, str):
        m = _CONTROL_SET_RE.match(control_set.strip())
        if not m:
            raise UsageError(f"not a control set: {control_set!r} (give 1, '001' or "
                             "'ControlSet001')")
        number = int(m.group(1))
    else:
        raise UsageError(f"not a control set: {control_set!r}")
    name = control_set_name(number)
    found = _present(hive).get(number)
    if found is None:
        raise ControlSetError(f"{name} is not in this hive")
    return found


def select_control_sets(hive: Hive, control_sets_: ControlSetSelection = "all") -> tuple[str, ...]:
    """Key names for a ``control_sets`` argument: ``"all"`` = every set ``Select`` uses
    (``control_sets``), ``"current"``, one set, or a sequence of them."""
    if isinstance(control_sets_, str) and control_sets_.strip().lower() == "all":
        return control_sets(hive).in_use
    if isinstance(control_sets_, (int, str)):
        return (resolve_control_set(hive, control_sets_),)
    out: list[str] = []
    for item in control_sets_:
        name = resolve_control_set(hive, item)
        if name not in out:
            out.append(name)
    if not out:
        raise UsageError("no control set given")
    return tuple(out)


# -- Windows version -------------------------------------------------------------------------


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


# -- keys by literal path ----------------------------------------------------------------------


def find_key(start: Hive | Key, path: str) -> Key | None:
    """The key at ``path`` below ``start`` (a hive's root or a key), or ``None``.

    Unlike ``Hive.key``, only ``\\`` separates: ``/`` is a legal character in key names
    (``CriticalDeviceDatabase\\SCSI#DiskMATSHITALS-120/240____00`` in the Windows 7 corpus
    hive), and no ``CurrentControlSet`` is resolved."""
    from .hive import Hive

    key: Key | None = start.root if isinstance(start, Hive) else start
    for part in path.split("\\"):
        if not part:
            continue
        assert key is not None
        key = key.get_subkey(part)
        if key is None:
            return None
    return key


def get_value(key: Key, name: str) -> Value | None:
    """``key``'s value ``name`` (case-insensitive), or ``None``: one pass over the value list.
    (``Key.value`` raises instead, and ``name in key`` then ``key.value`` reads the list twice.)"""
    return key.get_value(name)


def join(*parts: str) -> str:
    return "\\".join(p.strip("\\") for p in parts if p and p.strip("\\"))


# -- change records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegValue:
    """A value's type and exact bytes (``data`` decodes them)."""

    type: RegType | int
    raw: bytes

    @classmethod
    def of(cls, value: Value) -> RegValue:
        return cls(value.type, value.raw)

    @classmethod
    def make(cls, data: ValueData, type: RegType | int | None = None) -> RegValue:
        """Encode ``data`` (type inferred as ``Key.set_value`` does when not given)."""
        number = infer_type(data) if type is None else int(type)
        try:
            raw = encode(number, data)
        except (TypeError, ValueError) as e:
            raise UsageError(str(e)) from None
        return cls(to_regtype(number), raw)

    @property
    def data(self) -> ValueData:
        return decode(int(self.type), self.raw)

    @property
    def type_name(self) -> str:
        return self.type.reg_name if isinstance(self.type, RegType) else f"0x{self.type:x}"

    def same(self, other: RegValue | None) -> bool:
        return other is not None and int(other.type) == int(self.type) and other.raw == self.raw

    def __str__(self) -> str:
        data = self.data
        if isinstance(data, str):
            shown = repr(data)
        elif isinstance(data, int):
            shown = f"{data} (0x{data:x})"
        elif isinstance(data, list):
            shown = "[" + ", ".join(repr(s) for s in data) + "]"
        else:
            shown = data.hex(" ") if len(data) <= 64 else data[:64].hex(" ") + " ..."
            shown = shown or "(empty)"
        return f"{self.type_name} {shown}"

    def to_dict(self) -> dict[str, object]:
        data = self.data
        return {"type": self.type_name, "data": data.hex() if isinstance(data, bytes) else data,
                "raw": self.raw.hex()}


class ChangeKind(Enum):
    CREATE_KEY = "create key"
    DELETE_KEY = "delete key"
    SET_VALUE = "set value"
    DELETE_VALUE = "delete value"


@dataclass(frozen=True)
class Change:
    """One planned (or applied) change: the key (path below the hive's root, ``\\``-separated,
    names taken literally), the value name (``None`` for key changes, ``""`` for the default
    value), the value before and after (``None`` = absent), why, and which hive."""

    kind: ChangeKind
    key: str
    value: str | None
    before: RegValue | None
    after: RegValue | None
    reason: str
    hive: str = "SYSTEM"

    def __str__(self) -> str:
        where = f"[{self.hive}] {self.key}"
        shown = "(default)" if self.value == "" else self.value
        if self.kind is ChangeKind.CREATE_KEY:
            text = f"{where}: create key"
        elif self.kind is ChangeKind.DELETE_KEY:
            text = f"{where}: delete key"
        elif self.kind is ChangeKind.DELETE_VALUE:
            text = f"{where}: delete {shown} (was {self.before})"
        elif self.before is None:
            text = f"{where}: set {shown} = {self.after} (new)"
        else:
            text = f"{where}: set {shown} = {self.after} (was {self.before})"
        return f"{text} -- {self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, "hive": self.hive, "key": self.key, "value": self.value,
                "before": None if self.before is None else self.before.to_dict(),
                "after": None if self.after is None else self.after.to_dict(),
                "reason": self.reason}


def _fold(text: str) -> str:
    return text.upper()


class ChangeSet:
    """Plans changes against a hive without writing it.

    It remembers what it has planned (keys created or deleted, values set or deleted), so that
    later calls see the planned state: setting a value twice to the same data plans one change,
    a value of a key planned for creation counts as absent. A value planned twice is one change
    (in the place of the first, before = the hive's value, after = the last one; none at all if
    that brings it back to what the hive holds), so a plan applied twice changes nothing the
    second time. Key paths are matched case-insensitively, as Windows does."""

    def __init__(self, hive: Hive, label: str = "SYSTEM") -> None:
        self.hive = hive
        self.label = label
        self._changes: list[Change | None] = []
        self._created: set[str] = set()
        self._deleted: set[str] = set()
        self._values: dict[tuple[str, str], RegValue | None] = {}
        self._value_index: dict[tuple[str, str], int] = {}

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self._changes if c is not None)

    def mark(self) -> int:
        """A position for ``since``."""
        return len(self._changes)

    def since(self, mark: int) -> tuple[Change, ...]:
        """The changes planned after ``mark`` (those still in the plan)."""
        return tuple(c for c in self._changes[mark:] if c is not None)

    def extend(self, changes: Iterable[Change]) -> None:
        for change in changes:
            self._add(change)

    def _add(self, change: Change) -> None:
        path = _fold(change.key)
        if change.kind in (ChangeKind.CREATE_KEY, ChangeKind.DELETE_KEY):
            if change.kind is ChangeKind.CREATE_KEY:
                self._created.add(path)
                self._deleted.discard(path)
            else:
                self._deleted.add(path)
                self._created.discard(path)
            # values planned before this key change are not merged with later ones
            for vk in [k for k in self._value_index
                       if k[0] == path or k[0].startswith(path + "\\")]:
                del self._value_index[vk]
            self._changes.append(change)
            return
        assert change.value is not None
        vkey = (path, _fold(change.value))
        self._values[vkey] = change.after
        index = self._value_index.get(vkey)
        if index is not None and self._changes[index] is not None:
            first = self._changes[index]
            assert first is not None
            if change.after is None and first.before is None:
                self._changes[index] = None  # set then deleted: nothing happens
                del self._value_index[vkey]
                return
            if change.after is not None and change.after.same(first.before):
                self._changes[index] = None  # back to what the hive holds
                del self._value_index[vkey]
                return
            kind = ChangeKind.DELETE_VALUE if change.after is None else ChangeKind.SET_VALUE
            self._changes[index] = Change(kind, first.key, first.value, first.before,
                                          change.after, change.reason, first.hive)
            return
        self._value_index[vkey] = len(self._changes)
        self._changes.append(change)

    # -- reading the planned state --

    def deleted(self, path: str) -> bool:
        """Whether ``path`` (or a key above it) is planned for deletion."""
        folded = _fold(path)
        return any(folded == d or folded.startswith(d + "\\") for d in self._deleted)

    def key(self, path: str) -> Key | None:
        """The existing key at ``path`` (``None`` if absent or planned for deletion)."""
        if self._deleted and self.deleted(path):
            return None
        return find_key(self.hive, path)

    def key_exists(self, path: str) -> bool:
        folded = _fold(path)
        if folded in self._created:
            return True
        return self.key(path) is not None

    def value(self, path: str, name: str) -> RegValue | None:
        """The value as planned so far (``None`` when absent)."""
        folded = (_fold(path), _fold(name))
        if folded in self._values:
            return self._values[folded]
        if _fold(path) in self._created:
            return None
        key = self.key(path)
        if key is None:
            return None
        found = get_value(key, name)
        return None if found is None else RegValue.of(found)

    def subkey_names(self, path: str) -> list[str]:
        key = self.key(path)
        return [] if key is None else [k.name for k in key.subkeys()]

    # -- planning --

    def ensure_key(self, path: str, reason: str) -> None:
        """Plan the creation of ``path`` and of any missing key on the way."""
        parts = [p for p in path.split("\\") if p]
        for i in range(1, len(parts) + 1):
            sub = "\\".join(parts[:i])
            if not self.key_exists(sub):
                self._add(Change(ChangeKind.CREATE_KEY, self._spelling(sub), None, None, None,
                                 reason, self.label))

    def _spelling(self, path: str) -> str:
        """``path`` with each existing component spelled as the hive spells it."""
        parts = [p for p in path.split("\\") if p]
        key = self.hive.root
        out: list[str] = []
        for i, part in enumerate(parts):
            child = key.get_subkey(part) if key is not None else None
            if child is None:
                return "\\".join(out + parts[i:])
            out.append(child.name)
            key = child
        return "\\".join(out)

    def set_value(self, path: str, name: str, value: RegValue, reason: str) -> bool:
        """Plan ``path``\\``name`` = ``value`` (creating the key if needed). Returns whether a
        change was needed."""
        current = self.value(path, name)
        if value.same(current):
            return False
        self.ensure_key(path, reason)
        key = self.key(path)
        spelled = name
        if key is not None and current is not None:
            found = get_value(key, name)
            spelled = found.name if found is not None else name
        self._add(Change(ChangeKind.SET_VALUE, self._spelling(path), spelled, current, value,
                         reason, self.label))
        return True

    def delete_value(self, path: str, name: str, reason: str) -> bool:
        current = self.value(path, name)
        if current is None:
            return False
        key = self.key(path)
        found = get_value(key, name) if key is not None else None
        self._add(Change(ChangeKind.DELETE_VALUE, self._spelling(path),
                         found.name if found is not None else name, current, None, reason,
                         self.label))
        return True

    def delete_tree(self, path: str, reason: str) -> bool:
        """Plan the deletion of ``path`` with everything below it: each value, then each subkey
        (depth first), then the key -- so that the plan lists every value that goes."""
        key = self.key(path)
        if key is None:
            return False
        spelled = self._spelling(path)
        for value in key.values():
            self._add(Change(ChangeKind.DELETE_VALUE, spelled, value.name, RegValue.of(value),
                             None, reason, self.label))
        for child in key.subkeys():
            self.delete_tree(spelled + "\\" + child.name, reason)
        self._add(Change(ChangeKind.DELETE_KEY, spelled, None, None, None, reason, self.label))
        return True


def apply_changes(hive: Hive, changes: Iterable[Change]) -> tuple[Change, ...]:
    """Carry out ``changes`` on ``hive`` inside one transaction (a failure leaves the hive as it
    was) and return those that changed something: a key that already exists, a value that
    already holds the data, a value or key already gone are skipped."""
    # A dirty hive whose logs were not replayed, or a read-only one, is refused by
    # hive.transaction() itself (DirtyHiveError / NotWritableError) before anything changes.
    done: list[Change] = []
    with hive.transaction():
        for change in changes:
            if _apply_one(hive, change):
                done.append(change)
    return tuple(done)


def _apply_one(hive: Hive, change: Change) -> bool:
    kind = change.kind
    if kind is ChangeKind.CREATE_KEY:
        if find_key(hive, change.key) is not None:
            return False
        parent_path, _, name = change.key.rpartition("\\")
        parent = find_key(hive, parent_path)
        if parent is None:
            raise UsageError(f"cannot create {change.key}: its parent does not exist")
        parent.create_subkey(name)  # one literal name: '/' is legal in key names
        return True
    if kind is ChangeKind.DELETE_KEY:
        parent_path, _, name = change.key.rpartition("\\")
        parent = find_key(hive, parent_path)
        if parent is None or parent.get_subkey(name) is None:
            return False
        parent.delete_key(name, recursive=False)
        return True
    key = find_key(hive, change.key)
    assert change.value is not None
    if kind is ChangeKind.DELETE_VALUE:
        if key is None or get_value(key, change.value) is None:
            return False
        key.delete_value(change.value)
        return True
    if key is None:
        raise UsageError(f"cannot set {change.value!r}: key {change.key} does not exist")
    assert change.after is not None
    found = get_value(key, change.value)
    if found is not None and change.after.same(RegValue.of(found)):
        return False
    key.set_value(change.value, raw=change.after.raw, type=change.after.type)
    return True


def iter_subkeys(key: Key | None) -> Iterator[Key]:
    if key is not None:
        yield from key.subkeys()


def dirty_unreplayed(hive: Hive) -> bool:
    """The hive was dirty on disk and no transaction log brought it up to date: it can be read
    (what the primary file holds) but not changed."""
    recovery = hive.recovery
    return hive.dirty and (recovery is None or not recovery.applied)
