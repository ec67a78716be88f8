"""The writer's round-trip properties, on hives from :mod:`winmigrate.testing`.

Generated hives of every version go through ``save`` and a fresh ``open``, through hivex (the
independent reader), through compaction and through rolled-back transactions, and a recipe's
edits are checked against a plain-dict model of what they should do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import winmigrate
from tests.helpers import FIXTURES, assert_written_ok, diff_dumps, dump_hive
from tests.oracles import hivex_available, hivex_dump, hivexml_available, hivexml_ok
from tests.oracles.cmlib import hivecheck_exe, hivecheck_verdict
from winmigrate import testing as ws
from winmigrate.regf.names import collation_key
from winmigrate.regf.values import encode

WRITES = settings(max_examples=30, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow,
                                         HealthCheck.function_scoped_fixture])


@WRITES
@given(ws.hives(version=ws.versions(), max_keys=10))
def test_save_and_reopen_gives_the_same_hive(tmp_path: Path, hive: ws.GeneratedHive) -> None:
    before = ws.read_tree(hive.root, raw=True)
    path = tmp_path / "hive"
    hive.save(path)
    with winmigrate.open(path) as again:
        assert ws.read_tree(again.root, raw=True) == before
        assert again.version == hive.version and again.root.name == hive.root.name
        assert not again.dirty
        assert_written_ok(again)


@WRITES
@given(ws.hives(version=ws.versions()))
def test_compaction_keeps_the_content(hive: ws.GeneratedHive) -> None:
    compact = winmigrate.Hive.from_bytes(hive.to_bytes(compact=True))
    assert ws.read_tree(compact.root, raw=True) == ws.read_tree(hive.root, raw=True)
    assert_written_ok(compact)


@WRITES
@given(ws.hives(max_keys=6), st.data())
def test_a_failed_transaction_leaves_nothing_behind(hive: ws.GeneratedHive,
                                                   data: st.DataObject) -> None:
    before = ws.read_tree(hive.root, raw=True)
    recipe = data.draw(ws.hive_recipes(template=hive.to_bytes(), max_edits=6, max_keys=4))

    class Abort(Exception):
        pass

    with pytest.raises(Abort), hive.transaction():
        for edit in recipe.edits:
            edit.apply(hive)
        raise Abort
    assert ws.read_tree(hive.root, raw=True) == before
    assert winmigrate.Hive.from_bytes(hive.to_bytes()).check().ok


# -- edits against a model ------------------------------------------------------------------------


def _child(tree: ws.KeyTree, name: str) -> str | None:
    """The name under which ``tree`` holds subkey ``name`` (compared as Windows does)."""
    want = collation_key(name)
    return next((n for n in tree["subkeys"] if collation_key(n) == want), None)


def _value(tree: ws.KeyTree, name: str) -> str | None:
    want = collation_key(name)
    return next((n for n in tree["values"] if collation_key(n) == want), None)


def _node(tree: ws.KeyTree, path: str) -> tuple[ws.KeyTree | None, ws.KeyTree | None, str]:
    """(parent, node, stored name) of ``path``; node ``None`` when it does not exist."""
    parent, node, name = None, tree, ""
    for part in path.split("\\") if path else ():
        stored = _child(node, part)
        if stored is None:
            return None, None, ""
        parent, node, name = node, node["subkeys"][stored], stored
    return parent, node, name


def _merge(node: ws.KeyTree, tree: ws.KeyTree) -> None:
    for name, (t, data) in tree["values"].items():
        stored = _value(node, name) or name  # a replaced value keeps its stored name
        node["values"][stored] = (int(t), encode(int(t), data))
    for name, sub in tree["subkeys"].items():
        stored = _child(node, name)
        if stored is None:
            node["subkeys"][name] = {"values": {}, "subkeys": {}}
            stored = name
        _merge(node["subkeys"][stored], sub)


def _model(recipe: ws.HiveRecipe) -> ws.KeyTree:
    """What the recipe's hive should hold, worked out on plain dicts."""
    tree = ws.encode_tree(recipe.tree)
    for edit in recipe.edits:
        parent, node, name = _node(tree, edit.path)
        if node is None:
            continue
        if isinstance(edit, ws.SetValue):
            _merge(node, {"values": {edit.name: (edit.type, edit.data)}, "subkeys": {}})
        elif isinstance(edit, ws.AddKeys):
            _merge(node, edit.tree)
        elif isinstance(edit, ws.DeleteValue):
            stored = _value(node, edit.name)
            if stored is not None:
                del node["values"][stored]
        elif isinstance(edit, ws.DeleteKey) and parent is not None:
            del parent["subkeys"][name]
        elif isinstance(edit, ws.RenameKey) and parent is not None:
            other = _child(parent, edit.new_name)
            if other is None or other == name:
                parent["subkeys"][edit.new_name] = parent["subkeys"].pop(name)
    return tree


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ws.hive_recipes(version=ws.versions(), max_edits=8, max_keys=6))
def test_edits_do_what_a_dict_model_says(recipe: ws.HiveRecipe) -> None:
    hive = recipe.build(reopen=False)
    assert ws.read_tree(hive.root, raw=True) == _model(recipe)
    again = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert ws.read_tree(again.root, raw=True) == _model(recipe)
    assert_written_ok(again)


@pytest.mark.parametrize("name", ["types_1_3.hiv", "xen_win10_small.hiv"])
def test_edits_of_template_hives_keep_them_valid(name: str) -> None:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"{name} is not in fixtures/hives")

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ws.hives(template=path, max_edits=8))
    def check(hive: ws.GeneratedHive) -> None:
        assert_written_ok(hive)

    check()


# -- hivex reads what was written -------------------------------------------------------------


@pytest.mark.oracle
def test_hivex_reads_generated_hives_exactly(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not hivex_available():
        pytest.skip("hivex is not installed")
    folder = tmp_path_factory.mktemp("hivex")
    count = [0]

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ws.hives(version=ws.versions(), max_keys=10))
    def check(hive: ws.GeneratedHive) -> None:
        count[0] += 1
        path = folder / f"h{count[0]}.hiv"
        hive.save(path)
        intended = dump_hive(hive)
        assert diff_dumps(intended, hivex_dump(path)) == []
        if hivexml_available():
            assert hivexml_ok(path) is True
        if hivecheck_exe() is not None:
            assert (verdict := hivecheck_verdict(path))[0], verdict[1]

    check()
    assert count[0] >= 20
