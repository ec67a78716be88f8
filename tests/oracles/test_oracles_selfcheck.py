"""Self-checks of the oracles against the corpus's PARSERS.tsv and against each other.

Skips cleanly when ``../shared`` (the corpus) or a parser is missing. Quick: every hive is dumped
at most once per parser (cached), the 16 MB SYSTEM hive included.
"""

from __future__ import annotations

import collections
import functools
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from . import (
    Dump,
    KeyEntry,
    OracleError,
    ValueEntry,
    corpus_dir,
    corpus_manifest,
    corpus_parsers,
    dissect_available,
    dissect_dump,
    hivex_available,
    hivex_dump,
    hivexml_available,
    hivexml_ok,
    libregf_available,
    libregf_dump,
    python_registry_available,
    python_registry_dump,
    regipy_available,
    regipy_dump,
)

BIG_SYSTEM = "mkorman90_regipy/_history/9726b9e2ee/regipy_tests/data/SYSTEM"
SPECIAL = "libguestfs_hivex/images/special"  # non-ASCII names, an embedded NUL
UNICODE_TESTS = "williballenthin_python-registry/tests/reg_samples/UNICODE_TESTS"
BAD_LIST = "msuhanov_yarp/hives_for_tests/BadListHive"  # one nk reached from two parents
SYSTEM_2 = "mkorman90_regipy/regipy_tests/data/SYSTEM_2"
TRUNCATED_PAIR = "msuhanov_yarp/hives_for_tests/TruncatedPairHive"  # lone-surrogate name
SYSTEM_DELTA = "msuhanov_yarp/hives_for_tests/System_Delta"  # zero-length, offset 0xFFFFFFFF
GARBAGE = "msuhanov_yarp/hives_for_tests/GarbageHive"  # not a hive hivex opens

COUNT_HIVES = [UNICODE_TESTS, SPECIAL, BAD_LIST, BIG_SYSTEM]

needs_hivex = pytest.mark.skipif(not hivex_available(), reason="python3-hivex not installed")
needs_hivexml = pytest.mark.skipif(not hivexml_available(), reason="hivexml not installed")
needs_pyreg = pytest.mark.skipif(
    not python_registry_available(), reason="python-registry not installed"
)
needs_regipy = pytest.mark.skipif(not regipy_available(), reason="regipy not installed")
needs_libregf = pytest.mark.skipif(not libregf_available(), reason="libregf-python not installed")
needs_dissect = pytest.mark.skipif(not dissect_available(), reason="dissect.regf not installed")

pytestmark = [pytest.mark.corpus, pytest.mark.oracle]

DUMPERS: dict[str, Callable[..., Dump]] = {
    "hivex": hivex_dump,
    "python-registry": python_registry_dump,
    "regipy": regipy_dump,
    "libregf": libregf_dump,
    "dissect": dissect_dump,
}


def hive(relpath: str) -> Path:
    folder = corpus_dir()
    if folder is None:
        pytest.skip("no corpus: ../shared/corpus/extract is absent")
    path = folder / relpath
    if not path.is_file():
        pytest.skip(f"{relpath} is not in this corpus")
    return path


@functools.cache
def _dump(parser: str, relpath: str, unfiltered: bool = False) -> Dump | OracleError:
    fn = DUMPERS[parser]
    try:
        return fn(hive(relpath), unfiltered=True) if unfiltered else fn(hive(relpath))
    except OracleError as exc:
        return exc


def dump(parser: str, relpath: str, unfiltered: bool = False) -> Dump:
    result = _dump(parser, relpath, unfiltered)
    if isinstance(result, OracleError):
        raise result
    return result


def expected_counts(relpath: str, column: str) -> tuple[int, int]:
    hive(relpath)  # skips without the corpus
    for row in corpus_parsers():
        if row["relpath"] == relpath:
            m = re.fullmatch(r"(\d+)/(\d+)", row[column])
            assert m, f"{relpath}: {column} is {row[column]!r}"
            return int(m[1]), int(m[2])
    pytest.skip(f"{relpath} has no row in PARSERS.tsv")


# --- the dump format, no corpus needed -------------------------------------------------------


