"""Logical diff of two hives (or two subtrees): what turns A into B.

Keys are matched by name the way Windows matches them (case-insensitively, in its collation);
values by name likewise. A value has *changed* when its type or its raw bytes differ; a case-only
difference in a key or value name is not a change (Windows treats the names as the same), and
neither is the order of values within a key. Optionally (``metadata=True``) key class names and
security descriptors are compared, and (``timestamps=True``) last-written times -- off by default
since any write touches them.

The walk goes down both trees in lockstep, in stored order (subkey lists are sorted in Windows'
collation, so matching siblings is a merge, not a lookup), holding one key pair per level: a
diff of the 16 MB corpus SYSTEM hive against itself reads every key and value of both and builds
no index. Results stream from ``iter_diff`` in pre-order (a key's own changes, then its
subkeys'); a key that exists on one side only is reported with everything below it (every key
and value), so a diff is a complete recipe, e.g. for a ``.reg`` file that turns A into B.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from ..errors import UsageError
from ..regf.names import collation_key
from .model import HiveModel

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .key import Key, Value

__all__ = [
    "Change",
    "Diff",
    "KeyAdded",
    "KeyChanged",
    "KeyRemoved",
    "ValueAdded",
    "ValueChanged",
    "ValueRemoved",
    "diff",
    "iter_diff",
]


@dataclass(frozen=True)
class KeyAdded:
    """A key in B only (its values follow as ``ValueAdded``, its subkeys as more
    ``KeyAdded``)."""

    path: str
    kind = "key_added"

    def to_dict(self) -> dict[str, object]:
        return {"change": self.kind, "path": self.path}


@dataclass(frozen=True)
class KeyRemoved:
    """A key in A only (its values and subkeys follow as removals too)."""

    path: str
    kind = "key_removed"

    def to_dict(self) -> dict[str, object]:
        return {"change": self.kind, "path": self.path}


@dataclass(frozen=True)
class KeyChanged:
    """Key metadata that differs: ``field`` is ``"class_name"``, ``"security"`` (``old``/``new``
    in SDDL) or ``"last_written"`` (ISO 8601 UTC)."""

    path: str
    field: str
    old: str | None
    new: str | None
    kind = "key_changed"

    def to_dict(self) -> dict[str, object]:
        return {"change": self.kind, "path": self.path, "field": self.field, "old": self.old,
                "new": self.new}


@dataclass(frozen=True)
class ValueAdded:
    path: str
    name: str
    type: int
    raw: bytes = field(repr=False)
    kind = "value_added"

    def to_dict(self) -> dict[str, object]:
        return {"change": self.kind, "path": self.path, "name": self.name, "type": self.type,
                "raw": self.raw.hex()}


@dataclass(frozen=True)
class ValueRemoved:
    path: str
    name: str
    type: int
    raw: bytes = field(repr=False)
    kind = "value_removed"

    def to_dict(self) -> dict[str, object]:
        return {"change": self.kind, "path": self.path, "name": self.name, "type": self.type,
                "raw": self.raw.hex()}


@dataclass(frozen=True)
class ValueChanged:
    """A value whose type or raw bytes differ (``name`` is B's spelling)."""

    path: str
    name: str
    old_type: int
    old_raw: bytes = field(repr=False)
    new_type: int
    new_raw: bytes = field(repr=False)
    kind = "value_changed"

    def to_dict(self) -> dict[str, object]:
        return {"change": self.kind, "path": self.path, "name": self.name,
                "old_type": self.old_type, "old_raw": self.old_raw.hex(),
                "new_type": self.new_type, "new_raw": self.new_raw.hex()}


Change: TypeAlias = KeyAdded | KeyRemoved | KeyChanged | ValueAdded | ValueRemoved | ValueChanged


@dataclass(frozen=True)
class Diff:
    """The changes that turn A into B, in pre-order, and how much was compared."""

    changes: tuple[Change, ...]
    keys_compared: int
    values_compared: int

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.kind] = out.get(change.kind, 0) + 1
        return out

    def to_dict(self) -> dict[str, object]:
        return {"counts": self.counts(), "keys_compared": self.keys_compared,
                "values_compared": self.values_compared,
                "changes": [c.to_dict() for c in self.changes]}


class _Counter:
    __slots__ = ("keys", "values")

    def __init__(self) -> None:
        self.keys = 0
        self.values = 0


def _top(source: HiveModel | Key) -> Key:
    return source.root if isinstance(source, HiveModel) else source


def _join(path: str, name: str) -> str:
    return f"{path}\\{name}" if path else name


def _sorted_children(key: Key) -> list[tuple[str, Key]]:
    children = [(collation_key(k.name), k) for k in key.subkeys()]
    # Already sorted in a healthy hive (Timsort then costs one pass); a damaged one is not.
    children.sort(key=lambda item: item[0])
    return children


