"""Replay of logs built by the tests themselves (both formats): the expected image comes out; a
broken entry, a gap, a stale or foreign log stops replay where the format rules say; hostile sizes
never escape as anything but a report (or a ``HiveFormatError``)."""

from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import winmigrate
from tests.logs.builders import (
    Entry,
    Files,
    build_new_log,
    build_old_log,
    empty_bin,
    log_base_block,
    new_entry_bytes,
    set_sequences,
    with_checksum,
    xor_checksum,
)
from tests.logs.conftest import small_hive_bytes
from winmigrate.errors import HiveFormatError, LogReplayError, WinmigrateError
from winmigrate.hive.logs import needs_recovery, recover
from winmigrate.regf.logfile import scan_entries

BASE = 4096
SMALL = small_hive_bytes()
BINS = struct.unpack_from("<I", SMALL, 40)[0]
TIMESTAMP = struct.unpack_from("<Q", SMALL, 12)[0]
HYP = settings(max_examples=40, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])


def dirty_primary(seq1: int, seq2: int, image: bytes = SMALL) -> bytearray:
    buf = bytearray(image)
    set_sequences(buf, seq1, seq2)
    return buf


def assert_clean_base_block(image: bytes | bytearray, sequence: int, bins_size: int) -> None:
    seq1, seq2 = struct.unpack_from("<II", image, 4)
    assert (seq1, seq2) == (sequence, sequence)
    assert struct.unpack_from("<I", image, 28)[0] == 0  # file type: primary
    assert struct.unpack_from("<I", image, 40)[0] == bins_size
    assert struct.unpack_from("<I", image, 508)[0] == xor_checksum(image)


def random_pages(rng: random.Random, count: int, bins_size: int) -> list[tuple[int, bytes]]:
    pages = []
    for _ in range(count):
        npages = rng.choice((1, 1, 2))
        off = rng.randrange(0, bins_size // 4096 - npages + 1) * 4096
        pages.append((off, rng.randbytes(4096 * npages)))
    return pages


def expected_after(primary: bytes | bytearray, entries: list[Entry]) -> bytearray:
    image = bytearray(primary)
    for entry in entries:
        if len(image) < BASE + entry.bins_size:
            image.extend(bytes(BASE + entry.bins_size - len(image)))
        for off, data in entry.pages:
            image[BASE + off:BASE + off + len(data)] = data
    return image


# -- new format -------------------------------------------------------------------------------


@HYP
@given(seed=st.integers(0, 2**32), nentries=st.integers(1, 6), split=st.integers(0, 6),
       swap=st.booleans(), grow=st.booleans(), first=st.integers(1, 2**32 - 8))
def test_new_format_replays_to_expected_image(tmp_path: Path, seed: int, nentries: int,
                                              split: int, swap: bool, grow: bool,
                                              first: int) -> None:
    rng = random.Random(seed)
    entries = []
    bins = BINS
    for i in range(nentries):
        if grow and i == nentries - 1:
            # The hive grows by one bin; its pages come with the entry (spec note 9).
            entries.append(Entry(first + i, bins + 4096, [(bins, empty_bin(bins, 4096))], flags=1))
            bins += 4096
        else:
            entries.append(Entry(first + i, bins, random_pages(rng, rng.randint(1, 3), bins)))
    split = min(split, nentries)
    older, newer = entries[:split], entries[split:]
    logs = {}
    if older:
        logs["LOG1"] = build_new_log(SMALL, older, padding=rng.choice((0, 512, 4096)))
    if newer:
        logs["LOG2"] = build_new_log(SMALL, newer, padding=rng.choice((0, 512)))
    if swap and len(logs) == 2:  # the older entries may sit in LOG2: order is by sequence
        logs = {"LOG1": logs["LOG2"], "LOG2": logs["LOG1"]}
    primary = dirty_primary(first + 1, first)
    folder = Files(tmp_path / f"h{seed}_{nentries}_{split}_{swap}_{grow}")
    path = folder.write(primary, logs)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.folder.iterdir()}

    image, report = recover(bytes(primary), str(path), "auto", writable=True)

    assert isinstance(image, bytearray)
    assert report.applied and report.replaced_image and report.primary_dirty
    assert report.entries_applied == tuple(e.sequence for e in entries)
    assert report.final_sequence == entries[-1].sequence
    assert report.sequence_floor >= entries[-1].sequence
    expected = expected_after(primary, entries)
    assert image[BASE:BASE + bins] == expected[BASE:BASE + bins]
    assert_clean_base_block(image, entries[-1].sequence, bins)
    assert struct.unpack_from("<I", image, 144)[0] & 1 == entries[-1].flags & 1
    # The files on disk are untouched.
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.folder.iterdir()}
    assert after == before


