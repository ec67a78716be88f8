"""Fixtures for the log tests: the corpus folder (skipped cleanly when ../shared is absent) and a
small real hive to build logs for."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate

REPO = Path(__file__).resolve().parents[2]
CORPUS_EXTRACT = REPO.parent / "shared" / "corpus" / "extract"
YARP = "msuhanov_yarp/hives_for_tests"


def _corpus() -> Path | None:
    if not CORPUS_EXTRACT.is_file():
        return None
    from tests.oracles import corpus_dir

    return corpus_dir()


@pytest.fixture(scope="session")
def corpus() -> Path:
    folder = _corpus()
    if folder is None:
        pytest.skip("the shared corpus (../shared/corpus/extract) is not available")
    return folder


@pytest.fixture(scope="session")
def yarp(corpus: Path) -> Path:
    folder = corpus / YARP
    if not folder.is_dir():
        pytest.skip("yarp's hives_for_tests are not in the corpus")
    return folder


def small_hive_bytes() -> bytes:
    """A clean hive made by winmigrate: base block + six 4 KiB bins with a few keys and values."""
    hive = winmigrate.create()
    for i in range(6):
        hive.root.create_key(f"k{i}").set_value("v", b"x" * 3000)
    return hive.to_bytes()


@pytest.fixture(scope="session")
def small_hive() -> bytes:
    return small_hive_bytes()
