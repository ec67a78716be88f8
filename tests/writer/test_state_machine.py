"""Random operation sequences on a hive and on a plain dict model, compared after every step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import winmigrate
from tests.helpers import FIXTURES, assert_written_ok, corpus_file
from winmigrate.regf.names import collation_key

NAMES = st.sampled_from(["a", "B", "straße", "Äpfel", "ÄPFEL", "Ωμέγα", "東京", "k" * 255,
                         "Case", "case", "x1", "x2", "x3", "😀", "Москва", "_u", "~t"])
VALUE_NAMES = st.sampled_from(["", "v", "V", "Start", "ü", "long" * 20, "n1", "n2"])
SIZES = st.sampled_from([0, 1, 4, 5, 100, 16344, 16345, 40000, 1 << 20])
TYPES = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x200000, 0xFFFF0012])
TEXT = st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=30)
ITEMS = st.lists(st.text(alphabet=st.characters(blacklist_characters="\0"), min_size=1,
                         max_size=10), max_size=4)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


# (type given to set_value or None to infer it, data, the type and raw bytes the model expects):
# the encodings written out independently of winmigrate's (regedit's layouts).
TYPED_DATA = st.one_of(
    TEXT.map(lambda t: (None, t, 1, _utf16(t + "\0"))),
    TEXT.map(lambda t: (2, t, 2, _utf16(t + "\0"))),
    TEXT.map(lambda t: (6, t, 6, _utf16(t))),  # a link target is a counted path
    st.integers(0, 2**32 - 1).map(lambda n: (None, n, 4, n.to_bytes(4, "little"))),
    st.integers(0, 2**32 - 1).map(lambda n: (5, n, 5, n.to_bytes(4, "big"))),
    st.integers(0, 2**64 - 1).map(lambda n: (11, n, 11, n.to_bytes(8, "little"))),
    ITEMS.map(lambda xs: (None, xs, 7, _utf16("".join(x + "\0" for x in xs) + "\0"))),
    st.binary(max_size=40).map(lambda b: (None, b, 3, b)),
)


class Model:
    """key path (folded) -> (real name, {folded value name: (name, type, raw)}, {folded child})."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, ...], dict] = {(): {"name": "", "values": {}, "children": {}}}

    @staticmethod
    def fold(name: str) -> str:
        return collation_key(name)


def _dump(hive: winmigrate.Hive) -> dict:
    out = {}
    for key in hive.walk():
        path = tuple(collation_key(p) for p in key.path.split("\\")) if key.path else ()
        out[path] = (key.name if key.path else "",
                     {collation_key(v.name): (v.name, v.type_number, v.raw) for v in key.values()},
                     [c.name for c in key.subkeys()])
    return out