@HYP
@given(seed=st.integers(0, 2**32), nentries=st.integers(2, 6), data=st.data(),
       how=st.sampled_from(["hash1", "hash2", "sequence", "size", "signature", "bins_size",
                            "page_ref"]))
def test_new_format_stops_at_a_broken_entry(tmp_path: Path, seed: int, nentries: int,
                                            data: st.DataObject, how: str) -> None:
    rng = random.Random(seed)
    first = 100
    entries = [Entry(first + i, BINS, random_pages(rng, 2, BINS)) for i in range(nentries)]
    bad = data.draw(st.integers(0, nentries - 1))
    split = data.draw(st.integers(0, nentries))
    blobs = [new_entry_bytes(e) for e in entries]
    blob = blobs[bad]
    if how == "hash1":
        blob[-1] ^= 0xFF  # page data changed, hashes not: Hash-1 no longer matches
    elif how == "hash2":
        blob[8] ^= 0x01  # the flags field is covered by Hash-2 only
    elif how == "sequence":  # a consistent entry whose number does not follow: a gap
        blobs[bad] = new_entry_bytes(Entry(first + bad + 7, BINS, entries[bad].pages))
    elif how == "size":
        struct.pack_into("<I", blob, 4, len(blob) + 1)
    elif how == "signature":
        blob[0:4] = b"HvLX"
    elif how == "bins_size":
        blobs[bad] = new_entry_bytes(Entry(first + bad, BINS + 100, entries[bad].pages))
    elif how == "page_ref":  # hashed correctly, but the page lies past the hive bins
        blobs[bad] = new_entry_bytes(Entry(first + bad, BINS, [(BINS, b"\0" * 4096)]))
    logs = {}
    for suffix, part in (("LOG1", range(0, split)), ("LOG2", range(split, nentries))):
        if part:
            log = bytearray(log_base_block(SMALL, file_type=6, sequence=first + part[0]))
            for i in part:
                log += blobs[i]
            logs[suffix] = log
    primary = dirty_primary(first + 1, first)
    path = Files(tmp_path / f"b{seed}_{nentries}_{bad}_{split}_{how}").write(primary, logs)

    image, report = recover(bytes(primary), str(path), "auto", writable=False)

    good = entries[:bad]
    assert report.entries_applied == tuple(e.sequence for e in good)
    assert report.applied == bool(good)
    if good:
        assert image[BASE:BASE + BINS] == expected_after(primary, good)[BASE:BASE + BINS]
        assert_clean_base_block(image, good[-1].sequence, BINS)
    else:
        assert image == primary
    reasons = " | ".join(f"{r.kind}: {r.reason}" for r in report.rejected)
    words = {"hash1": "Hash-1", "hash2": "Hash-2", "sequence": "gap", "size": "size",
             "bins_size": "hive bins data size", "page_ref": "page reference"}
    if how != "signature":  # a missing signature is simply the end of the entries
        assert words[how] in reasons, reasons
    assert all(r.kind in ("invalid", "gap", "stale", "unused") for r in report.rejected)


def test_stale_log_and_gap_between_logs(tmp_path: Path) -> None:
    rng = random.Random(7)
    primary = dirty_primary(11, 10)
    stale = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (7, 8, 9)]
    newer = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (10, 11)]
    path = Files(tmp_path / "a").write(primary, {"LOG1": build_new_log(SMALL, newer),
                                                 "LOG2": build_new_log(SMALL, stale)})
    _image, report = recover(bytes(primary), str(path), "auto", writable=True)
    assert report.entries_applied == (10, 11)
    assert [r.kind for r in report.rejected] == ["stale"]
    assert "before the primary's secondary sequence 10" in report.rejected[0].reason

    later = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (14, 15)]
    path = Files(tmp_path / "b").write(primary, {"LOG1": build_new_log(SMALL, newer),
                                                 "LOG2": build_new_log(SMALL, later)})
    _image, report = recover(bytes(primary), str(path), "auto", writable=True)
    assert report.entries_applied == (10, 11)
    assert [(r.kind, r.sequence) for r in report.rejected] == [("gap", 14)]


