"""Hypothesis-driven fuzzing of every reader over structure-aware mutations (the bounded CI
campaign), the harness's own checks, and a ``slow`` variant with many more examples.

The property (see :mod:`tests.fuzz.harness`): opening strictly and tolerantly, walking every key
and value, ``check()``, log replay, ``.reg`` export and the network and service readers either
succeed or raise a ``WinmigrateError`` subclass, within a time bound and a memory bound.

Default run: about 700 mutated inputs, each through everything with tracemalloc on, in about two
minutes on a loaded 2-core machine. ``pytest -m slow tests/fuzz`` runs 20 times more.
"""

from __future__ import annotations

import contextlib
import random
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import winmigrate
from tests.fuzz import harness, mutators
from tests.fuzz.seeds import Seed, corpus_seeds, fixture_seeds, synthetic_seeds

_HIVE_SEEDS = [s for s in synthetic_seeds() + fixture_seeds()
               if not s.logs and len(s.data) <= 64 * 1024]
_DIRTY_SEEDS = [s for s in synthetic_seeds() if s.logs]
_LAYOUTS: dict[str, mutators.HiveLayout] = {}
_LOG_LAYOUTS: dict[str, dict[str, mutators.LogLayout]] = {}


def _layout(seed: Seed) -> mutators.HiveLayout:
    if seed.name not in _LAYOUTS:
        _LAYOUTS[seed.name] = mutators.hive_layout(seed.data)
    return _LAYOUTS[seed.name]


def _log_layouts(seed: Seed) -> dict[str, mutators.LogLayout]:
    if seed.name not in _LOG_LAYOUTS:
        _LOG_LAYOUTS[seed.name] = {r: mutators.log_layout(b) for r, b in seed.logs.items()}
    return _LOG_LAYOUTS[seed.name]


@contextlib.contextmanager
def harness_files(seed: Seed) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "HIVE"
        path.write_bytes(seed.data)
        for role, content in seed.logs.items():
            (Path(folder) / f"HIVE.{role}").write_bytes(content)
        yield path


