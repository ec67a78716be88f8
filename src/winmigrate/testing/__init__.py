"""Hypothesis strategies for registry names, values, key trees and whole hives.

For the property-based tests of tools that read or rewrite hives (converters, forensic parsers,
registry-diff tools) and for winmigrate's own tests. Everything generated is valid for Windows
and for winmigrate's writer, built from simple choices first so that a failing test shrinks to
a small, readable counterexample: ``"a"`` before exotic names, ``REG_SZ`` before the rest, empty
lists, one control set, no network adapter.

The module needs `Hypothesis <https://hypothesis.readthedocs.io>`_ (``pip install hypothesis``,
or ``pip install 'winmigrate[test]'``); ``import winmigrate`` never imports it.
The strategies live in one module per kind of thing they make (``names``, ``values``,
``trees``, ``hives``, ``system``); all are importable from here.

    from hypothesis import given
    import winmigrate.testing as ws

    @given(ws.hives())
    def test_my_parser_reads_every_key(hive):
        data = hive.to_bytes()
        assert my_parser.count_keys(data) == sum(1 for _ in hive.walk())

    @given(ws.system_hives())
    def test_conversion(generated):
        hive, description = generated
        convert(hive)
        assert hive.key(description.current_set.name + r"\\Services\\viostor")

What there is:

* names -- ``key_names``, ``value_names``, ``case_twins``, ``false_twins``,
  ``invalid_key_names``, ``invalid_value_names``;
* values -- ``values`` (``(type, data)`` pairs, valid data or ``raw=True`` bytes),
  ``value_types``;
* trees and hives -- ``key_trees`` (plain nested dicts), ``hive_recipes`` and
  ``hives`` (real ``winmigrate.Hive`` objects or their bytes, from scratch or edited
  from a template hive), ``versions``;
* SYSTEM hives -- ``system_hives``, which returns the hive together with a
  ``SystemDescription`` of everything put in;
* plain helpers -- ``write_tree``, ``read_tree``, ``encode_tree``.
"""


from __future__ import annotations

try:
    import hypothesis  # noqa: F401 (only to say clearly what is missing)
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "winmigrate.testing needs Hypothesis, which is not installed: run "
        "'pip install hypothesis' (or install winmigrate's test extra: "
        "pip install 'winmigrate[test]')") from _exc


from .generated import GeneratedHive, GeneratedHiveBytes
from .hives import (
    AddKeys,
    DeleteKey,
    DeleteValue,
    Edit,
    HiveRecipe,
    RenameKey,
    SetClassName,
    SetValue,
    hive_recipes,
    hives,
    versions,
)
from .names import (
    case_twins,
    false_twins,
    invalid_key_names,
    invalid_value_names,
    key_names,
    value_names,
)
from .system import (
    CORE_SERVICES,
    OTHER_SERVICES,
    XEN_SERVICES,
    CddEntry,
    ClassFilter,
    ControlSetSpec,
    DriverPackage,
    NicSpec,
    ServiceSpec,
    SystemDescription,
    system_hives,
)
from .trees import KeyTree, encode_tree, key_trees, read_tree, write_tree
from .values import BOUNDARY_SIZES, UNKNOWN_TYPES, value_types, values

__all__ = [
    "BOUNDARY_SIZES",
    "CORE_SERVICES",
    "OTHER_SERVICES",
    "UNKNOWN_TYPES",
    "XEN_SERVICES",
    "AddKeys",
    "CddEntry",
    "ClassFilter",
    "ControlSetSpec",
    "DeleteKey",
    "DeleteValue",
    "DriverPackage",
    "Edit",
    "GeneratedHive",
    "GeneratedHiveBytes",
    "HiveRecipe",
    "KeyTree",
    "NicSpec",
    "RenameKey",
    "ServiceSpec",
    "SetClassName",
    "SetValue",
    "SystemDescription",
    "case_twins",
    "encode_tree",
    "false_twins",
    "hive_recipes",
    "hives",
    "invalid_key_names",
    "invalid_value_names",
    "key_names",
    "key_trees",
    "read_tree",
    "system_hives",
    "value_names",
    "value_types",
    "values",
    "versions",
    "write_tree",
]

