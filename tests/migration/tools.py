"""Helpers for the migration tests: the fixture script, a logical diff, boot invariants."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import winmigrate
from tests.helpers import dump_hive
from tests.oracles import Dump
from winmigrate.windows import xen
from winmigrate.windows.changes import Change, ChangeKind, find_key
from winmigrate.windows.controlsets import control_sets

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "hives"

Path_ = tuple[str, ...]
ValueKey = tuple[Path_, str]


@cache
def fixture_script() -> ModuleType:
    """fixtures/make_xen_fixtures.py, imported (it is a script, not a package module)."""
    path = REPO / "fixtures" / "make_xen_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_xen_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_xen_fixtures"] = module
    spec.loader.exec_module(module)
    return module


def writable_copy(hive: winmigrate.Hive) -> winmigrate.Hive:
    return winmigrate.Hive.from_bytes(hive.to_bytes(), writable=True)


def fixture_hive(name: str) -> winmigrate.Hive:
    """A committed small fixture, writable, in memory."""
    return winmigrate.Hive.from_bytes((FIXTURES / name).read_bytes(), writable=True)


# -- logical diff -------------------------------------------------------------------------------


def _fold(path: Path_) -> Path_:
    return tuple(p.upper() for p in path)


def logical_diff(before: Dump, after: Dump) -> tuple[set[Path_], set[Path_],
                                                       dict[ValueKey, tuple[int, bytes | None]
                                                            | None]]:
    """(keys added, keys removed, values changed: (path, NAME) -> (type, raw) or None when
    removed). Names and paths are upper-cased (Windows compares them so); ``raw`` is None where
    a parser cannot give the bytes (then only the type is compared)."""
    a = {_fold(k.path): k for k in before.keys}
    b = {_fold(k.path): k for k in after.keys}
    added = set(b) - set(a)
    removed = set(a) - set(b)
    values: dict[ValueKey, tuple[int, bytes | None] | None] = {}
    for path in set(a) | set(b):
        va = {v.name.upper(): v for v in a[path].values} if path in a else {}
        vb = {v.name.upper(): v for v in b[path].values} if path in b else {}
        for name in set(va) | set(vb):
            x, y = va.get(name), vb.get(name)
            if y is None:
                values[(path, name)] = None
            elif x is None or x.type != y.type or (
                    x.raw is not None and y.raw is not None and x.raw != y.raw):
                values[(path, name)] = (y.type, y.raw)
    return added, removed, values


def plan_effect(changes: tuple[Change, ...] | list[Change], hive: str = "SYSTEM"
                ) -> tuple[set[Path_], set[Path_], dict[ValueKey, tuple[int, bytes] | None]]:
    """What ``changes`` do, in the same form as :func:`logical_diff`."""
    created: set[Path_] = set()
    deleted: set[Path_] = set()
    values: dict[ValueKey, tuple[int, bytes] | None] = {}
    for c in changes:
        if c.hive != hive:
            continue
        path = _fold(tuple(c.key.split("\\")))
        if c.kind is ChangeKind.CREATE_KEY:
            if path in deleted:
                deleted.discard(path)
            else:
                created.add(path)
        elif c.kind is ChangeKind.DELETE_KEY:
            if path in created:
                created.discard(path)
            else:
                deleted.add(path)
        elif c.kind is ChangeKind.SET_VALUE:
            assert c.after is not None and c.value is not None
            values[(path, c.value.upper())] = (int(c.after.type), c.after.raw)
        else:
            assert c.value is not None
            values[(path, c.value.upper())] = None
    return created, deleted, values


def assert_diff_is_plan(before: Dump, after: Dump, changes: tuple[Change, ...],
                        hive: str = "SYSTEM") -> None:
    added, removed, changed = logical_diff(before, after)
    created, deleted, planned = plan_effect(changes, hive)
    assert added == created, (sorted(added - created)[:5], sorted(created - added)[:5])
    assert removed == deleted, (sorted(removed - deleted)[:5], sorted(deleted - removed)[:5])
    # a planned value whose net effect is nil (set back to what it was) shows no diff
    assert set(changed) <= set(planned), sorted(set(changed) - set(planned))[:5]
    for key, want in planned.items():
        got = changed.get(key, "unchanged")
        if got == "unchanged":
            raise AssertionError(f"planned change not in the diff: {key} -> {want}")
        if want is None or got is None:
            assert want is None and got is None, (key, want, got)
        else:
            assert got[0] == want[0], (key, got, want)
            if got[1] is not None:
                assert got[1] == want[1], (key, got, want)


def dump(hive: winmigrate.Hive) -> Dump:
    return dump_hive(hive)


# -- boot invariants ------------------------------------------------------------------------------


def filter_problems(hive: winmigrate.Hive) -> set[tuple[str, str, str]]:
    """(key, value, filter) for each filter list entry (class keys, device keys, CDD entries,
    as Windows loads them: up to the first empty string) that names a disabled or missing
    service, in every control set in use."""
    out: set[tuple[str, str, str]] = set()
    for cs in control_sets(hive).in_use:
        services = find_key(hive, cs + "\\Services")
        for _kind, path, key in xen._filter_keys(hive, None, cs):
            for name in xen.FILTER_VALUES:
                found = xen._filter_entries(key, name)
                if found is None:
                    continue
                for entry in found[0]:
                    if not entry:
                        break
                    svc = services._find(entry) if services is not None else None
                    start = svc.get("Start") if svc is not None else None
                    if svc is None or start == 4 or svc.get("Type") is None:
                        out.add((path.upper(), name.upper(), entry.upper()))
    return out


def xen_filter_entries(hive: winmigrate.Hive) -> list[tuple[str, str]]:
    out = []
    for cs in control_sets(hive).in_use:
        for ref in xen._filters(hive, cs):
            out.append((ref.key, ref.value))
    return out