class HiveMachine(RuleBasedStateMachine):
    paths = Bundle("paths")
    seed: bytes | None = None

    @initialize(target=paths)
    def start(self) -> tuple[str, ...]:
        if self.seed is None:
            self.hive = winmigrate.create("SM")
        else:
            self.hive = winmigrate.Hive.from_bytes(self.seed, writable=True)
        self.model = _dump(self.hive)
        return ()

    def _key(self, path: tuple[str, ...]) -> winmigrate.Key | None:
        key = self.hive.root
        for part in path:
            key = key.get_subkey(part)  # type: ignore[assignment]
            if key is None:
                return None
        return key

    def _folded(self, path: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(collation_key(p) for p in path)

    @rule(target=paths, parent=paths, name=NAMES)
    def create(self, parent: tuple[str, ...], name: str) -> tuple[str, ...]:
        key = self._key(parent)
        if key is None:
            return parent
        child = key.create_key(name)
        fp = self._folded(parent)
        cp = (*fp, collation_key(name))
        if cp not in self.model:
            self.model[cp] = (name, {}, [])
            siblings = self.model[fp][2] + [name]
            self.model[fp] = (self.model[fp][0], self.model[fp][1],
                              sorted(siblings, key=collation_key))
        return (*parent, child.name)

    @rule(path=paths, name=VALUE_NAMES, size=SIZES, type_=TYPES, data=st.data())
    def set_value(self, path: tuple[str, ...], name: str, size: int, type_: int,
                  data: st.DataObject) -> None:
        key = self._key(path)
        if key is None:
            return
        raw = data.draw(st.binary(min_size=min(size, 64), max_size=min(size, 64)))
        raw = (raw * (size // max(len(raw), 1) + 1))[:size] if raw else bytes(size)
        key.set_value(name, raw=raw, type=type_)
        fp = self._folded(path)
        values = self.model[fp][1]
        stored = values.get(collation_key(name), (name,))[0]
        values[collation_key(name)] = (stored, type_, raw)

    @rule(path=paths, name=VALUE_NAMES, typed=TYPED_DATA)
    def set_typed_value(self, path: tuple[str, ...], name: str,
                        typed: tuple[int | None, object, int, bytes]) -> None:
        key = self._key(path)
        if key is None:
            return
        given, data, type_, raw = typed
        key.set_value(name, data, given)
        fp = self._folded(path)
        values = self.model[fp][1]
        stored = values.get(collation_key(name), (name,))[0]
        values[collation_key(name)] = (stored, type_, raw)

    @rule(path=paths, name=VALUE_NAMES)
    def delete_value(self, path: tuple[str, ...], name: str) -> None:
        key = self._key(path)
        if key is None:
            return
        fp = self._folded(path)
        if collation_key(name) in self.model[fp][1]:
            key.delete_value(name)
            del self.model[fp][1][collation_key(name)]
        else:
            with pytest.raises(winmigrate.ValueNotFoundError):
                key.delete_value(name)

    @rule(path=paths)
    def delete(self, path: tuple[str, ...]) -> None:
        if not path:
            return
        parent = self._key(path[:-1])
        if parent is None or parent.get_subkey(path[-1]) is None:
            return
        parent.delete_key(path[-1], recursive=True)
        fp = self._folded(path)
        for p in [p for p in self.model if p[:len(fp)] == fp]:
            del self.model[p]
        pp = fp[:-1]
        self.model[pp] = (self.model[pp][0], self.model[pp][1],
                          [n for n in self.model[pp][2] if collation_key(n) != fp[-1]])

    @rule(target=paths, path=paths, new=NAMES)
    def rename(self, path: tuple[str, ...], new: str) -> tuple[str, ...]:
        if not path:
            return path
        key = self._key(path)
        if key is None:
            return path
        parent = path[:-1]
        clash = self._key((*parent, new))
        if clash is not None and clash != key:
            with pytest.raises(winmigrate.KeyExistsError):
                key.rename(new)
            return path
        key.rename(new)
        fp, np_ = self._folded(path), (*self._folded(parent), collation_key(new))
        moved = {p: v for p, v in self.model.items() if p[:len(fp)] == fp}
        for p in moved:
            del self.model[p]
        for p, v in moved.items():
            self.model[np_ + p[len(fp):]] = v
        self.model[np_] = (new, self.model[np_][1], self.model[np_][2])
        pp = self._folded(parent)
        siblings = [n for n in self.model[pp][2] if collation_key(n) != fp[-1]] + [new]
        self.model[pp] = (self.model[pp][0], self.model[pp][1],
                          sorted(siblings, key=collation_key))
        return (*parent, new)

    @rule()
    def save_and_reopen(self) -> None:
        self.hive = winmigrate.Hive.from_bytes(self.hive.to_bytes(), writable=True)

    @invariant()
    def same_as_model(self) -> None:
        actual = _dump(self.hive)
        assert actual.keys() == self.model.keys()
        for path, (name, values, children) in self.model.items():
            a_name, a_values, a_children = actual[path]
            assert a_name == name and a_values == values and a_children == children, path

    def teardown(self) -> None:
        if hasattr(self, "hive"):
            assert_written_ok(self.hive)


SETTINGS = settings(max_examples=40, stateful_step_count=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_on_an_empty_hive() -> None:
    run_state_machine_as_test(HiveMachine, settings=SETTINGS)


def test_with_the_value_name_index_on_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same random operations with every key's value lookups going through the name index
    the writer keeps current (normally only keys of 32 values or more have one)."""
    from winmigrate.hive import key as key_module

    monkeypatch.setattr(key_module, "_VALUE_INDEX_MIN", 1)
    run_state_machine_as_test(HiveMachine, settings=SETTINGS)


def test_on_a_version_1_3_fixture() -> None:
    class FixtureMachine(HiveMachine):
        seed = (FIXTURES / "types_1_3.hiv").read_bytes()

    run_state_machine_as_test(FixtureMachine, settings=SETTINGS)


@pytest.mark.corpus
@pytest.mark.parametrize("rel", ["log2timeline_plaso/test_data/NTUSER.DAT",
                                 "libguestfs_hivex/images/special"])
def test_on_real_corpus_hives(rel: str) -> None:
    path = corpus_file(rel)

    class CorpusMachine(HiveMachine):
        seed = path.read_bytes()

    run_state_machine_as_test(CorpusMachine, settings=settings(
        max_examples=10, stateful_step_count=30, deadline=None,
        suppress_health_check=list(HealthCheck)))