def test_dump_helpers() -> None:
    v1 = ValueEntry("", 1, b"a\x00\x00\x00")
    v2 = ValueEntry("x\ud800", 0xFFFF0011, None)
    d = Dump(
        "ROOT",
        [
            KeyEntry((), (v1,)),
            KeyEntry(("a",), (v1, v2)),
            KeyEntry(("a", "b"), ()),
            KeyEntry(("a",), ()),  # a damaged hive may list a path twice: the first one wins
        ],
    )
    assert d.counts() == (4, 3)
    assert d.as_mapping() == {(): (v1,), ("a",): (v1, v2), ("a", "b"): ()}


# --- corpus files ------------------------------------------------------------------------------


def test_corpus_tables() -> None:
    hive(BIG_SYSTEM)
    manifest = corpus_manifest()
    parsers = corpus_parsers()
    assert len(manifest) > 300 and len(parsers) > 100
    assert {"relpath", "sha256", "hive_kind"} <= manifest[0].keys()
    assert {"relpath", "hivex-py(keys/values)", "libregf(keys/values)"} <= parsers[0].keys()


# --- counts against PARSERS.tsv --------------------------------------------------------------


@needs_hivex
@pytest.mark.parametrize("relpath", COUNT_HIVES)
def test_hivex_counts(relpath: str) -> None:
    assert dump("hivex", relpath).counts() == expected_counts(relpath, "hivex-py(keys/values)")


@needs_pyreg
@pytest.mark.parametrize("relpath", COUNT_HIVES)
def test_python_registry_counts(relpath: str) -> None:
    expected = expected_counts(relpath, "python-registry(keys/values)")
    assert dump("python-registry", relpath).counts() == expected


@needs_libregf
@pytest.mark.parametrize("relpath", COUNT_HIVES)
def test_libregf_counts(relpath: str) -> None:
    assert dump("libregf", relpath).counts() == expected_counts(relpath, "libregf(keys/values)")


@needs_regipy
@pytest.mark.skipif(
    not (dissect_available() or libregf_available()), reason="needs dissect.regf or libregf"
)
def test_regipy_skips_type_0x200000() -> None:
    """regipy's lower count on SYSTEM_2 is exactly its skip of type 0x200000 values."""
    expected = expected_counts(SYSTEM_2, "regipy(keys/values)")
    full = dump("libregf" if libregf_available() else "dissect", SYSTEM_2)
    skipped = sum(v.type == 0x200000 for k in full.keys for v in k.values)
    assert skipped == 4
    assert dump("regipy", SYSTEM_2).counts() == expected
    assert full.counts() == (expected[0], expected[1] + skipped)


@needs_regipy
@pytest.mark.parametrize("relpath", [UNICODE_TESTS, SPECIAL])
def test_regipy_mirror_matches_iter_values(relpath: str) -> None:
    """The mirrored value loop yields what regipy's own ``iter_values`` yields."""
    from regipy.registry import RegistryHive

    ours = dump("regipy", relpath).keys
    reg = RegistryHive(str(hive(relpath)))
    stack = [reg.root]
    theirs: list[list[str]] = []
    while stack:  # same pre-order as the dump
        nk = stack.pop()
        names = [v.name for v in nk.iter_values(trim_values=False)] if nk.values_count else []
        theirs.append(["" if n == "(default)" else n for n in names])
        stack.extend(reversed(list(nk.iter_subkeys() or ())) if nk.subkey_count else [])
    assert [[v.name for v in k.values] for k in ours] == theirs


# --- names survive the subprocess; one nk under two parents; errors are reported ----------------


@needs_hivex
def test_hivex_names_round_trip() -> None:
    keys = [k.path for k in dump("hivex", SPECIAL).keys]
    assert keys == [(), ("abcd_äöüß",), ("weird™",), ("zero\x00key",)]
    values = dump("hivex", SPECIAL).as_mapping()[("zero\x00key",)]
    assert values == (ValueEntry("zero\x00val", 4, b"\x00\x00\x00\x00"),)


@needs_hivex
@needs_dissect
@pytest.mark.parametrize("relpath", [SPECIAL, UNICODE_TESTS, BAD_LIST])
def test_hivex_and_dissect_agree_exactly(relpath: str) -> None:
    assert dump("hivex", relpath) == dump("dissect", relpath)


