"""Lookups are lazy: a deep key of a 16 MB hive costs a handful of record reads, not a parse."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate
import winmigrate.hive.key as key_module
import winmigrate.hive.lookup as lookup_module
from tests.helpers import BIG_SYSTEM, corpus_file

DEEP = r"ControlSet001\Control\Class\{4D36E972-E325-11CE-BFC1-08002BE10318}\0007"


@pytest.mark.corpus
def test_point_lookup_reads_a_handful_of_records(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"nodes": 0, "lists": 0, "values": 0}

    def counting(name: str, func):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls[name] += 1
            return func(*args, **kwargs)
        return wrapper

    for module in (key_module, lookup_module):  # the model reads nodes, lookups probe names
        monkeypatch.setattr(module, "read_nk_named", counting("nodes", module.read_nk_named))
    monkeypatch.setattr(key_module, "subkey_offsets", counting("lists", key_module.subkey_offsets))
    monkeypatch.setattr(key_module, "read_values", counting("values", key_module.read_values))
    with winmigrate.open(corpus_file(BIG_SYSTEM)) as hive:
        value = hive.key(DEEP).value("DriverDesc")
        assert value.data == "Intel(R) PRO/1000 MT Network Connection"
        # 6 levels, binary search over lists of up to a few thousand keys: ~12 probes a level.
        assert calls["nodes"] <= 80 and calls["lists"] <= 8
        assert hive._img._bins is None  # the bins were never walked


@pytest.mark.corpus
def test_a_miss_in_a_sorted_list_is_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    with winmigrate.open(corpus_file(BIG_SYSTEM)) as hive:
        cdd = hive.key(r"ControlSet001\Control\CriticalDeviceDatabase")
        count = 0
        real = key_module.read_nk_named

        def counting(*args):  # type: ignore[no-untyped-def]
            nonlocal count
            count += 1
            return real(*args)

        for module in (key_module, lookup_module):
            monkeypatch.setattr(module, "read_nk_named", counting)
        assert cdd.get_subkey("pci#ven_1af4&dev_1001&rev_00") is None
        # Binary search, then the lh hashes of the 2548 entries -- no name is read twice.
        assert count < 40


@pytest.mark.corpus
@pytest.mark.parametrize("rel", ["msuhanov_yarp/hives_for_tests/WrongOrderHive",
                                 "msuhanov_yarp/hives_for_tests/DuplicateSubkeysHive"])
def test_keys_out_of_order_are_still_found(rel: str) -> None:
    """Binary search misses a key that a damaged list keeps out of order; the lh hash (or a
    scan of an lf/li list) finds it anyway."""
    with winmigrate.open(corpus_file(rel)) as hive:
        paths = [k.path for k in hive.walk()]
        for path in paths:
            assert hive.key(path).path.upper() == path.upper()
            assert hive.key(path.swapcase()).path == hive.key(path).path


def _loaded_by(program: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``program``."""
    import ast
    import subprocess
    import sys

    program += f"\nimport sys\nprint(sorted(m for m in {modules!r} if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, check=True)
    return ast.literal_eval(done.stdout.strip())  # type: ignore[no-any-return]


@pytest.mark.parametrize("logs", ["auto", "ignore"])
def test_a_clean_hive_next_to_no_logs_imports_no_log_machinery(tmp_path: Path,
                                                                logs: str) -> None:
    """Opening a clean hive (``logs="auto"``, the default, included) and saving it beside no
    transaction logs needs neither the log replay (``winmigrate.hive.logs.replay``, with
    its dataclasses) nor ``tempfile``: without them a default open of a small hive takes 26 ms
    instead of 48 (the whole process), and the save of the edit benchmark 15 ms instead of 33."""
    from tests.helpers import FIXTURES

    target = tmp_path / "hive"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    program = (
        "import winmigrate\n"
        f"with winmigrate.open({str(target)!r}, writable=True, logs={logs!r}) as h:\n"
        "    h.root.create_key('x')\n"
        f"    h.save({str(tmp_path / 'out')!r})\n")
    assert _loaded_by(program, ("winmigrate.hive.logs.replay", "winmigrate.hive.logs.report",
                               "tempfile")) == []
    assert (tmp_path / "out").is_file()


def test_reading_a_hive_does_not_import_typing() -> None:
    """``typing`` costs every process about 9 ms to import; the readers name their types only
    for the type checker (``TYPE_CHECKING = False`` blocks), so a read never loads it."""
    from tests.helpers import FIXTURES

    program = (
        "import winmigrate\n"
        f"with winmigrate.open({str(FIXTURES / 'types_1_5.hiv')!r}) as h:\n"
        "    for key in h.walk():\n"
        "        [(v.name, v.type, v.data) for v in key.values()]\n")
    assert _loaded_by(program, ("typing", "winmigrate.hive.logs.replay")) == []