def test_first_log_may_start_past_the_primary(tmp_path: Path) -> None:
    """Windows 10 does not rewrite the primary's base block for every flush: regipy's SYSTEM_B
    has 1622/1621 with logs from 2107. The first entry must equal the log's own sequence number
    and be no less than the primary's secondary one (spec, new format, note 7)."""
    rng = random.Random(3)
    primary = dirty_primary(51, 50)
    entries = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (90, 91)]
    path = Files(tmp_path).write(primary, {"LOG1": build_new_log(SMALL, entries)})
    _image, report = recover(bytes(primary), str(path), "auto", writable=True)
    assert report.entries_applied == (90, 91)
    # ... but the log's first entry must carry the log's base block number.
    path = Files(tmp_path / "x").write(primary, {"LOG1": build_new_log(SMALL, entries,
                                                                       sequence=89)})
    _image, report = recover(bytes(primary), str(path), "auto", writable=True)
    assert not report.applied
    assert "gap in sequence: entry 90 where 89 was expected" in report.rejected[0].reason


def test_invalid_primary_base_block_takes_the_newest_log(tmp_path: Path) -> None:
    rng = random.Random(5)
    primary = dirty_primary(21, 20)
    struct.pack_into("<I", primary, 508, xor_checksum(primary) ^ 0x55)  # wrong checksum
    struct.pack_into("<I", primary, 36, 0xDEAD0)  # a field the log's copy will restore
    older = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (20, 21)]
    newer = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (22, 23)]
    path = Files(tmp_path).write(primary, {"LOG1": build_new_log(SMALL, older),
                                           "LOG2": build_new_log(SMALL, newer)})
    image, report = recover(bytes(primary), str(path), "auto", writable=True)
    # "If a primary file contains an invalid base block, only the transaction log file with
    # latest log entries is used in the recovery."
    assert report.entries_applied == (22, 23)
    assert report.base_block_from == "HIVE.LOG2"
    assert not report.primary_base_block_valid
    assert struct.unpack_from("<I", image, 36)[0] == struct.unpack_from("<I", SMALL, 36)[0]
    assert_clean_base_block(image, 23, BINS)
    assert image[BASE:BASE + BINS] == expected_after(primary, newer)[BASE:BASE + BINS]


def test_clean_primary_is_not_replayed_but_gets_a_floor(tmp_path: Path) -> None:
    rng = random.Random(1)
    entries = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (2, 3, 4)]
    path = Files(tmp_path).write(SMALL, {"LOG1": build_new_log(SMALL, entries)})
    assert not needs_recovery(SMALL, "auto")
    image, report = recover(SMALL, str(path), "auto", writable=False)
    assert image is SMALL
    assert not report.primary_dirty and not report.applied and not report.replaced_image
    assert report.sequence_floor == 4
    from winmigrate.hive.logs import log_sequence_floor

    assert log_sequence_floor(path) == 4


# -- old format -------------------------------------------------------------------------------


