"""Trees, recipes and hives: every generated hive is valid, reads back as built, and honours
its bounds; templates are edited, not replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.errors import InvalidArgument

import winmigrate
from tests.helpers import FIXTURES, assert_written_ok
from winmigrate import testing as ws
from winmigrate.regf.names import collation_key

HIVES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# find() without the "explain" phase, which re-runs the strategy a hundred times to say which
# parts of a failing example matter (the shrinking itself takes milliseconds).
FIND = settings(database=None, max_examples=500, phases=[Phase.generate, Phase.shrink],
                derandomize=True)


def _count(tree: ws.KeyTree) -> tuple[int, int]:
    """(keys below the top, depth)."""
    keys, depth = 0, 0
    for sub in tree["subkeys"].values():
        k, d = _count(sub)
        keys += 1 + k
        depth = max(depth, d + 1)
    return keys, depth


def _names_distinct(tree: ws.KeyTree) -> bool:
    for group in (tree["values"], tree["subkeys"]):
        if len({collation_key(n) for n in group}) != len(group):
            return False
    return all(_names_distinct(sub) for sub in tree["subkeys"].values())


@HIVES
@given(ws.key_trees(max_keys=6, max_depth=2, max_values=2, max_children=3))
def test_key_trees_respect_their_bounds(tree: ws.KeyTree) -> None:
    keys, depth = _count(tree)
    assert keys <= 6 and depth <= 2
    assert _names_distinct(tree)

    def walk(t: ws.KeyTree) -> None:
        assert len(t["values"]) <= 2 and len(t["subkeys"]) <= 3
        for sub in t["subkeys"].values():
            walk(sub)

    walk(tree)


@HIVES
@given(ws.hive_recipes(version=ws.versions(), max_edits=0))
def test_a_hive_holds_exactly_its_tree(recipe: ws.HiveRecipe) -> None:
    hive = recipe.build()
    assert hive.version == recipe.version and hive.root.name == recipe.root_name
    assert ws.read_tree(hive.root, raw=True) == ws.encode_tree(recipe.tree)
    assert_written_ok(hive)


@HIVES
@given(ws.hives(version=ws.versions()))
def test_every_hive_passes_check_and_reads_back_equal(hive: ws.GeneratedHive) -> None:
    assert_written_ok(hive, unreferenced=False)
    before = ws.read_tree(hive.root, raw=True)
    again = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert ws.read_tree(again.root, raw=True) == before
    assert again.root.name == hive.root.name and again.version == hive.version
    # Key names obey the rules; subkeys are in Windows' order.
    for key in again.walk():
        names = [collation_key(k.name) for k in key.subkeys()]
        assert names == sorted(names) and len(set(names)) == len(names)
        for sub in key.subkeys():
            assert 1 <= len(sub.name.encode("utf-16-le", "surrogatepass")) // 2 <= 255
            assert "\\" not in sub.name and "\0" not in sub.name


@HIVES
@given(ws.hive_recipes())
def test_edits_are_made_on_top_of_the_tree(recipe: ws.HiveRecipe) -> None:
    unedited = ws.HiveRecipe(recipe.version, recipe.root_name, recipe.tree).build()
    edited = recipe.build(reopen=False)
    assert_written_ok(edited)
    if not recipe.edits:
        assert ws.read_tree(edited.root, raw=True) == ws.read_tree(unedited.root, raw=True)


@HIVES
@given(ws.hives(as_bytes=True, max_keys=3))
def test_as_bytes_gives_the_file(data: ws.GeneratedHiveBytes) -> None:
    assert isinstance(data, bytes) and data[:4] == b"regf"
    assert isinstance(data.recipe, ws.HiveRecipe)
    assert repr(data).startswith("GeneratedHiveBytes(HiveRecipe(")
    with winmigrate.Hive.from_bytes(data) as hive:
        assert_written_ok(hive)
        assert not hive.dirty


def test_generated_hives_are_writable_hives() -> None:
    hive = find(ws.hives(), lambda h: True, settings=FIND)
    assert isinstance(hive, winmigrate.Hive) and hive.writable
    assert repr(hive) == ("GeneratedHive(HiveRecipe(version=(1, 5), root_name='ROOT', "
                          "tree={'values': {}, 'subkeys': {}}, edits=(), template=None))")
    hive.root.create_key("added").set_value("v", 1)
    assert winmigrate.Hive.from_bytes(hive.to_bytes()).root.subkey("added").get("v") == 1


TEMPLATES = ["types_1_3.hiv", "types_1_5.hiv", "xen_win7_small.hiv"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_hives_are_edited(name: str) -> None:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"{name} is not in fixtures/hives")
    with winmigrate.Hive.from_bytes(path.read_bytes()) as original:
        version, root_name = original.version, original.root.name
        original_tree = ws.read_tree(original.root, raw=True)

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ws.hives(template=path, max_edits=5, max_keys=3))
    def check(hive: ws.GeneratedHive) -> None:
        assert hive.version == version and hive.root.name == root_name
        assert_written_ok(hive)
        recipe = hive.recipe
        assert isinstance(recipe, ws.HiveRecipe) and recipe.template == str(path)
        if not recipe.edits:
            assert ws.read_tree(hive.root, raw=True) == original_tree
        again = winmigrate.Hive.from_bytes(hive.to_bytes())
        assert ws.read_tree(again.root, raw=True) == ws.read_tree(hive.root, raw=True)

    check()


def test_a_template_can_be_given_as_bytes() -> None:
    data = (FIXTURES / "types_1_5.hiv").read_bytes()
    hive = find(ws.hives(template=data), lambda h: any(
        isinstance(e, ws.DeleteKey) for e in h.recipe.edits),  # type: ignore[union-attr]
        settings=FIND)
    assert hive.recipe.template == f"<{len(data)} bytes>"  # type: ignore[union-attr]


def test_a_dirty_template_is_refused(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "types_1_5.hiv").read_bytes())
    data[4] ^= 1  # primary sequence != secondary: dirty
    with pytest.raises(InvalidArgument, match="dirty"):
        find(ws.hives(template=bytes(data)), lambda h: True, settings=FIND)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        ws.hives(template=FIXTURES / "types_1_5.hiv", version=(1, 5))
    with pytest.raises(InvalidArgument):
        find(ws.hives(version=(1, 2)), lambda h: True, settings=FIND)
    with pytest.raises(InvalidArgument):
        ws.key_trees(max_keys=-1)


def test_write_and_read_tree_with_slashes_and_twins() -> None:
    hive = winmigrate.create()
    tree: ws.KeyTree = {"values": {"": (winmigrate.RegType.SZ, "default")}, "subkeys": {
        "text/html": {"values": {}, "subkeys": {"a/b/c": {"values": {}, "subkeys": {}}}},
        "Äpfel": {"values": {"v": (0x200000, b"")}, "subkeys": {}}}}
    ws.write_tree(hive.root, tree)
    ws.write_tree(hive.root, {"values": {}, "subkeys": {"äPFEL": {
        "values": {"w": (winmigrate.RegType.DWORD, 7)}, "subkeys": {}}}})  # merged
    got = ws.read_tree(winmigrate.Hive.from_bytes(hive.to_bytes()).root)
    assert sorted(got["subkeys"]) == ["text/html", "Äpfel"]
    assert got["subkeys"]["text/html"]["subkeys"] == {"a/b/c": {"values": {}, "subkeys": {}}}
    assert got["subkeys"]["Äpfel"]["values"] == {"v": (0x200000, b""),
                                                 "w": (winmigrate.RegType.DWORD, 7)}
    assert got["values"] == {"": (winmigrate.RegType.SZ, "default")}
