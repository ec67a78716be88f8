"""Every real hive of the corpus, read by winmigrate and by independent parsers.

hivex (C, Debian's python3-hivex, whose value_value() gives exact raw bytes) is the reference:
for every primary hive it reads completely, winmigrate's logical content -- every key path in
stored order, every value's name, type and raw bytes -- must be identical. The other parsers are
second opinions with known losses (tests/oracles documents them); they are compared on names,
types and the raw bytes they return faithfully.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import LOSSES, diff_dumps, dump_file, hivex_readable_hives, require_corpus
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
    "python-registry": (python_registry_available, python_registry_dump, 4 << 20),
    "libregf": (libregf_available, libregf_dump, 4 << 20),
    "dissect.regf": (dissect_available, dissect_dump, 1 << 20),
    "regipy": (regipy_available, regipy_dump, 1 << 20),
}

@pytest.mark.oracle
@pytest.mark.parametrize("parser", sorted(SECOND_OPINIONS))
def test_second_opinions(parser: str) -> None:
    """Hives up to a few MB in the default run (the parsers are slow); every size in the slow
    run below."""
    _second_opinion(parser, SECOND_OPINIONS[parser][2])


@pytest.mark.slow
@pytest.mark.oracle
@pytest.mark.parametrize("parser", sorted(SECOND_OPINIONS))
def test_second_opinions_on_every_hive(parser: str) -> None:
    _second_opinion(parser, 1 << 40)


def _second_opinion(parser: str, max_size: int) -> None:
    corpus = require_corpus()
    available, dump, _default_size = SECOND_OPINIONS[parser]
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


# What winmigrate makes of each hive hivex refuses: (strict read, tolerant read), each "keys/values"
# read or the error class. Where the other parsers read a hive, the counts agree with theirs
# (PARSERS.tsv); why each outcome is right is in docs/corpus.md.
REFUSED_BY_HIVEX = {
    "EricZimmerman_Registry/Registry.Test/Hives/SAMBadHBinHeader": ("68/73", "68/73"),
    "EricZimmerman_Registry/Registry.Test/Hives/SAN(OTHER)": ("68/73", "68/73"),
    "Velocidex_velociraptor/artifacts/testdata/files/Collection-WIN-E5K9RC5GU23-2021-11-21T18_05_56"
    "-08_00.zip.d/uploads/auto/C%3A/Users/Administrator/ntuser.dat": ("HiveFormatError", "106/280"),
    "dfir-dd_dfir-toolkit/tests/data/hivescan/NewDirtyHive1/NewDirtyHive.clean1": ("5/1", "5/1"),
    "libyal_libregf/tests/data/hive_bins_list.1": ("HiveFormatError", "1/0"),
    "log2timeline_plaso/test_data/regf/corrupt_sub_key_list.hiv": ("HiveFormatError", "100/99"),
    "mkorman90_regipy/regipy_tests/data/corrupted_system_hive": ("HiveFormatError", "1687/5625"),
    "msuhanov_yarp/hives_for_tests/BadBaseBlockHive/BadBaseBlockHive": ("5003/0", "5003/0"),
    "msuhanov_yarp/hives_for_tests/BadListHive": ("7/0", "6/0"),
    "msuhanov_yarp/hives_for_tests/BadSubkeyHive": ("7/0", "6/0"),
    "msuhanov_yarp/hives_for_tests/DeletedDataHiveTruncated": ("HiveFormatError", "2/0"),
    "msuhanov_yarp/hives_for_tests/EffectiveSizeHive": ("5003/0", "5003/0"),
    "msuhanov_yarp/hives_for_tests/GarbageHive": ("1/0", "1/0"),
    "msuhanov_yarp/hives_for_tests/System_Delta": ("586/820", "586/820"),
    "msuhanov_yarp/hives_for_tests/TruncatedDirtyHive": ("HiveFormatError", "2/0"),
    "msuhanov_yarp/hives_for_tests/TruncatedHive": ("HiveFormatError", "2/0"),
    "msuhanov_yarp/hives_for_tests/TruncatedNameHive": ("HiveFormatError", "2/0"),
    "msuhanov_yarp/hives_for_tests/TruncatedPairHive": ("4/0", "4/0"),
    "msuhanov_yarp/hives_for_tests/TruncatedPairHive2": ("6/5", "6/5"),
    "samba-team_samba/testdata/samba3/regfio_corrupt_hbin1.dat": ("HiveFormatError",
                                                                 "HiveFormatError"),
    "samba-team_samba/testdata/samba3/regfio_corrupt_lf_subkeys.dat": ("HiveFormatError", "1/0"),
}


def _outcome(path: Path, strict: bool) -> str:
    try:
        with winmigrate.open(path, logs="ignore", strict=strict) as hive:
            keys = values = 0
            for key in hive.walk():
                keys += 1
                values += len(key.values())
        return f"{keys}/{values}"
    except winmigrate.WinmigrateError as e:
        return type(e).__name__


def test_unreadable_by_hivex_but_handled() -> None:
    """Hives hivex refuses: each is read (the counts the other parsers agree on) or refused with
    a ``WinmigrateError``, strictly and tolerantly, exactly as docs/corpus.md explains."""
    corpus = require_corpus()
    from tests.oracles import corpus_parsers

    outcomes = {}
    for row in corpus_parsers():
        rel = row["relpath"]
        if rel in HIVEX_READABLE:
            continue
        outcomes[rel] = (_outcome(corpus / rel, True), _outcome(corpus / rel, False))
    assert outcomes == REFUSED_BY_HIVEX
