"""Whole hives: recipes of edits applied to a new or a template hive, and the hives (or their bytes)
they make."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias, overload

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..errors import KeyExistsError
from ..hive import Hive, Key
from ..regf import layout as L
from ..regf.regtype import RegType
from .generated import GeneratedHive, GeneratedHiveBytes, generated, generated_bytes
from .names import key_names, value_names
from .trees import KeyTree, empty_tree, key_trees, tree_paths, write_tree
from .values import ValueData, any_values

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hypothesis.strategies import SearchStrategy



def _find(hive: Hive, path: str) -> Key | None:
    """The key at ``path`` (names joined by ``\\``; ``/`` is part of a name), or ``None``."""
    key = hive.root
    for part in path.split("\\") if path else ():
        found = key.get_subkey(part)
        if found is None:
            return None
        key = found
    return key


@dataclass(frozen=True)
class SetValue:
    """Create or replace value ``name`` of the key at ``path``."""

    path: str
    name: str
    type: RegType | int
    data: ValueData

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None:
            return False
        key.set_value(self.name, self.data, self.type)
        return True


@dataclass(frozen=True)
class DeleteValue:
    """Delete value ``name`` of the key at ``path`` (skipped when there is none)."""

    path: str
    name: str

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None or self.name not in key:
            return False
        key.delete_value(self.name)
        return True


@dataclass(frozen=True)
class DeleteKey:
    """Delete the key at ``path`` with everything below it (not the root, nor keys flagged
    as not deletable)."""

    path: str

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None or key.parent is None or key.flags & L.KEY_NO_DELETE:
            return False
        key.parent.delete_key(key.name, recursive=True)
        return True


@dataclass(frozen=True)
class RenameKey:
    """Rename the key at ``path`` (skipped when a sibling already has the new name)."""

    path: str
    new_name: str

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None or key.parent is None:
            return False
        try:
            key.rename(self.new_name)
        except KeyExistsError:
            return False
        return True


@dataclass(frozen=True)
class SetClassName:
    """Set (or with ``None`` remove) the class name of the key at ``path``."""

    path: str
    class_name: str | None

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None:
            return False
        key.set_class_name(self.class_name)
        return True


@dataclass(frozen=True)
class AddKeys:
    """Write ``tree`` into the key at ``path`` (see ``write_tree``)."""

    path: str
    tree: KeyTree

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None:
            return False
        write_tree(key, self.tree)
        return True


#: One change to a hive. ``edit.apply(hive)`` makes it and returns ``False`` when it does not
#: apply (its key was deleted or renamed by an earlier edit, a name is taken, ...).
Edit: TypeAlias = "SetValue | DeleteValue | DeleteKey | RenameKey | SetClassName | AddKeys"


@dataclass(frozen=True)
class HiveRecipe:
    """How a generated hive is made: a new hive of ``version`` named ``root_name`` (or the
    ``template`` hive), ``tree`` written into its root, then each of ``edits`` in order.

    Its ``repr`` is the readable form of a counterexample; ``build`` makes the hive.
    """

    version: tuple[int, int]
    root_name: str
    tree: KeyTree
    edits: tuple[Edit, ...] = ()
    template: str | None = None  # where the template came from, for the repr
    template_bytes: bytes | None = field(default=None, repr=False, compare=False)

    def build(self, *, reopen: bool = True) -> GeneratedHive:
        """The hive, writable. With ``reopen`` (the default) it is re-read from its serialised
        bytes, as a file just opened; without, it is the hive the edits were made on."""
        if self.template_bytes is not None:
            hive = generated(self.template_bytes)
        else:
            from ..hive.edit.blank import new_hive_bytes

            hive = generated(new_hive_bytes(self.root_name, self.version))
        write_tree(hive.root, self.tree)
        for edit in self.edits:
            edit.apply(hive)
        if reopen:
            data = hive.to_bytes()
            hive.close()
            hive = generated(data)
        hive.recipe = self
        return hive


def versions() -> SearchStrategy[tuple[int, int]]:
    """The hive versions winmigrate writes: 1.5 (XP and later) first, then 1.3 (``lf`` lists, no
    big data), 1.4 and 1.6."""
    return st.sampled_from(((1, 5), (1, 3), (1, 4), (1, 6)))


class _Template:
    """A template hive, read once: its bytes, version and the keys edits may target."""

    def __init__(self, source: bytes | bytearray | str | os.PathLike[str]) -> None:
        if isinstance(source, (bytes, bytearray)):
            self.label = f"<{len(source)} bytes>"
            self._source: bytes | str = bytes(source)
        else:
            self.label = os.fspath(source)
            self._source = self.label
        self._loaded: tuple[bytes, tuple[int, int], str,
                            list[tuple[str, tuple[str, ...]]]] | None = None

    def load(self) -> tuple[bytes, tuple[int, int], str, list[tuple[str, tuple[str, ...]]]]:
        if self._loaded is None:
            if isinstance(self._source, bytes):
                data = self._source
            else:
                with open(self._source, "rb") as fh:
                    data = fh.read()
            with Hive.from_bytes(data) as hive:
                if hive.dirty:
                    raise InvalidArgument(
                        f"template {self.label} is dirty: replay its logs first "
                        "(winmigrate.open(path, logs='auto', writable=True), then to_bytes())")
                paths = [(k.path, tuple(v.name for v in k.values())) for k in hive.walk()]
                self._loaded = (data, hive.version, hive.root.name, paths)
        return self._loaded


_CLASS_NAMES = st.one_of(st.none(), st.sampled_from(("", "cls", "JD", "Klasse ✓")))
_MORE = st.booleans()


def _draw_edits(draw: st.DrawFn, paths: Sequence[tuple[str, tuple[str, ...]]], max_edits: int,
                trees: SearchStrategy[KeyTree],
                data: SearchStrategy[tuple[RegType | int, ValueData]]) -> list[Edit]:
    """Up to ``max_edits`` edits of the keys in ``paths`` (``(path, value names)``, the root
    first). Each edit draws its kind, its key and its content from strategies built once per
    example, which keeps generation cheap; a ``False`` "more" flag (the simplest choice) ends
    the list."""
    non_root = [p for p in paths if p[0]]
    with_values = [p for p in paths if p[1]]
    kinds = ["set-value", "add-keys", "class-name"]
    if with_values:
        kinds.append("delete-value")
    if non_root:
        kinds += ["delete-key", "rename"]
    kind_of = st.sampled_from(kinds)
    anywhere = st.sampled_from(paths)
    not_root = st.sampled_from(non_root) if non_root else anywhere
    has_values = st.sampled_from(with_values) if with_values else anywhere
    names = value_names()
    new_names = key_names()
    out: list[Edit] = []
    for _ in range(max_edits):
        if not draw(_MORE):
            break
        kind = draw(kind_of)
        if kind == "set-value":
            t, value = draw(data)
            out.append(SetValue(draw(anywhere)[0], draw(names), t, value))
        elif kind == "add-keys":
            out.append(AddKeys(draw(anywhere)[0], draw(trees)))
        elif kind == "class-name":
            out.append(SetClassName(draw(anywhere)[0], draw(_CLASS_NAMES)))
        elif kind == "delete-value":
            path, value_names_ = draw(has_values)
            out.append(DeleteValue(path, draw(st.sampled_from(value_names_))))
        elif kind == "delete-key":
            out.append(DeleteKey(draw(not_root)[0]))
        else:
            out.append(RenameKey(draw(not_root)[0], draw(new_names)))
    return out


def hive_recipes(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = None,
                 template: bytes | bytearray | str | os.PathLike[str] | None = None,
                 root_name: str | SearchStrategy[str] | None = None,
                 max_keys: int = 8, max_depth: int = 3, max_values: int = 3, max_edits: int = 4,
                 raw_values: bool = True, max_size: int = 40_000,
                 ) -> SearchStrategy[HiveRecipe]:
    """``HiveRecipe`` objects: what ``hives`` builds, as plain data.

    Without ``template``: a new hive of ``version`` (a tuple, or a strategy such as
    ``versions``; default ``(1, 5)``) whose root (named ``root_name``, default ``"ROOT"``)
    receives a ``key_trees`` tree, then up to ``max_edits`` edits of its keys. With
    ``template`` (a hive's bytes, or the path of a hive file, read once): the template's keys
    receive the edits, among them ``AddKeys`` with new trees; its version is kept
    (giving ``version`` too is an error).

    Examples:
        >>> from winmigrate.testing import hive_recipes
        >>> recipe = hive_recipes(max_edits=0).example()
        >>> hive = recipe.build()
        >>> hive.version
        (1, 5)
    """
    trees = key_trees(max_keys=max_keys, max_depth=max_depth, max_values=max_values,
                      raw_values=raw_values, max_size=max_size)
    data = any_values(raw_values, max_size)
    if template is not None:
        if version is not None or root_name is not None:
            raise InvalidArgument("a template hive keeps its own version and root name: do not "
                                  "give version= or root_name= with template=")
        source = _Template(template)

        @st.composite
        def from_template(draw: st.DrawFn) -> HiveRecipe:
            data_, version_, root_, paths = source.load()
            edits = _draw_edits(draw, paths, max_edits, trees, data)
            return HiveRecipe(version_, root_, empty_tree(), tuple(edits), source.label, data_)

        return from_template()

    versions_ = (st.just(version) if isinstance(version, tuple)
                 else version if version is not None else st.just((1, 5)))
    roots = (st.just(root_name) if isinstance(root_name, str)
             else root_name if root_name is not None else st.just("ROOT"))

    @st.composite
    def fresh(draw: st.DrawFn) -> HiveRecipe:
        version_ = draw(versions_)
        if version_[0] != 1 or version_[1] not in (3, 4, 5, 6):
            raise InvalidArgument(f"winmigrate writes hive versions 1.3 to 1.6, not {version_}")
        root_ = draw(roots)
        tree = draw(trees)
        edits = _draw_edits(draw, tree_paths(tree), max_edits, trees, data)
        return HiveRecipe(version_, root_, tree, tuple(edits))

    return fresh()


@overload
def hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = ...,
          template: bytes | bytearray | str | os.PathLike[str] | None = ...,
          root_name: str | SearchStrategy[str] | None = ..., max_keys: int = ...,
          max_depth: int = ..., max_values: int = ..., max_edits: int = ...,
          raw_values: bool = ..., max_size: int = ...,
          as_bytes: Literal[False] = ...) -> SearchStrategy[GeneratedHive]: ...


@overload
def hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = ...,
          template: bytes | bytearray | str | os.PathLike[str] | None = ...,
          root_name: str | SearchStrategy[str] | None = ..., max_keys: int = ...,
          max_depth: int = ..., max_values: int = ..., max_edits: int = ...,
          raw_values: bool = ..., max_size: int = ...,
          as_bytes: Literal[True]) -> SearchStrategy[GeneratedHiveBytes]: ...


def hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = None,
          template: bytes | bytearray | str | os.PathLike[str] | None = None,
          root_name: str | SearchStrategy[str] | None = None, max_keys: int = 8,
          max_depth: int = 3, max_values: int = 3, max_edits: int = 4,
          raw_values: bool = True, max_size: int = 40_000,
          as_bytes: bool = False) -> SearchStrategy[GeneratedHive] | SearchStrategy[
              GeneratedHiveBytes]:
    """Real hives: writable ``winmigrate.Hive`` objects (``GeneratedHive``), or with
    ``as_bytes`` their file bytes (``GeneratedHiveBytes``). Every one passes
    ``hive.check()`` and reads back identically from its bytes.

    The arguments are those of ``hive_recipes``: a version (``versions()`` draws them all),
    a template hive to edit instead of a new one, bounds on keys, depth, values per key and
    edits, whether raw-byte values are mixed in, and the largest value data. Each hive is
    re-read from its bytes, as if just opened from a file; its ``repr`` is the recipe, so a
    failing example reads as what was put in.

    Examples:
        >>> from winmigrate.testing import hives, versions
        >>> hive = hives(version=versions(), max_keys=4).example()
        >>> hive.check().ok
        True
        >>> data = hives(as_bytes=True).example()
        >>> data[:4]
        b'regf'
    """
    recipes = hive_recipes(version=version, template=template, root_name=root_name,
                           max_keys=max_keys, max_depth=max_depth, max_values=max_values,
                           max_edits=max_edits, raw_values=raw_values, max_size=max_size)
    built = recipes.map(HiveRecipe.build)
    if as_bytes:
        return built.map(generated_bytes)
    return built
