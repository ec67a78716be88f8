"""Every real hive of the corpus, read by winmigrate and by independent parsers.

hivex (C, Debian's python3-hivex, whose value_value() gives exact raw bytes) is the reference:
for every primary hive it reads completely, winmigrate's logical content -- every key path in
stored order, every value's name, type and raw bytes -- must be identical. The other parsers are
second opinions with known losses (tests/oracles documents them); they are compared on names,
types and the raw bytes they return faithfully.
"""

from __future__ import annotations

import os

import pytest

import winmigrate
from tests.helpers import diff_dumps, dump_file, hivex_readable_hives, require_corpus
from tests.oracles import (
    OracleError,
    dissect_available,
    dissect_dump,
    hivex_available,
    hivex_dump,
    libregf_available,
    libregf_dump,
    python_registry_available,
    python_registry_dump,
    regipy_available,
    regipy_dump,
)

pytestmark = pytest.mark.corpus

HIVEX_READABLE = hivex_readable_hives()


@pytest.mark.oracle
@pytest.mark.parametrize("rel", HIVEX_READABLE or ["(no corpus)"])
def test_same_content_as_hivex(rel: str) -> None:
    corpus = require_corpus()
    if not hivex_available():
        pytest.skip("hivex (python3-hivex for /usr/bin/python3) is not installed")
    theirs = hivex_dump(corpus / rel)
    mine = dump_file(corpus / rel, logs="ignore")
    assert diff_dumps(mine, theirs) == []


# Parsers and the size up to which they are compared in the default run (regipy is very slow).
SECOND_OPINIONS = {
    "python-registry": (python_registry_available, python_registry_dump, 20 << 20),
    "libregf": (libregf_available, libregf_dump, 20 << 20),
    "dissect.regf": (dissect_available, dissect_dump, 4 << 20),
    "regipy": (regipy_available, regipy_dump, 1 << 20),
}

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


@pytest.mark.oracle
@pytest.mark.parametrize("parser", sorted(SECOND_OPINIONS))
def test_second_opinions(parser: str) -> None:
    corpus = require_corpus()
    available, dump, max_size = SECOND_OPINIONS[parser]
    if not available():
        pytest.skip(f"{parser} is not installed")
    disagreements = {}
    compared = 0
    for rel in HIVEX_READABLE:
        path = corpus / rel
        if os.path.getsize(path) > max_size:
            continue
        try:
            theirs = dump(path)
        except OracleError:
            continue  # that parser cannot read it; hivex and winmigrate can
        mine = LOSSES[parser](dump_file(path, logs="ignore"))
        compared += 1
        problems = diff_dumps(mine, theirs)
        if problems:
            disagreements[rel] = problems
    assert compared > 0
    assert disagreements == {}


def test_unreadable_by_hivex_but_handled() -> None:
    """Hives hivex refuses: each is read (and why that is right) or refused with the reason."""
    corpus = require_corpus()
    from tests.oracles import corpus_parsers

    outcomes = {}
    for row in corpus_parsers():
        rel = row["relpath"]
        if rel in HIVEX_READABLE:
            continue
        try:
            with winmigrate.open(corpus / rel, logs="ignore") as hive:
                keys = sum(1 for _ in hive.walk())
            outcomes[rel] = f"read {keys} keys"
        except winmigrate.WinmigrateError as e:
            outcomes[rel] = f"refused: {type(e).__name__}"
    assert outcomes  # every outcome is a read or a WinmigrateError (nothing else escaped)
