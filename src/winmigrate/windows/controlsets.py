"""Control sets: ``Select`` and the ``ControlSetNNN`` keys of an offline SYSTEM hive.

An offline SYSTEM hive has no ``CurrentControlSet``: ``Select`` names the control sets Windows
uses, as DWORDs (``Current``, ``Default``, ``LastKnownGood``, ``Failed``; 0 means none) and the
keys are called ``ControlSet%03d`` (``ControlSet010`` for 10)::

    import winmigrate
    from winmigrate.windows import controlsets

    with winmigrate.open("SYSTEM") as hive:
        sets = controlsets.control_sets(hive)     # ControlSets(current=1, ..., in_use=(...))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from ..errors import UsageError, WinmigrateError
from ..regf.regtype import RegType
from .changes import get_value

if TYPE_CHECKING:
    from ..hive import Hive, Key

__all__ = [
    "ControlSetError",
    "ControlSetSelection",
    "ControlSets",
    "control_set_name",
    "control_sets",
    "control_sets_present",
    "resolve_control_set",
    "select_control_sets",
]

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