def old_pages(rng: random.Random, bins_size: int, count: int,
              image: bytes | bytearray) -> dict[int, bytes]:
    """Random dirty 512-byte pages; a page that starts a bin keeps its 32-byte bin header."""
    pages = {}
    for _ in range(count):
        index = rng.randrange(bins_size // 512)
        data = bytearray(rng.randbytes(512))
        if index % 8 == 0:
            start = BASE + index * 512
            data[:32] = image[start:start + 32]
        pages[index] = bytes(data)
    return pages


@HYP
@given(seed=st.integers(0, 2**32), count=st.integers(0, 40), grow=st.booleans())
def test_old_format_replays_to_expected_image(tmp_path: Path, seed: int, count: int,
                                              grow: bool) -> None:
    rng = random.Random(seed)
    primary = dirty_primary(9, 8)
    bins = BINS + (8192 if grow else 0)
    target = bytearray(primary) + bytes(BASE + bins - len(primary))
    if grow:
        target[BASE + BINS:BASE + bins] = empty_bin(BINS, 8192)
    pages = old_pages(rng, bins, count, target)
    if grow:  # every page of the new bin is dirty (Windows logs a new bin whole)
        for index in range(BINS // 512, bins // 512):
            pages[index] = bytes(target[BASE + index * 512:BASE + index * 512 + 512])
    log = build_old_log(primary, sequence=9, timestamp=TIMESTAMP, bins_size=bins, pages=pages)
    path = Files(tmp_path / f"o{seed}_{count}_{grow}").write(primary, {"LOG1": log,
                                                                       "LOG2": b""})
    image, report = recover(bytes(primary), str(path), "auto", writable=True)
    for index, data in pages.items():
        target[BASE + index * 512:BASE + index * 512 + 512] = data
    assert report.applied and report.format == "old"
    assert report.pages_applied == len(pages)
    assert image[BASE:BASE + bins] == target[BASE:BASE + bins]
    assert_clean_base_block(image, 9, bins)


def test_old_format_stops_at_an_invalid_dirty_bin(tmp_path: Path) -> None:
    rng = random.Random(11)
    primary = dirty_primary(9, 8)
    pages = {index: rng.randbytes(512) for index in (1, 2, 9, 17, 18, 33)}
    pages[16] = b"hbXn" + bytes(508)  # the header page of the bin at 0x2000, broken
    log = build_old_log(primary, sequence=9, timestamp=TIMESTAMP, bins_size=BINS, pages=pages)
    path = Files(tmp_path).write(primary, {"LOG1": log})
    image, report = recover(bytes(primary), str(path), "auto", writable=True)
    # Pages in the bins before 0x2000 are applied; from the bad bin on, nothing is.
    assert report.applied and report.pages_applied == 3
    assert image[BASE + 512:BASE + 1536] == pages[1] + pages[2]
    assert image[BASE + 0x2000:] == primary[BASE + 0x2000:]
    assert "hive bin at 0x2000 is invalid" in report.rejected[0].reason


def test_old_format_validity_and_choice(tmp_path: Path) -> None:
    rng = random.Random(2)
    primary = dirty_primary(9, 8)
    pages = {3: rng.randbytes(512)}
    good = build_old_log(primary, sequence=9, timestamp=TIMESTAMP, bins_size=BINS, pages=pages)

    def run(name: str, logs: dict[str, bytes | bytearray]) -> winmigrate.hive.logs.RecoveryReport:
        path = Files(tmp_path / name).write(primary, logs)
        return recover(bytes(primary), str(path), "auto", writable=True)[1]

    # Timestamp must match the primary's (spec, old format, base block note 3).
    other_time = build_old_log(primary, sequence=9, timestamp=TIMESTAMP + 1, bins_size=BINS,
                               pages=pages)
    report = run("time", {"LOG1": other_time})
    assert not report.applied and report.rejected[0].kind == "not-applicable"
    # Its own sequence numbers must match.
    torn = bytearray(good)
    struct.pack_into("<I", torn, 8, 8)
    with_checksum(torn)
    report = run("torn", {"LOG1": torn})
    assert not report.applied and "sequence numbers differ" in report.rejected[0].reason
    # Truncated: fewer pages than the bitmap says.
    report = run("short", {"LOG1": good[:-1]})
    assert not report.applied and "truncated" in report.rejected[0].reason
    # Windows 8's fallback: LOG1 unusable, LOG2 valid and newer -> LOG2, even with another time.
    newer = build_old_log(primary, sequence=9, timestamp=TIMESTAMP + 5, bins_size=BINS,
                          pages=pages)
    report = run("fallback", {"LOG1": other_time, "LOG2": newer})
    assert report.applied and [log.used for log in report.logs] == [False, True]
    # The single-log scheme of Windows XP: NAME.LOG.
    report = run("xp", {"LOG": good, "LOG1": b"", "LOG2": b""})
    assert report.applied and report.logs[0].role == "LOG" and report.logs[0].used
    # The bitmap is read lowest bit first: page 3 is bit 3 of byte 0.
    path = Files(tmp_path / "bits").write(primary, {"LOG1": good})
    image, _ = recover(bytes(primary), str(path), "auto", writable=True)
    assert image[BASE + 3 * 512:BASE + 4 * 512] == pages[3]


# -- detection, modes, hostile input -----------------------------------------------------------


def test_needs_recovery() -> None:
    assert not needs_recovery(SMALL, "auto")
    assert needs_recovery(SMALL, "require")
    assert needs_recovery(SMALL, ["x.LOG1"])
    assert needs_recovery(dirty_primary(2, 1), "auto")
    bad = bytearray(SMALL)
    bad[508] ^= 1
    assert needs_recovery(bad, "auto")
    assert needs_recovery(b"XXXX" + bytes(600), "auto")  # a log may still hold the base block
    assert not needs_recovery(b"regf", "auto")  # too short to be anything: the reader says so


def test_modes(tmp_path: Path) -> None:
    primary = dirty_primary(2, 1)
    path = Files(tmp_path).write(primary, {})
    _image, report = recover(bytes(primary), str(path), "auto", writable=False)
    assert not report.applied and report.primary_dirty
    with pytest.raises(LogReplayError, match="no transaction log could be applied"):
        recover(bytes(primary), str(path), "require", writable=False)
    # A clean primary with "require" is fine: there is nothing to replay.
    recover(SMALL, str(path), "require", writable=False)
    # Not a hive, and no log to rebuild it from.
    with pytest.raises(HiveFormatError, match="not a registry hive"):
        recover(b"XXXX" + bytes(8192), str(path), "auto", writable=False)


def test_explicit_log_list(tmp_path: Path) -> None:
    rng = random.Random(9)
    primary = dirty_primary(6, 5)
    entries = [Entry(s, BINS, random_pages(rng, 1, BINS)) for s in (5, 6)]
    elsewhere = tmp_path / "saved-logs"
    elsewhere.mkdir()
    (elsewhere / "old.LOG2").write_bytes(build_new_log(SMALL, entries))
    path = Files(tmp_path / "h").write(primary, {})
    _image, report = recover(bytes(primary), str(path), [str(elsewhere / "old.LOG2")],
                            writable=True)
    assert report.entries_applied == (5, 6) and report.logs[0].role == "LOG2"


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), old=st.booleans(), flips=st.integers(1, 12))
def test_hostile_logs_never_escape(tmp_path: Path, seed: int, old: bool, flips: int) -> None:
    """Random damage to valid logs (sizes, counts, offsets included): the result is a report or a
    WinmigrateError, never IndexError/struct.error/MemoryError, and the image stays bounded."""
    rng = random.Random(seed)
    primary = dirty_primary(31, 30)
    if old:
        log = build_old_log(primary, sequence=31, timestamp=TIMESTAMP, bins_size=BINS,
                            pages=old_pages(rng, BINS, 6, primary))
    else:
        log = build_new_log(SMALL, [Entry(30 + i, BINS, random_pages(rng, 2, BINS))
                                    for i in range(3)])
    for _ in range(flips):
        pos = rng.randrange(len(log))
        if rng.random() < 0.5:
            log[pos] = rng.randrange(256)
        else:  # a plausible-looking but huge or odd 32-bit field
            value = rng.choice((0, 1, 0x1000, 0x7FFFFFFF, 0xFFFFFFFF, len(log) + 512))
            struct.pack_into("<I", log, pos & ~3 if pos + 4 <= len(log) else 0, value)
        if rng.random() < 0.5 and len(log) >= 512:
            with_checksum(log)  # keep the base block acceptable so the damage reaches entries
    path = Files(tmp_path / f"f{seed}_{old}_{flips}").write(primary, {"LOG1": log})
    try:
        image, _report = recover(bytes(primary), str(path), "auto", writable=True)
    except WinmigrateError:
        return
    assert len(image) <= 64 << 20


def test_scan_entries_bounds() -> None:
    """Entry sizes and page references are checked against the file and the declared sizes."""
    entry = new_entry_bytes(Entry(5, BINS, [(0, bytes(4096))]))
    log = bytearray(log_base_block(SMALL, file_type=6, sequence=5)) + entry
    scan = scan_entries(log, 5, max_bins_size=BINS)
    assert len(scan.entries) == 1 and scan.stop_kind == "end"
    scan = scan_entries(log[:-512], 5, max_bins_size=BINS)
    assert not scan.entries and "runs past the end of the log" in scan.stop_reason
    scan = scan_entries(log, 5, max_bins_size=BINS - 4096)
    assert not scan.entries and "more than the primary and its logs can hold" in scan.stop_reason
    huge = bytearray(entry)
    struct.pack_into("<I", huge, 20, 0x10000000)  # page count far beyond the entry
    scan = scan_entries(bytearray(log[:512]) + huge, 5, max_bins_size=BINS, verify=False)
    assert not scan.entries and "do not fit" in scan.stop_reason
