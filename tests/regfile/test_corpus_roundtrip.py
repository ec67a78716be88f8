"""Every corpus hive winmigrate reads: export -> import into an empty hive gives the same logical
hive (every key, and every value's name, type and raw bytes, in stored order), and export ->
import -> export gives the same text. Hives under 512 KiB run by default (102 hives, a few
seconds), the others with -m slow (50 hives, 1.5 to 3 minutes).

hivexregedit (Debian's libwin-hivex-perl) is an independent oracle when installed: its export of
a corpus hive, imported by winmigrate, equals winmigrate's own reading; and winmigrate's export,
merged by ``hivexregedit --merge`` into an empty hive, equals the original.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import assert_written_ok, diff_dumps, dump_hive, require_corpus
from tests.oracles import Dump, corpus_dir, corpus_parsers
from winmigrate.regf.names import collation_key
from winmigrate.regfile import ExportReport, RegFileError, apply, dumps, export_reg, parse

pytestmark = pytest.mark.corpus

DEFAULT_MAX = 512 << 10  # files of 512 KiB and more run with -m slow
PREFIX = "HKEY_LOCAL_MACHINE\\ROUNDTRIP"

# Hives whose round trip cannot be exact, and why. Everything else must be.
NOT_EXACT = {
    # Names no .reg file can hold: export skips them (with a warning) and the rest is exact.
    "libguestfs_hivex/images/special": "key 'zero\\x00key' (a NUL in the name) is skipped",
    "msuhanov_yarp/hives_for_tests/BogusKeyNamesHive":
        "keys 'testnu\\x00l' (NUL) and 'testnew\\r\\nne' (CR LF) are skipped",
    # Damaged hives: the content survives, the damage does not.
    "msuhanov_yarp/hives_for_tests/DuplicateSubkeysHive":
        "two sibling keys share a name; an import merges them into one",
    "msuhanov_yarp/hives_for_tests/WrongOrderHive":
        "subkey lists out of order; an import stores them sorted (same keys, other order)",
}


def _primaries() -> list[object]:
    folder = corpus_dir()
    if folder is None:
        return [pytest.param("(no corpus)", marks=pytest.mark.skip("no corpus"))]
    out: list[object] = []
    for row in corpus_parsers():
        rel = row["relpath"]
        try:
            size = os.path.getsize(folder / rel)
        except OSError:
            continue
        marks = [pytest.mark.slow] if size >= DEFAULT_MAX else []
        out.append(pytest.param(rel, marks=marks, id=rel))
    return out


def _read(path: Path) -> winmigrate.Hive:
    """The hive if winmigrate reads all of it strictly (every value's data too), else skip."""
    try:
        hive = winmigrate.open(path, logs="ignore")
        for key in hive.walk():
            for value in key.values():
                _ = value.raw
    except winmigrate.WinmigrateError as e:
        pytest.skip(f"winmigrate does not read it: {e}")
    return hive


def _empty_like(hive: winmigrate.Hive) -> winmigrate.Hive:
    version = hive.version if hive.version >= (1, 3) else (1, 3)
    return winmigrate.create(hive.root.name, version)


def logical(dump: Dump, report: ExportReport | None = None
            ) -> dict[tuple[str, ...], dict[str, tuple[str, int, bytes | None]]]:
    """Keys and values by (collated) name, as an import merges them; without what the export
    skipped."""
    skipped_keys = set()
    skipped_values = set()
    if report is not None:
        for s in report.skipped:
            path = tuple(collation_key(p) for p in s.path.split("\\"))
            if s.name is None:
                skipped_keys.add(path)
            else:
                skipped_values.add((path, collation_key(s.name)))
    out: dict[tuple[str, ...], dict[str, tuple[str, int, bytes | None]]] = {}
    for key in dump.keys:
        path = tuple(collation_key(p) for p in key.path)
        if any(path[:i] in skipped_keys for i in range(1, len(path) + 1)):
            continue
        values = out.setdefault(path, {})
        for v in key.values:
            if (path, collation_key(v.name)) not in skipped_values:
                values[collation_key(v.name)] = (v.name, v.type, v.raw)
    return out


@pytest.mark.parametrize("rel", _primaries())
def test_export_import_round_trip(rel: str) -> None:
    source = _read(require_corpus() / rel)
    out = io.BytesIO()
    report = export_reg(source, out, prefix=PREFIX)
    text = out.getvalue()
    copy = _empty_like(source)
    apply(copy, parse(text))
    mine, theirs = dump_hive(copy), dump_hive(source)
    assert logical(mine) == logical(theirs, report)
    again = dumps(copy, prefix=PREFIX)
    if rel in NOT_EXACT:
        assert not report.exact or diff_dumps(mine, theirs)  # the documented loss is real
        assert dumps(_reimport(again, source), prefix=PREFIX) == again  # and then stable
        return
    assert report.exact
    assert diff_dumps(mine, theirs) == []  # same order too
    assert again == text
    assert_written_ok(copy, unreferenced=False)


def _reimport(text: bytes, like: winmigrate.Hive) -> winmigrate.Hive:
    hive = _empty_like(like)
    apply(hive, parse(text))
    return hive


def test_round_trip_exceptions_are_real() -> None:
    """The documented exceptions still exist in the corpus (a stale list would hide bugs)."""
    folder = require_corpus()
    for rel in NOT_EXACT:
        assert (folder / rel).is_file(), rel


# -- hivexregedit as an oracle -------------------------------------------------------------------

HIVEXREGEDIT = shutil.which("hivexregedit")
needs_hivexregedit = pytest.mark.skipif(
    HIVEXREGEDIT is None,
    reason="hivexregedit is not installed (Debian: apt-get install libwin-hivex-perl)")

# Hives hivex can rebuild: no value over 16,344 bytes (hivex writes no big-data records) and
# only ASCII in string data (hivexregedit --merge reads the file as bytes).
HIVEX_MERGEABLE = ["kupiakos_qthivex/hives/SYSTEM",
                   "log2timeline_plaso/test_data/NTUSER-RunTests.DAT"]
HIVEX_EXPORTED = [*HIVEX_MERGEABLE, "msuhanov_yarp/hives_for_tests/WrongOrderHive",
                  pytest.param("mkorman90_regipy/regipy_tests/data/SYSTEM",
                               marks=pytest.mark.slow)]


def _sorted_values(dump: Dump) -> list[tuple[tuple[str, ...], list[tuple[str, int, bytes | None]]]]:
    # hivexregedit sorts values by name and keys with Perl's cmp; compare without order.
    return sorted((k.path, sorted((v.name, v.type, v.raw) for v in k.values)) for k in dump.keys)


def _hivex_export(path: Path) -> bytes:
    assert HIVEXREGEDIT is not None
    return subprocess.run([HIVEXREGEDIT, "--export", "--prefix", "HKEY_LOCAL_MACHINE\\SYSTEM",
                           str(path), "\\"], capture_output=True, timeout=300, check=True).stdout


@pytest.mark.oracle
@needs_hivexregedit
@pytest.mark.parametrize("rel", HIVEX_EXPORTED)
def test_hivexregedit_export_imports_as_winmigrate_reads(rel: str) -> None:
    path = require_corpus() / rel
    source = _read(path)
    copy = _empty_like(source)
    apply(copy, parse(_hivex_export(path)))
    assert _sorted_values(dump_hive(copy)) == _sorted_values(dump_hive(source))


@pytest.mark.oracle
@needs_hivexregedit
def test_hivexregedit_export_with_latin1_and_utf8_lines() -> None:
    """hivex's 'special' hive: names printed as Latin-1 bytes on some lines and UTF-8 on
    others read back right; the key whose name holds a NUL is refused, naming its line."""
    path = require_corpus() / "libguestfs_hivex/images/special"
    source = _read(path)
    text = _hivex_export(path)
    copy = _empty_like(source)
    with pytest.raises(RegFileError) as info:
        apply(copy, parse(text))
    assert info.value.line == 11 and "zero\\x00key" in str(info.value)
    keep = text[:text.index(b"[HKEY_LOCAL_MACHINE\\SYSTEM\\zero")]
    copy = _empty_like(source)
    apply(copy, parse(keep))
    expected = Dump(source.root.name, [k for k in dump_hive(source).keys
                                       if "\0" not in "".join(k.path)])
    assert _sorted_values(dump_hive(copy)) == _sorted_values(expected)


@pytest.mark.oracle
@needs_hivexregedit
@pytest.mark.parametrize("rel", HIVEX_MERGEABLE)
def test_hivexregedit_merges_winmigrate_export(rel: str, tmp_path: Path) -> None:
    source = _read(require_corpus() / rel)
    text = dumps(source, prefix="HKEY_LOCAL_MACHINE\\T").decode("utf-16")
    reg = tmp_path / "export.reg"
    reg.write_bytes(text.encode("ascii"))  # hivexregedit reads bytes; these hives are ASCII
    target = tmp_path / "empty.hiv"
    _empty_like(source).save(target)
    assert HIVEXREGEDIT is not None
    subprocess.run([HIVEXREGEDIT, "--merge", "--prefix", "HKEY_LOCAL_MACHINE\\T", "--encoding",
                    "UTF-16LE", str(target), str(reg)], capture_output=True, timeout=300,
                   check=True)
    with winmigrate.open(target) as merged:
        assert _sorted_values(dump_hive(merged)) == _sorted_values(dump_hive(source))
