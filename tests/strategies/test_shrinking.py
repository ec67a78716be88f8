"""Shrinking: a deliberately false property fails on a small, readable example.

Each test asks Hypothesis' ``find`` for an example of what a buggy test would trip over, and
checks that the example it shrinks to is small: the smallest one where Hypothesis reliably
gets there, else within one extra element (its shrinker sometimes cannot delete a list element
that is itself already minimal, e.g. an empty default value next to the one that matters).
"""

from __future__ import annotations

from hypothesis import Phase, find, settings

from winmigrate import RegType
from winmigrate import testing as ws

# No "explain" phase: it re-runs the strategy a hundred times to annotate a failure, which the
# pytest output of a real failing @given test shows but find() does not need.
SHRINK = settings(database=None, max_examples=1000, phases=[Phase.generate, Phase.shrink],
                  derandomize=True)  # the same examples every run


def _has_type(tree: ws.KeyTree, wanted: RegType) -> bool:
    return any(t == wanted for t, _d in tree["values"].values()) or any(
        _has_type(sub, wanted) for sub in tree["subkeys"].values())


def _depth(tree: ws.KeyTree) -> int:
    return 1 + max((_depth(s) for s in tree["subkeys"].values()), default=-1)


def test_a_non_ascii_name_shrinks_to_one_character() -> None:
    name = find(ws.key_names(), lambda n: not n.isascii(), settings=SHRINK)
    assert len(name) == 1 and not name.isascii()


def test_a_long_name_shrinks_to_the_simplest_255_units() -> None:
    name = find(ws.key_names(), lambda n: len(n.encode("utf-16-le")) == 510, settings=SHRINK)
    assert name == "a" * 255  # the simplest name, stretched
    assert repr(name) == "'a' * 255"  # readable, not 255 a's


def test_a_dword_bound_shrinks_to_the_boundary() -> None:
    pair = find(ws.values(), lambda p: p[0] == RegType.DWORD and p[1] >= 1000, settings=SHRINK)
    assert pair == (RegType.DWORD, 1000)


def test_big_data_shrinks_to_the_first_size_past_the_threshold() -> None:
    _t, data = find(ws.values(raw=True), lambda p: len(p[1]) > 16344, settings=SHRINK)
    assert data == bytes(16345)
    assert repr(data) == "b'\\x00' * 16345"


def test_a_hive_with_a_multi_sz_value_shrinks_to_values_at_the_root() -> None:
    hive = find(ws.hives(), lambda h: _has_type(h.recipe.tree, RegType.MULTI_SZ),  # type: ignore[union-attr]
                settings=SHRINK)
    recipe = hive.recipe
    assert isinstance(recipe, ws.HiveRecipe)
    assert recipe.edits == () and recipe.tree["subkeys"] == {}
    assert recipe.tree["values"] in (
        {"": (RegType.MULTI_SZ, [])},
        # at worst one minimal value more, next to a one-character name
        *({"": (RegType.SZ, ""), name: (RegType.MULTI_SZ, [])}
          for name in recipe.tree["values"] if len(name) == 1))
    assert len(repr(hive)) < 200  # e.g. GeneratedHive(HiveRecipe(version=(1, 5), ...))


def test_a_deep_tree_shrinks_to_a_chain_of_a() -> None:
    tree = find(ws.key_trees(), lambda t: _depth(t) >= 3, settings=SHRINK)
    leaf: ws.KeyTree = {"values": {}, "subkeys": {}}
    assert tree == {"values": {}, "subkeys": {"a": {"values": {}, "subkeys": {
        "a": {"values": {}, "subkeys": {"a": leaf}}}}}}


def test_an_edit_shrinks_to_the_simplest_one() -> None:
    recipe = find(ws.hive_recipes(max_keys=4, max_values=2),
                  lambda r: any(isinstance(e, ws.DeleteKey) for e in r.edits), settings=SHRINK)
    assert recipe.edits == (ws.DeleteKey("a"),)
    assert list(recipe.tree["subkeys"])[:1] == ["a"]
    # Run after other Hypothesis tests, the shrinker sometimes keeps a sibling or two it could
    # not delete (see the module's docstring): small, not always minimal.
    assert len(recipe.tree["subkeys"]) <= 3
    assert len(repr(recipe)) < 400


def test_a_system_hive_with_a_static_address_shrinks_to_one_adapter() -> None:
    _hive, desc = find(ws.system_hives(), lambda g: any(
        not nic.dhcp for cs in g[1].control_sets for nic in cs.nics), settings=SHRINK)
    assert len(desc.control_sets) == 1 and desc.select == (1, 1, 1, 0)
    (cs,) = desc.control_sets
    (nic,) = cs.nics
    assert len(nic.ipv4) == 1 and nic.gateways == () and nic.dns_servers == ()
    assert nic.name == "Local Area Connection" and nic.dns_suffix is None
    # nothing optional: the core services and the adapter's driver
    assert cs.services == (*ws.CORE_SERVICES, cs.service(nic.service))
    assert not desc.xen and desc.style == "cdd"
