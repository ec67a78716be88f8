"""Fixtures for the migration tests. Corpus-derived Xen guests are built once per session
(into pytest's temporary folder) and skipped cleanly without the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.migration.tools import fixture_script


@pytest.fixture(scope="session")
def guests_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xen-guests")


def _guest(kind: str, corpus: Path, guests_dir: Path) -> Path:
    script = fixture_script()
    rel = script.CORPUS_GUESTS[kind][0]
    if not (corpus / rel).is_file():
        pytest.skip(f"{rel} is not in the corpus")
    target = guests_dir / f"SYSTEM_{kind}"
    if not target.is_file():
        script.build_corpus_guest(kind, corpus, guests_dir)
    return target


@pytest.fixture(scope="session")
def win7_guest(corpus: Path, guests_dir: Path) -> Path:
    return _guest("win7", corpus, guests_dir)


@pytest.fixture(scope="session")
def win81_guest(corpus: Path, guests_dir: Path) -> Path:
    return _guest("win81", corpus, guests_dir)


@pytest.fixture(scope="session")
def win10_guest(corpus: Path, guests_dir: Path) -> Path:
    return _guest("win10", corpus, guests_dir)
