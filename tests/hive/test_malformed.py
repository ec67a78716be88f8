"""Bad input gives HiveFormatError (or a tolerant read) -- never another exception or a hang."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import winmigrate
from tests.helpers import FIXTURES, exercise, manifest_rows, require_corpus

SMALL_SEEDS = ["types_1_5.hiv", "types_1_3.hiv", "deep.hiv"]


@pytest.mark.corpus
def test_every_corpus_file_strict_and_tolerant() -> None:
    """All ~350 corpus files, corrupt, truncated, fragments and non-hives included."""
    corpus = require_corpus()
    outcomes = {"strict-ok": 0, "strict-error": 0, "tolerant-ok": 0, "tolerant-error": 0}
    for row in manifest_rows():
        path = corpus / row["relpath"]
        if not path.is_file():
            continue
        big = path.stat().st_size > 4 << 20
        try:
            with winmigrate.open(path, logs="ignore") as hive:
                exercise(hive, check=not big)
            outcomes["strict-ok"] += 1
            if big:  # a big healthy hive: the strict walk covered what a tolerant one would
                outcomes["tolerant-ok"] += 1
                continue
        except winmigrate.WinmigrateError:
            outcomes["strict-error"] += 1
        try:
            with winmigrate.open(path, logs="ignore", strict=False) as hive:
                exercise(hive, check=False)
            outcomes["tolerant-ok"] += 1
        except winmigrate.HiveFormatError:
            outcomes["tolerant-error"] += 1
    assert outcomes["strict-ok"] > 150 and outcomes["strict-error"] > 50
    # A tolerant read only gives up on what is not a hive at all (no base block / root).
    assert outcomes["tolerant-ok"] >= outcomes["strict-ok"]


@pytest.mark.corpus
@pytest.mark.parametrize("rel", [
    "msuhanov_yarp/hives_for_tests/TruncatedHive",
    "msuhanov_yarp/hives_for_tests/TruncatedNameHive",
    "msuhanov_yarp/hives_for_tests/DeletedDataHiveTruncated",
    "mkorman90_regipy/regipy_tests/data/corrupted_system_hive",
    "samba-team_samba/testdata/samba3/regfio_corrupt_lf_subkeys.dat",
])
def test_tolerant_read_lists_what_was_skipped(rel: str) -> None:
    corpus = require_corpus()
    with pytest.raises(winmigrate.HiveFormatError) as e:
        with winmigrate.open(corpus / rel, logs="ignore") as hive:
            exercise(hive, check=False)
    assert e.value.offset is not None or "truncated" in str(e.value)
    with winmigrate.open(corpus / rel, logs="ignore", strict=False) as hive:
        n = exercise(hive, check=False)
        assert n >= 1
        assert hive.problems, "a damaged hive read tolerantly must list what it skipped"
        assert all(p.message for p in hive.problems)
        with pytest.raises(winmigrate.NotWritableError):
            hive.root.set_value("x", 1)


def test_tolerant_reads_cannot_be_writable() -> None:
    with pytest.raises(winmigrate.UsageError):
        winmigrate.open(FIXTURES / "deep.hiv", writable=True, strict=False)


# -- mutations ----------------------------------------------------------------------------------

_SEED_BYTES = {name: (FIXTURES / name).read_bytes() for name in SMALL_SEEDS}
_INTERESTING = [0, 1, 4, 8, 0x20, 0x7FFFFFFF, 0x80000000, 0x80000004, 0x80000005, 0xFFFFFFFF,
                0xFFFFFFF8, 0x1000, 0x3FD8, 0x3FD9, 0xFFFF]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(_SEED_BYTES[draw(st.sampled_from(SMALL_SEEDS))])
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "u32", "u16", "truncate", "copy", "zero"]))
        # Most mutations land in the bins, where the records are.
        if len(data) < 80:
            break
        pos = draw(st.integers(0, len(data) - 4))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "u32":
            data[pos:pos + 4] = draw(st.sampled_from(_INTERESTING)).to_bytes(4, "little")
        elif kind == "u16":
            data[pos:pos + 2] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "little")
        elif kind == "truncate":
            del data[max(pos, 1):]
            if len(data) < 8:
                break
        elif kind == "copy":
            src = draw(st.integers(0, len(data) - 64))
            data[pos:pos + 64] = data[src:src + 64]
            del data[len(_SEED_BYTES[SMALL_SEEDS[0]]) * 2:]
        else:
            data[pos:pos + 16] = bytes(16)
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_hives_fail_cleanly(data: bytes) -> None:
    start = time.monotonic()
    for strict in (True, False):
        try:
            hive = winmigrate.Hive.from_bytes(data, strict=strict)
        except winmigrate.WinmigrateError:
            continue
        try:
            exercise(hive)
        except winmigrate.WinmigrateError:
            pass
    assert time.monotonic() - start < 20, "a mutated 150 KB hive must not take this long"
