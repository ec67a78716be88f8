"""Importing (merging) a parsed .reg file into a hive."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from ..errors import UsageError
from ..regf.names import collation_key
from .common import (
    ROOT_ALIASES,
    ROOTS,
    TWO_LEVEL_ROOTS,
    RegFileError,
)
from .parse import KeyLine, RegFile, RegOp, RegReader, ValueLine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..hive import Hive, Key


ChangeKind = Literal["key_created", "key_deleted", "value_added", "value_changed",
                     "value_deleted"]


@dataclass(frozen=True)
class ImportChange:
    """One change an import made (or, in a dry run, would make). ``path`` is the key's path in
    the hive, ``name`` the value's (``None`` for key changes), ``type`` the new value's type."""

    line: int
    kind: ChangeKind
    path: str
    name: str | None = None
    type: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "change": self.kind, "path": self.path, "name": self.name,
                "type": self.type}


@dataclass(frozen=True)
class ImportReport:
    """What ``apply`` did: the changes in file order, and how many lines changed nothing
    (a value set to what it already was; a deletion of something absent)."""

    prefix: str
    changes: tuple[ImportChange, ...]
    unchanged: int = 0
    absent: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"prefix": self.prefix, "counts": self.counts, "unchanged": self.unchanged,
                "absent": self.absent, "changes": [c.to_dict() for c in self.changes]}


def _split_key_path(path: str) -> list[str]:
    """Components of a key path; a trailing backslash (hivexregedit writes ``PREFIX\\`` for the
    root) and empty components are dropped, but a leading one is kept as ``""``: hivexregedit
    without ``--prefix`` writes root-relative paths (``[\\]``, ``[\\Select]``)."""
    parts = path.split("\\")
    return [parts[0], *(p for p in parts[1:] if p)]


def _canon_root(part: str) -> str:
    up = part.upper()
    return ROOT_ALIASES.get(up, up)


def _prefix_parts(prefix: str) -> list[str]:
    parts = _split_key_path(prefix.rstrip("\\") if prefix.strip("\\") else prefix)
    if parts == ["", ""] or parts == [""]:
        return [""]
    return parts


def detect_prefix(path: str) -> str | None:
    """The prefix a key path implies: ``HKEY_LOCAL_MACHINE\\X`` and ``HKEY_USERS\\X`` (two
    components), ``HKEY_CURRENT_USER`` and the other roots (one), ``\\`` for hivexregedit's
    root-relative paths; ``None`` when the path starts with none of them."""
    parts = _split_key_path(path)
    if parts[0] == "":
        return "\\"
    root = _canon_root(parts[0])
    if root not in ROOTS:
        return None
    if root in TWO_LEVEL_ROOTS:
        return "\\".join(parts[:2]) if len(parts) >= 2 else None
    return parts[0]


class _Tree:
    """The keys an import has seen, so that each lookup is a dict probe: a writable hive looks a
    missing name up with a linear scan, which makes naive imports quadratic."""

    __slots__ = ("children", "fresh", "key")

    def __init__(self, key: Key, *, new: bool = False) -> None:
        self.key = key
        self.children: dict[str, _Tree] | None = {} if new else None
        # For a key this import created: the (collation keys of the) values set so far, so
        # that a value's first setting needs no lookup (a linear scan of the key's values).
        self.fresh: set[str] | None = set() if new else None

    def kids(self) -> dict[str, _Tree]:
        if self.children is None:
            self.children = {collation_key(k.name): _Tree(k) for k in self.key.subkeys()}
        return self.children

    def forget(self) -> None:
        """Drop what was learnt below this key (read again from the hive if the file comes
        back to it): the import keeps only the path it is on, so its memory is bounded by the
        depth and width of the tree, not by the number of keys."""
        self.children = None
        self.fresh = None


def _create_child(parent: Key, name: str) -> Key:
    """A new subkey of ``parent`` called exactly ``name`` (``create_subkey`` takes the name
    literally: ``/`` is legal in key names, e.g. Amcache's ``acpi/pnp0a03``)."""
    return parent.create_subkey(name, exist_ok=False)


def apply(target: Hive | Key, reg: RegFile | RegReader, *, prefix: str | None = None,
          progress: Callable[[int], None] | None = None,
          keep_changes: bool = True) -> ImportReport:
    """Merge the file ``reg`` (parsed whole, or a ``RegReader`` read as it goes) into
    ``target`` (a writable hive, or a key standing for the prefix). ``prefix`` (e.g.
    ``HKEY_LOCAL_MACHINE\\SYSTEM``, case-insensitive, ``HKLM``-style abbreviations allowed) is
    the file's path of the target; by default it is read off the first key line (see
    ``detect_prefix``). Keys outside it raise ``RegFileError`` naming the line. ``progress``
    is called now and then with the number of operations applied. ``keep_changes=False``
    counts the changes without listing them (memory then stays flat in the file's size). Not
    atomic by itself: ``import_reg`` runs it in a transaction."""
    ops: Iterator[RegOp] = iter(reg.ops if isinstance(reg, RegFile) else reg)
    src = reg.source
    if prefix is None:
        # The first key line names it; nothing else may come before it (parse refuses it).
        first = next(ops, None)
        if first is None:
            return ImportReport("\\", ())
        if not isinstance(first, KeyLine):
            raise RegFileError("a value before any [KEY] line", first.line, source=src)
        prefix = detect_prefix(first.path)
        if prefix is None:
            raise RegFileError(f"cannot tell which part of {first.path!r} is the hive: it does "
                               "not start with HKEY_LOCAL_MACHINE\\<hive>, HKEY_USERS\\<hive>"
                               ", HKEY_CURRENT_USER or another root; give the prefix",
                               first.line, source=src)
        ops = itertools.chain((first,), ops)
    return _apply(target, ops, prefix, src, progress, keep_changes)


def _apply(target: Hive | Key, ops: Iterable[RegOp], prefix: str, src: str | None,
           progress: Callable[[int], None] | None, keep_changes: bool) -> ImportReport:
    from ..hive import Hive

    root = target.root if isinstance(target, Hive) else target
    pparts = _prefix_parts(prefix)
    pkey = [_canon_root(pparts[0]), *(collation_key(p) for p in pparts[1:])]
    plen = len(pparts)
    shown_prefix = "\\".join(pparts) if pparts != [""] else "\\"
    tree = _Tree(root)
    changes: list[ImportChange] = []
    counts: dict[str, int] = {}
    unchanged = absent = 0

    def record(change: ImportChange) -> None:
        counts[change.kind] = counts.get(change.kind, 0) + 1
        if keep_changes:
            changes.append(change)

    resolved: dict[str, tuple[list[str], str]] = {}

    def relative(path: str, line: int) -> tuple[list[str], str]:
        found = resolved.get(path)
        if found is not None:
            return found
        parts = _split_key_path(path)
        head = [_canon_root(parts[0]), *(collation_key(p) for p in parts[1:plen])]
        if len(parts) < plen or head != pkey:
            raise RegFileError(f"key {path!r} is outside {shown_prefix}, the part of the file "
                               "this hive holds (give another prefix?)", line, source=src)
        rel = parts[plen:]
        base = root.path
        result = (rel, "\\".join([base, *rel]) if base else "\\".join(rel))
        if len(resolved) < 4096:
            resolved[path] = result
        return result

    current: _Tree | None = None
    current_path = ""
    on_path: list[_Tree] = []  # the keys from the root to the last one opened
    for index, op in enumerate(ops):
        if progress is not None and not index & 0x3FF:
            progress(index)
        try:
            if isinstance(op, KeyLine):
                rel, full = relative(op.path, op.line)
                current = None
                if op.delete:
                    if not rel:
                        raise RegFileError("the hive's root cannot be deleted", op.line,
                                           source=src)
                    node = tree
                    for part in rel[:-1]:
                        nxt = node.kids().get(collation_key(part))
                        if nxt is None:
                            break
                        node = nxt
                    else:
                        ck = collation_key(rel[-1])
                        victim = node.kids().get(ck)
                        if victim is not None:
                            node.key.delete_key(victim.key.name, recursive=True)
                            del node.kids()[ck]
                            record(ImportChange(op.line, "key_deleted", full))
                            continue
                    absent += 1
                    continue
                node = tree
                chain = [tree]
                for part in rel:
                    kids = node.kids()
                    ck = collation_key(part)
                    nxt = kids.get(ck)
                    if nxt is None:
                        nxt = kids[ck] = _Tree(_create_child(node.key, part), new=True)
                        record(ImportChange(op.line, "key_created", nxt.key.path))
                    node = nxt
                    chain.append(node)
                # Files list a subtree's keys together: what was learnt below the keys the
                # import has now left is forgotten.
                for depth, left in enumerate(on_path):
                    if depth >= len(chain) or chain[depth] is not left:
                        for gone in on_path[depth:]:
                            gone.forget()
                        break
                on_path = chain
                current = node
                current_path = node.key.path
                continue
            if current is None:  # pragma: no cover - parse() never yields this
                raise RegFileError("a value outside a key", op.line, source=src)
            key = current.key
            fresh = current.fresh
            vck = collation_key(op.name) if fresh is not None else ""
            if isinstance(op, ValueLine):
                old = key.get_value(op.name) if fresh is None or vck in fresh else None
                if old is not None and old.type_number == op.type and old.raw == op.raw:
                    unchanged += 1
                    continue
                key.set_value(op.name, raw=op.raw, type=op.type)
                if fresh is not None:
                    fresh.add(vck)
                record(ImportChange(op.line, "value_added" if old is None
                                            else "value_changed", current_path, op.name, op.type))
            elif (fresh is None or vck in fresh) and op.name in key:
                key.delete_value(op.name)
                if fresh is not None:
                    fresh.discard(vck)
                record(ImportChange(op.line, "value_deleted", current_path, op.name))
            else:
                absent += 1
        except UsageError as e:
            what = (f"[{_shown(op.path)}]" if isinstance(op, KeyLine)
                    else f"value \"{_shown(op.name)}\" of [{_shown(op.key)}]")
            raise RegFileError(f"cannot apply {what}: {e}", op.line, source=src) from e
    return ImportReport(shown_prefix, tuple(changes), unchanged, absent, counts)


def _shown(text: str) -> str:
    """``text`` for an error message: control characters (a NUL in a name...) as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 0x100
                   else f"\\u{ord(ch):04x}" for ch in text)


def import_reg(hive: Hive, data: BinaryIO | bytes | str, *, prefix: str | None = None,
               source: str | None = None, codepage: str = "cp1252",
               progress: Callable[[int], None] | None = None,
               keep_changes: bool = True) -> ImportReport:
    """Merge the ``.reg`` file ``data`` (a binary stream, its bytes, or its text) into the
    writable ``hive`` atomically: it is read as it is applied, in one transaction, so a bad line
    anywhere leaves the hive as it was. (The caller saves the hive.)"""
    reader = RegReader(data, source=source, codepage=codepage)
    with hive.transaction():
        return apply(hive, reader, prefix=prefix, progress=progress, keep_changes=keep_changes)