def iter_diff(a: HiveModel | Key | None, b: HiveModel | Key | None, *, metadata: bool = False,
              timestamps: bool = False, progress: Callable[[int], None] | None = None,
              _count: _Counter | None = None) -> Iterator[Change]:
    """The changes that turn ``a`` into ``b`` (hives, or keys: then their subtrees), streamed in
    pre-order. Paths are A's key paths (B's spelling for keys and values B has). One side may
    be ``None``, an absent key: everything on the other side is then added (or removed).
    ``progress`` is called now and then with the number of key pairs compared."""
    count = _count if _count is not None else _Counter()
    # Work items: (0, a, b, path) compare; (1, key, path) added subtree; (2, key, path) removed.
    stack: list[tuple[int, Key | None, Key | None, str]]
    if a is not None and b is not None:
        top_a = _top(a)
        stack = [(0, top_a, _top(b), top_a.path)]
    elif a is not None:
        top_a = _top(a)
        stack = [(2, top_a, None, top_a.path)]
    elif b is not None:
        top_b = _top(b)
        stack = [(1, None, top_b, top_b.path)]
    else:
        raise UsageError("diff: give at least one side")
    while stack:
        what, ka, kb, path = stack.pop()
        if what == 1:
            assert kb is not None
            yield KeyAdded(path)
            for v in kb.values():
                yield ValueAdded(path, v.name, v.type_number, v.raw)
            stack.extend((1, None, child, _join(path, child.name))
                         for child in reversed(kb.subkeys()))
            continue
        if what == 2:
            assert ka is not None
            yield KeyRemoved(path)
            for v in ka.values():
                yield ValueRemoved(path, v.name, v.type_number, v.raw)
            stack.extend((2, child, None, _join(path, child.name))
                         for child in reversed(ka.subkeys()))
            continue
        assert ka is not None and kb is not None
        count.keys += 1
        if progress is not None and not count.keys & 0x3FF:
            progress(count.keys)
        if metadata or timestamps:
            yield from _metadata(ka, kb, path, metadata=metadata, timestamps=timestamps)
        yield from _values(ka.values(), kb.values(), path, count)
        children_a = _sorted_children(ka)
        children_b = _sorted_children(kb)
        work: list[tuple[int, Key | None, Key | None, str]] = []
        i = j = 0
        na, nb = len(children_a), len(children_b)
        while i < na or j < nb:
            if j >= nb or (i < na and children_a[i][0] < children_b[j][0]):
                child_a = children_a[i][1]
                work.append((2, child_a, None, _join(path, child_a.name)))
                i += 1
            elif i >= na or children_b[j][0] < children_a[i][0]:
                child_b = children_b[j][1]
                work.append((1, None, child_b, _join(path, child_b.name)))
                j += 1
            else:
                child_a, child_b = children_a[i][1], children_b[j][1]
                work.append((0, child_a, child_b, _join(path, child_b.name)))
                i += 1
                j += 1
        work.reverse()
        stack.extend(work)


def _values(va: list[Value], vb: list[Value], path: str, count: _Counter) -> Iterator[Change]:
    count.values += len(vb)
    if not va:
        for v in vb:
            yield ValueAdded(path, v.name, v.type_number, v.raw)
        return
    # Value lists are short and unsorted: an index of A's names per key. A damaged hive can
    # hold two values of one name: they pair up in order.
    by_name: dict[str, list[Value]] = {}
    for v in va:
        by_name.setdefault(collation_key(v.name), []).append(v)
    added: list[Value] = []
    pairs: dict[int, Value] = {}
    for v in vb:
        candidates = by_name.get(collation_key(v.name))
        if candidates:
            old = candidates.pop(0)
            pairs[id(old)] = v
        else:
            added.append(v)
    for old in va:
        new = pairs.get(id(old))
        if new is None:
            yield ValueRemoved(path, old.name, old.type_number, old.raw)
            continue
        if old.type_number != new.type_number or old.size != new.size or old.raw != new.raw:
            yield ValueChanged(path, new.name, old.type_number, old.raw, new.type_number,
                               new.raw)
    for v in added:
        yield ValueAdded(path, v.name, v.type_number, v.raw)


def _metadata(ka: Key, kb: Key, path: str, *, metadata: bool,
              timestamps: bool) -> Iterator[KeyChanged]:
    if metadata:
        ca, cb = ka.class_name_raw, kb.class_name_raw
        if ca != cb:
            yield KeyChanged(path, "class_name", ka.class_name, kb.class_name)
        sa, sb = ka.security, kb.security
        raw_a = sa.raw if sa is not None else None
        raw_b = sb.raw if sb is not None else None
        if raw_a != raw_b:
            yield KeyChanged(path, "security", sa.to_sddl() if sa is not None else None,
                             sb.to_sddl() if sb is not None else None)
    if timestamps and ka.timestamp != kb.timestamp:
        yield KeyChanged(path, "last_written", _when(ka), _when(kb))


def _when(key: Key) -> str:
    lw = key.last_written
    return lw.isoformat() if lw is not None else f"FILETIME 0x{key.timestamp:016x}"


def diff(a: HiveModel | Key | None, b: HiveModel | Key | None, *, metadata: bool = False,
         timestamps: bool = False, progress: Callable[[int], None] | None = None) -> Diff:
    """All the changes that turn ``a`` into ``b`` (see ``iter_diff``), with counts."""
    count = _Counter()
    changes = tuple(iter_diff(a, b, metadata=metadata, timestamps=timestamps,
                              progress=progress, _count=count))
    return Diff(changes, count.keys, count.values)
