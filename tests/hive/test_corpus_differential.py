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
