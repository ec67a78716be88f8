"""Fixtures every test folder shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import require_corpus


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The unpacked shared corpus; the test is skipped when ``../shared`` is absent."""
    return require_corpus()
