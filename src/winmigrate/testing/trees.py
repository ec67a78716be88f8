"""Key trees as plain nested dicts (``KeyTree``), and writing them into a hive or reading them
back."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..hive import Key
from ..regf.names import collation_key
from ..regf.regtype import RegType
from ..regf.values import encode
from .names import key_names, value_names
from .values import ValueData, any_values

if TYPE_CHECKING:

    from hypothesis.strategies import SearchStrategy


class KeyTree(TypedDict):
    """The content of one key as plain data: its values by name, as ``(type, data)``, and its
    subkeys by name. ``{"values": {}, "subkeys": {}}`` is an empty key.

    Names within one dict are distinct as Windows compares them (no two are equal after
    upcasing). ``data`` is a Python value (``"text"``, ``4``, ``["a", "b"]``) encoded for its
    type, or ``bytes`` stored as they are whatever the type.
    """

    values: dict[str, tuple[RegType | int, ValueData]]
    subkeys: dict[str, KeyTree]



def empty_tree() -> KeyTree:
    return {"values": {}, "subkeys": {}}


def key_trees(*, max_keys: int = 8, max_depth: int = 3, max_values: int = 3,
              max_children: int | None = None,
              names: SearchStrategy[str] | None = None,
              value_names_: SearchStrategy[str] | None = None,
              values_: SearchStrategy[tuple[RegType | int, ValueData]] | None = None,
              raw_values: bool = True, max_size: int = 40_000) -> SearchStrategy[KeyTree]:
    """The content of one key as a ``KeyTree`` (plain nested dicts).

    At most ``max_keys`` keys below the top (all levels together), ``max_depth`` levels deep,
    ``max_children`` subkeys per key (default ``max_keys``), ``max_values`` values per key.
    Sibling names are distinct as Windows compares them. ``names``, ``value_names_`` and
    ``values_`` replace the default strategies (``key_names``, ``value_names``,
    ``values``, mixed with ``values(raw=True)`` unless ``raw_values`` is false).
    Shrinks to ``{"values": {}, "subkeys": {}}``.

    Examples:
        >>> from winmigrate.testing import key_trees
        >>> tree = key_trees(max_keys=3).example()
        >>> sorted(tree)
        ['subkeys', 'values']
    """
    if max_keys < 0 or max_depth < 0 or max_values < 0:
        raise InvalidArgument("max_keys, max_depth and max_values must be >= 0")
    names = names if names is not None else key_names()
    vnames = value_names_ if value_names_ is not None else value_names()
    data = values_ if values_ is not None else any_values(raw_values, max_size)
    children = max_keys if max_children is None else max_children
    value_lists = st.lists(st.tuples(vnames, data), max_size=max_values,
                           unique_by=lambda p: collation_key(p[0]))
    name_lists = [st.lists(names, max_size=min(n, children), unique_by=collation_key)
                  for n in range(max_keys + 1)]  # by the number of keys still allowed

    @st.composite
    def tree(draw: st.DrawFn) -> KeyTree:
        budget = [max_keys]

        def node(depth: int) -> KeyTree:
            out = empty_tree()
            out["values"] = dict(draw(value_lists))
            if depth >= max_depth or budget[0] <= 0:
                return out
            wanted = draw(name_lists[budget[0]])
            budget[0] -= len(wanted)
            for name in wanted:
                out["subkeys"][name] = node(depth + 1)
            return out

        return node(0)

    return tree()


def create_child(parent: Key, name: str) -> Key:
    """The subkey ``name`` of ``parent``, created if missing. ``create_key`` reads ``/`` and
    ``\\`` as separators, so a name with ``/`` is created under a temporary name and renamed."""
    if "/" not in name:
        return parent.create_key(name)
    found = parent.get_subkey(name)
    if found is not None:
        return found
    n = 0
    while parent.get_subkey(f"winmigrate-strategies-{n}") is not None:
        n += 1
    child = parent.create_key(f"winmigrate-strategies-{n}")
    child.rename(name)
    return child


def write_tree(key: Key, tree: KeyTree) -> None:
    """Write ``tree`` into ``key`` of a writable hive: its values (replacing same-named ones) and
    its subkeys, created where missing (merged where they exist).

    Examples:
        >>> import winmigrate
        >>> from winmigrate import RegType
        >>> from winmigrate.testing import read_tree, write_tree
        >>> hive = winmigrate.create()
        >>> write_tree(hive.root, {"values": {}, "subkeys": {
        ...     "a": {"values": {"v": (RegType.DWORD, 1)}, "subkeys": {}}}})
        >>> read_tree(hive.root)
        {'values': {}, 'subkeys': {'a': {'values': {'v': (<RegType.DWORD: 4>, 1)}, 'subkeys': {}}}}
    """
    stack: list[tuple[Key, KeyTree]] = [(key, tree)]
    while stack:
        target, content = stack.pop()
        for name, (t, data) in content["values"].items():
            target.set_value(name, data, t)
        for name, sub in content["subkeys"].items():
            stack.append((create_child(target, name), sub))


def read_tree(key: Key, *, raw: bool = False) -> KeyTree:
    """The content of ``key`` and everything below it as a ``KeyTree``: values as
    ``(type, data)`` decoded (``value.data``), or with ``raw`` as ``(type number, raw bytes)``.

    Compare a hive with the tree it was built from as ``read_tree(key, raw=True) ==
    encode_tree(tree)``: raw-data values (bytes stored as a string type, say) do not decode
    back to the bytes they were given.
    """
    top = empty_tree()
    stack: list[tuple[Key, KeyTree]] = [(key, top)]
    while stack:
        source, out = stack.pop()
        for value in source.values():
            out["values"][value.name] = ((value.type_number, value.raw) if raw
                                         else (value.type, value.data))
        for sub in source.subkeys():
            child = empty_tree()
            out["subkeys"][sub.name] = child
            stack.append((sub, child))
    return top


def encode_tree(tree: KeyTree) -> KeyTree:
    """``tree`` with every value as a hive stores it: ``(type number, raw bytes)``."""
    out = empty_tree()
    out["values"] = {name: (int(t), encode(int(t), data))
                     for name, (t, data) in tree["values"].items()}
    out["subkeys"] = {name: encode_tree(sub) for name, sub in tree["subkeys"].items()}
    return out


def tree_paths(tree: KeyTree, prefix: str = "") -> list[tuple[str, tuple[str, ...]]]:
    """``(path, value names)`` of every key of ``tree``, the top (``""``) first, pre-order."""
    out = [(prefix, tuple(tree["values"]))]
    for name, sub in tree["subkeys"].items():
        out += tree_paths(sub, f"{prefix}\\{name}" if prefix else name)
    return out