@needs_hivex
def test_hivex_reports_errors() -> None:
    with pytest.raises(OracleError) as fatal:
        dump("hivex", GARBAGE)
    assert fatal.value.partial is None and "Invalid argument" in str(fatal.value)

    # A lone surrogate in a key name: hivex's iconv refuses it; the key is left out.
    with pytest.raises(OracleError) as pair:
        dump("hivex", TRUNCATED_PAIR)
    assert pair.value.partial is not None and pair.value.partial.counts() == (3, 0)
    assert any("node_name" in e for e in pair.value.errors)

    # Zero-length values whose data offset is 0xFFFFFFFF: kept, without data.
    with pytest.raises(OracleError) as delta:
        dump("hivex", SYSTEM_DELTA)
    partial = delta.value.partial
    assert partial is not None and partial.counts() == (586, 820)
    failed = [v for k in partial.keys for v in k.values if v.raw is None]
    assert sorted(v.name for v in failed) == ["6005BT", "ExistingPageFiles", "displayname"]
    if libregf_available():  # libregf reads them as empty REG_NONE values
        read = {v.name: v for k in dump("libregf", SYSTEM_DELTA).keys for v in k.values}
        assert all(read[v.name] == ValueEntry(v.name, 0, b"") for v in failed)


@needs_hivexml
def test_hivexml_ok() -> None:
    assert hivexml_ok(hive(SPECIAL)) is True
    message = hivexml_ok(hive(BAD_LIST))
    assert isinstance(message, str) and "hivex_visit" in message


# --- raw bytes on the 16 MB SYSTEM hive -------------------------------------------------------


def _raw_differences(
    ref: Dump, unfiltered: Dump, filtered: Dump
) -> tuple[int, int, collections.Counter[str]]:
    """(values compared, values kept by the filter, differing values by reason)."""
    assert [k.path for k in ref.keys] == [k.path for k in unfiltered.keys]
    assert [k.path for k in ref.keys] == [k.path for k in filtered.keys]
    compared = kept = 0
    reasons: collections.Counter[str] = collections.Counter()
    for kr, ku, kf in zip(ref.keys, unfiltered.keys, filtered.keys, strict=True):
        assert [(v.name, v.type) for v in kr.values] == [(v.name, v.type) for v in kf.values]
        for r, u, f in zip(kr.values, ku.values, kf.values, strict=True):
            assert r.raw is not None
            compared += 1
            if f.raw is not None:
                kept += 1
                assert f.raw == r.raw, (kr.path, r.name)  # faithful where kept
            if u.raw != r.raw:
                assert f.raw is None, (kr.path, r.name)  # every loss is filtered out
                if u.raw is not None and len(u.raw) < len(r.raw):
                    reasons[f"type {r.type:#x}: cut short"] += 1
                else:
                    reasons[f"type {r.type:#x}: {len(r.raw)} bytes misread"] += 1
    return compared, kept, reasons


@needs_hivex
@needs_libregf
def test_big_system_hivex_vs_libregf_raw(capsys: pytest.CaptureFixture[str]) -> None:
    ref = dump("hivex", BIG_SYSTEM)
    compared, kept, reasons = _raw_differences(
        ref, dump("libregf", BIG_SYSTEM, unfiltered=True), dump("libregf", BIG_SYSTEM)
    )
    with capsys.disabled():
        print(
            f"\nlibregf vs hivex on {BIG_SYSTEM}: {compared} values, {kept} compared byte for "
            f"byte (all equal), {sum(reasons.values())} differ where libregf is lossy: "
            + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
        )
    assert compared == 73455
    # Resident 1-3-byte data (last n bytes of the offset field) and strings cut after their
    # first NUL: 67 values in this hive when this was written.
    assert 0 < sum(reasons.values()) < 200
    assert kept > 0.95 * compared


@needs_hivex
@needs_pyreg
def test_big_system_hivex_vs_python_registry_raw(capsys: pytest.CaptureFixture[str]) -> None:
    ref = dump("hivex", BIG_SYSTEM)
    compared, kept, reasons = _raw_differences(
        ref,
        dump("python-registry", BIG_SYSTEM, unfiltered=True),
        dump("python-registry", BIG_SYSTEM),
    )
    with capsys.disabled():
        print(
            f"\npython-registry vs hivex on {BIG_SYSTEM}: {compared} values, {kept} equal, "
            f"{sum(reasons.values())} where raw_data() is not the stored data"
        )
    assert compared == 73455
    assert kept + sum(reasons.values()) == compared  # its filter drops only real losses
