"""Fixtures for the log tests: yarp's test hives in the corpus (skipped cleanly when ../shared
is absent; ``corpus`` itself is in tests/conftest.py) and a small real hive to build logs for."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate

YARP = "msuhanov_yarp/hives_for_tests"


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
