"""Keys by literal path, and the typed change records every operation produces.

The operation modules (``services``, ``cdd``, ``drivers``, ``xen``, ``certs``, and
``winmigrate.convert``) describe what they do as ``Change`` records -- one per key created or
deleted and per value set or deleted, with the data before and after -- which a ``ChangeSet``
plans against the hive without writing it and ``apply_changes`` carries out inside
``hive.transaction()`` (all or nothing). Applying skips changes already in place, so applying the
same plan twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, TypeAlias

from ..errors import UsageError
from ..hive import Hive
from ..regf.regtype import RegType, to_regtype
from ..regf.values import decode, encode, infer_type

if TYPE_CHECKING:
    from ..hive import Key, Value

__all__ = [
    "Change",
    "ChangeKind",
    "ChangeSet",
    "RegValue",
    "ValueData",
    "apply_changes",
    "dirty_unreplayed",
    "find_key",
    "get_value",
    "iter_subkeys",
    "join",
]

ValueData: TypeAlias = "str | int | list[str] | bytes"


def find_key(start: Hive | Key, path: str) -> Key | None:
    """The key at ``path`` below ``start`` (a hive's root or a key), or ``None``.

    Unlike ``Hive.key``, only ``\\`` separates: ``/`` is a legal character in key names
    (``CriticalDeviceDatabase\\SCSI#DiskMATSHITALS-120/240____00`` in the Windows 7 corpus
    hive), and no ``CurrentControlSet`` is resolved."""
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
