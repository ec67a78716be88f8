"""Shared test helpers: winmigrate's reading in the oracles' dump format, corpus lookups."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import winmigrate
from tests.oracles import Dump, KeyEntry, ValueEntry, corpus_dir, corpus_manifest, corpus_parsers

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "hives"
BIG_SYSTEM = "mkorman90_regipy/_history/9726b9e2ee/regipy_tests/data/SYSTEM"
WIN7_SYSTEM = "mkorman90_regipy/regipy_tests/data/SYSTEM"


def require_corpus() -> Path:
    folder = corpus_dir()
    if folder is None:
        pytest.skip("the shared corpus (../shared/corpus) is not available")
    return folder


def corpus_file(rel: str) -> Path:
    path = require_corpus() / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in the corpus")
    return path


def dump_hive(hive: winmigrate.Hive) -> Dump:
    """The hive in the oracles' format: pre-order, stored order, raw bytes exact."""
    keys = []
    for key in hive.walk():
        parts = tuple(key.path.split("\\")) if key.path else ()
        values = tuple(ValueEntry(v.name, v.type_number, v.raw) for v in key.values())
        keys.append(KeyEntry(parts, values))
    return Dump(hive.root.name, keys)


def dump_file(path: str | os.PathLike[str], **kw: object) -> Dump:
    with winmigrate.open(path, **kw) as hive:  # type: ignore[arg-type]
        return dump_hive(hive)


def hivex_readable_hives() -> list[str]:
    """Corpus primaries that hivex reads completely (its Python binding and hivexml agree)."""
    out = []
    for row in corpus_parsers():
        counts = row.get("hivex-py(keys/values)", "")
        strict = row.get("hivexml_strict(keys/values)", "")
        if counts[:1].isdigit() and strict[:1].isdigit():
            out.append(row["relpath"])
    return out


def manifest_rows(kind: str | None = None) -> list[dict[str, str]]:
    rows = corpus_manifest()
    return [r for r in rows if kind is None or r["hive_kind"] == kind]


def diff_dumps(mine: Dump, theirs: Dump, *, compare_raw: bool = True, limit: int = 5) -> list[str]:
    """Human-readable differences (empty when equal)."""
    out: list[str] = []
    if mine.root_name != theirs.root_name:
        out.append(f"root name {mine.root_name!r} != {theirs.root_name!r}")
    if len(mine.keys) != len(theirs.keys):
        out.append(f"{len(mine.keys)} keys != {len(theirs.keys)}")
    for a, b in zip(mine.keys, theirs.keys):
        if a.path != b.path:
            out.append(f"key order/path {a.path} != {b.path}")
        elif len(a.values) != len(b.values):
            out.append(f"{a.path}: {len(a.values)} values != {len(b.values)}")
        else:
            for va, vb in zip(a.values, b.values):
                if va.name != vb.name or va.type != vb.type:
                    out.append(f"{a.path}: value {va.name!r}/{va.type} != {vb.name!r}/{vb.type}")
                elif compare_raw and vb.raw is not None and va.raw != vb.raw:
                    out.append(f"{a.path}: value {va.name!r} raw differs "
                               f"({(va.raw or b'')[:16].hex()} != {vb.raw[:16].hex()})")
        if len(out) >= limit:
            break
    return out


def exercise(hive: winmigrate.Hive, *, check: bool = True) -> int:
    """Touch everything a reader can: every key's metadata and every value's data. Returns
    the number of items read. Only ``WinmigrateError`` may escape."""
    n = 0
    for key in hive.walk():
        n += 1
        _ = (key.name, key.path, key.class_name, key.last_written, key.flags,
             key.subkey_count, key.value_count)
        sd = key.security
        if sd is not None:
            sd.to_sddl()
        for value in key.values():
            n += 1
            _ = (value.name, value.type, value.raw, value.data, value.size)
    if check:
        hive.check()
    return n


# Each parser's known losses, as a function that degrades winmigrate's (= hivex's) exact reading
# the same way; after it, the two must agree exactly. The bytes that decide each case are in
# docs/corpus.md.
def _c1_as_cp1252(name: str) -> str:
    # A "compressed" name stores Latin-1 code units; python-registry and libregf decode the bytes
    # 0x80-0x9F as Windows-1252 instead (yarp's CompHive: byte 0x9F is U+009F, not 'Ÿ').
    return "".join(bytes([ord(c)]).decode("cp1252", "replace") if 0x80 <= ord(c) <= 0x9F else c
                   for c in name)


def _libregf_name(name: str) -> str:
    # libregf cuts a name at its first NUL character (hivex's 'special': 'zero\0key').
    return _c1_as_cp1252(name.split("\0", 1)[0])


def _regipy_name(name: str) -> str:
    # regipy decodes compressed (Latin-1) names as UTF-8, replacing what is not valid UTF-8.
    if name.isascii() or max(name) > "\xff":
        return name
    return name.encode("latin-1").decode("utf-8", "replace")


def _degrade(dump, rename, drop_type=None):  # type: ignore[no-untyped-def]
    from tests.oracles import Dump, KeyEntry, ValueEntry

    keys = []
    for k in dump.keys:
        values = tuple(ValueEntry(rename(v.name), v.type, v.raw) for v in k.values
                       if v.type != drop_type)
        keys.append(KeyEntry(tuple(rename(p) for p in k.path), values))
    return Dump(rename(dump.root_name), keys)


LOSSES = {
    "python-registry": lambda d: _degrade(d, _c1_as_cp1252),
    "libregf": lambda d: _degrade(d, _libregf_name),
    "dissect.regf": lambda d: d,
    # regipy also skips every value of type 0x200000 ("unknown data type, research pending" in its
    # iter_values), e.g. i8042prt\Parameters\OverrideKeyboardType in regipy's SYSTEM_2; it does
    # not skip zero-length REG_NONE values, whatever the corpus notes say.
    "regipy": lambda d: _degrade(d, _regipy_name, drop_type=0x200000),
}


def assert_written_ok(hive: winmigrate.Hive, *, unreferenced: bool = True) -> None:
    """What every hive the writer produces in the tests must pass: ``check()`` with no problem
    and no note (and, unless ``unreferenced`` is false, no allocated cell left unreferenced),
    and ReactOS's load-time checks (hivecheck, :mod:`tests.oracles.cmlib`) where that tool can
    be built."""
    from tests.oracles.cmlib import hivecheck_exe, hivecheck_verdict

    report = hive.check()
    assert report.ok and not report.notes, report
    if unreferenced:
        assert report.unreferenced_cells == (), report.unreferenced_cells[:10]
    if hivecheck_exe() is not None:
        ok, why = hivecheck_verdict(hive)
        assert ok, f"hivecheck: {why}"