_FUZZ = settings(deadline=None, database=None, print_blob=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _fail_with(seed: Seed, used: list[str], data: bytes, logs: dict[str, bytes] | None,
               failure: harness.FuzzFailure) -> None:
    head = data[:64].hex()
    pytest.fail(f"{failure.signature} on {seed.name} after {used} ({len(data)} bytes, first "
                f"bytes {head}...):\n{failure.detail}", pytrace=False)


def _run(seed: Seed, used: list[str], data: bytes, logs: dict[str, bytes] | None = None) -> str:
    try:
        return harness.run_one(data, logs=logs)
    except harness.FuzzFailure as failure:
        _fail_with(seed, used, data, logs, failure)
        raise  # (pytest.fail raised already)


def _mutate_and_run(seed: Seed, rng: random.Random) -> None:
    """Stacked mutations of ``seed`` (of its logs, mostly, when it has some), through the
    harness."""
    if seed.logs:
        primary, logs, used = mutators.mutate_logs(seed.data, seed.logs, rng, _layout(seed),
                                                   _log_layouts(seed))
        _run(seed, used, primary, logs)
    else:
        data, used = mutators.mutate_hive(seed.data, rng, _layout(seed))
        _run(seed, used, data)


# -- the bounded campaign ----------------------------------------------------------------------


@pytest.mark.parametrize("mutator", sorted(mutators.HIVE_MUTATORS))
@settings(_FUZZ, max_examples=25)
@given(seed=st.sampled_from(_HIVE_SEEDS), rng=st.randoms(use_true_random=False))
def test_each_hive_mutator(mutator: str, seed: Seed, rng: random.Random) -> None:
    """Every mutator on its own, on every small seed."""
    data, used = mutators.mutate_hive(seed.data, rng, _layout(seed), names=[mutator])
    _run(seed, used, data)


@settings(_FUZZ, max_examples=100)
@given(seed=st.sampled_from(_HIVE_SEEDS), rng=st.randoms(use_true_random=False))
def test_stacked_hive_mutations(seed: Seed, rng: random.Random) -> None:
    """1-4 mutators stacked (what the long campaign does)."""
    data, used = mutators.mutate_hive(seed.data, rng, _layout(seed))
    _run(seed, used, data)


@pytest.mark.parametrize("mutator", sorted(mutators.LOG_MUTATORS))
@settings(_FUZZ, max_examples=12)
@given(seed=st.sampled_from(_DIRTY_SEEDS), rng=st.randoms(use_true_random=False))
def test_each_log_mutator(mutator: str, seed: Seed, rng: random.Random) -> None:
    """Every log mutator on the dirty seeds (new format: two logs; old format: DIRT bitmap),
    hashes and checksums mostly recomputed so the damage reaches the replay."""
    layouts = _log_layouts(seed)
    logs = dict(seed.logs)
    role = rng.choice(sorted(logs))
    logs[role] = mutators.LOG_MUTATORS[mutator](logs[role], rng, layouts[role])
    _run(seed, [f"{role}:{mutator}"], seed.data, logs)


@settings(_FUZZ, max_examples=40)
@given(seed=st.sampled_from(_DIRTY_SEEDS), rng=st.randoms(use_true_random=False))
def test_stacked_log_mutations(seed: Seed, rng: random.Random) -> None:
    data, logs, used = mutators.mutate_logs(seed.data, seed.logs, rng, _layout(seed),
                                            _log_layouts(seed))
    _run(seed, used, data, logs)


@pytest.mark.corpus
@settings(_FUZZ, max_examples=40)
@given(data=st.data())
def test_corpus_seed_mutations(data: st.DataObject) -> None:
    """Small real hives from the corpus (and yarp's dirty hives with their logs) as seeds."""
    seeds = corpus_seeds()
    if not seeds:
        pytest.skip("the shared corpus is not available")
    seed = data.draw(st.sampled_from(seeds))
    rng = data.draw(st.randoms(use_true_random=False))
    _mutate_and_run(seed, rng)


@settings(_FUZZ, max_examples=40)
@given(data=st.binary(min_size=0, max_size=9000))
def test_unstructured_bytes(data: bytes) -> None:
    """Plain random bytes (mostly rejected at the base block), and random bytes behind a valid
    base block and bin header."""
    harness.run_one(data)
    seed = _HIVE_SEEDS[0].data
    harness.run_one(seed[:4096 + 32] + data)


# -- the long variant --------------------------------------------------------------------------


@pytest.mark.slow
@settings(_FUZZ, max_examples=4000)
@given(seed=st.sampled_from(_HIVE_SEEDS + _DIRTY_SEEDS), rng=st.randoms(use_true_random=False))
def test_long_mixed_campaign(seed: Seed, rng: random.Random) -> None:
    _mutate_and_run(seed, rng)


# -- the seeds, the mutators and the harness themselves ------------------------------------------


@pytest.mark.parametrize("seed", synthetic_seeds(), ids=lambda s: s.name)
def test_seeds_are_valid_and_pass_the_harness(seed: Seed) -> None:
    hive = winmigrate.Hive.from_bytes(seed.data)
    if seed.logs:
        assert hive.dirty
    else:
        assert hive.check().ok
    label = harness.run_one(seed.data, logs=seed.logs or None)
    if seed.logs:
        # The logs replay into a clean, valid hive (syn-dirty-old's replayed Select\Current
        # names a control set the hive lacks: the network reader says so, hence "ops-err").
        assert " l:ok" in label or " l:ops-err" in label, label
        with harness_files(seed) as path, winmigrate.open(path) as hive:
            assert hive.recovery is not None and hive.recovery.applied
            assert hive.get_key("Added1") is not None and hive.check().ok
    elif seed.name.startswith("syn-system"):
        assert label == "s:ok t:ok", label


def test_layout_finds_every_structure() -> None:
    seed = next(s for s in synthetic_seeds() if s.name == "syn-system-1.5")
    lay = mutators.hive_layout(seed.data)
    hive = winmigrate.Hive.from_bytes(seed.data)
    keys = list(hive.walk())
    assert len(lay.records[b"nk"]) == len(keys)
    assert {k.offset + 4096 for k in keys} == set(lay.records[b"nk"])
    assert sum(k.value_count for k in keys) == len(lay.records[b"vk"])
    assert lay.records[b"sk"] and lay.records[b"lh"]
    # Truncation points: the base block end, every bin start and end, every cell start.
    for cell, _size in lay.cells:
        assert cell in lay.boundaries
    for start, size in lay.bins:
        assert start in lay.boundaries and start + size in lay.boundaries
    assert 4096 in lay.boundaries
    ri = next(s for s in synthetic_seeds() if s.name == "syn-ri")
    assert mutators.hive_layout(ri.data).records[b"ri"]
    big = next(s for s in synthetic_seeds() if s.name == "syn-bigdata-1.5")
    assert mutators.hive_layout(big.data).segments


def test_log_layouts() -> None:
    new = next(s for s in synthetic_seeds() if s.name == "syn-dirty-new")
    lay = mutators.log_layout(new.logs["LOG1"])
    assert lay.format == "new" and len(lay.entries) == 2
    old = next(s for s in synthetic_seeds() if s.name == "syn-dirty-old")
    lay = mutators.log_layout(old.logs["LOG1"])
    assert lay.format == "old" and lay.bitmap is not None and lay.pages_offset == 1024


def test_rehash_keeps_entries_valid() -> None:
    """A field changed and rehashed still passes the hash checks: the damage reaches replay."""
    from winmigrate.regf.logfile import scan_entries

    seed = next(s for s in synthetic_seeds() if s.name == "syn-dirty-new")
    log = bytearray(seed.logs["LOG1"])
    lay = mutators.log_layout(bytes(log))
    first = struct.unpack_from("<I", log, 4)[0]
    assert len(scan_entries(bytes(log), first, max_bins_size=1 << 24).entries) == 2
    struct.pack_into("<I", log, 512 + 8, 1)  # flags of the first entry
    assert not scan_entries(bytes(log), first, max_bins_size=1 << 24).entries
    mutators.rehash_entries(log, lay)
    assert len(scan_entries(bytes(log), first, max_bins_size=1 << 24).entries) == 2


@pytest.mark.parametrize("name", sorted(mutators.HIVE_MUTATORS))
def test_mutators_are_deterministic_and_change_something(name: str) -> None:
    seed = next(s for s in synthetic_seeds() if s.name == "syn-system-1.5")
    lay = mutators.hive_layout(seed.data)
    changed = 0
    for i in range(20):
        a = mutators.HIVE_MUTATORS[name](seed.data, random.Random(i), lay)
        b = mutators.HIVE_MUTATORS[name](seed.data, random.Random(i), lay)
        assert a == b
        assert len(a) <= len(seed.data) + 64
        changed += a != seed.data
    # (fan_in leaves one-element lists as they are half of the time)
    assert changed >= 10, f"{name} left the seed unchanged {20 - changed} times in 20"


def test_cyclic_lists_make_cycles() -> None:
    """The cycle mutator does make key trees that loop (the walk or the depth bound stops them)."""
    seed = next(s for s in synthetic_seeds() if s.name == "syn-system-1.5")
    lay = mutators.hive_layout(seed.data)
    looped = 0
    for i in range(40):
        data = mutators.cyclic_lists(seed.data, random.Random(i), lay)
        try:
            for _ in winmigrate.Hive.from_bytes(data).walk():
                pass
        except winmigrate.HiveFormatError as e:
            looped += "cyclic" in str(e) or "deeper" in str(e)
    assert looped >= 5


def test_harness_reports_a_stray_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = synthetic_seeds()[0]

    def broken(self: winmigrate.Key) -> object:
        raise KeyError("boom")

    monkeypatch.setattr(winmigrate.Key, "class_name", property(broken))
    with pytest.raises(harness.FuzzFailure) as e:
        harness.run_one(seed.data, measure_memory=False)
    assert e.value.kind == "exception" and "KeyError" in e.value.signature


def test_harness_stops_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = synthetic_seeds()[0]

    def slow(hive: winmigrate.Hive) -> object:
        time.sleep(5)
        return None

    monkeypatch.setattr(winmigrate.Hive, "check", slow)
    started = time.monotonic()
    with pytest.raises(harness.FuzzFailure) as e:
        harness.run_one(seed.data, measure_memory=False, time_limit=0.5)
    assert e.value.kind == "timeout" and e.value.stage == "strict-check"
    assert time.monotonic() - started < 3


def test_harness_measures_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = synthetic_seeds()[0]
    real = winmigrate.Hive.check

    def greedy(hive: winmigrate.Hive) -> object:
        hog = bytearray(64 * len(seed.data) + (9 << 20))
        del hog
        return real(hive)

    monkeypatch.setattr(winmigrate.Hive, "check", greedy)
    with pytest.raises(harness.FuzzFailure) as e:
        harness.run_one(seed.data)
    assert e.value.kind == "memory" and e.value.stage.endswith("-check")


def test_harness_accepts_library_errors() -> None:
    assert harness.run_one(b"") == "s:open-err t:open-err"
    assert harness.run_one(b"regf" + bytes(600)).startswith("s:open-err")


def test_atheris_entry_without_running_libfuzzer() -> None:
    """The entry point imports with or without atheris; its input format round-trips; its
    structure-aware mutator is deterministic; one input runs through the harness."""
    from tests.fuzz import atheris_entry

    seed = next(s for s in synthetic_seeds() if s.name == "syn-dirty-new")
    packed = atheris_entry.pack(seed.data, seed.logs)
    assert atheris_entry.unpack(packed) == (seed.data, seed.logs)
    assert atheris_entry.unpack(seed.data) == (seed.data, None)
    assert atheris_entry.unpack(packed[:40])[0] == seed.data[:24]  # read as far as it goes
    first = atheris_entry.custom_mutator(packed, 1 << 20, 7)
    if getattr(atheris_entry, "atheris", None) is None:  # (libFuzzer's half is not ours)
        assert first == atheris_entry.custom_mutator(packed, 1 << 20, 7)
    atheris_entry.test_one_input(packed)
    atheris_entry.test_one_input(synthetic_seeds()[0].data)


def test_stacked_mutators_never_grow_the_input() -> None:
    """Each mutator of a stack sees bytes an earlier one damaged (a list cell's size made absurd
    by ``overwrite``, say) yet must not blow the input up: campaign b's input 584365 was 2 GiB
    once ``fan_in`` filled a cell whose size ``overwrite`` had set to -2**31."""
    for seed in synthetic_seeds():
        lay = mutators.hive_layout(seed.data)
        for i in range(60):
            data, _used = mutators.mutate_hive(seed.data, random.Random(i), lay)
            assert len(data) <= len(seed.data) + 64
        for size in (-0x80000000, -0x7FFFFFF8, 0x7FFFFFF8):
            buf = bytearray(seed.data)
            for cell, _sig, _count, elems in lay.lists:
                if len(elems) > 1:
                    struct.pack_into("<i", buf, cell, size)
            for i in range(10):
                assert len(mutators.fan_in(bytes(buf), random.Random(i), lay)) <= len(buf) + 64
