"""Fixtures every test folder shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import require_corpus
from tests.oracles.cmlib import STATS, hivecheck_exe, hivecheck_ok, hivecheck_reason


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The unpacked shared corpus; the test is skipped when ``../shared`` is absent."""
    return require_corpus()


@pytest.fixture(scope="session")
def hivecheck() -> Callable[..., tuple[bool, str]]:
    """ReactOS's load-time checks (``../shared/tools/hivecheck``), built once per session:
    :func:`tests.oracles.cmlib.hivecheck_ok`. The test is skipped, with the reason, when the
    tool or a C compiler is missing."""
    if hivecheck_exe() is None:
        pytest.skip(hivecheck_reason())
    return hivecheck_ok


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if STATS["hives"]:
        terminalreporter.write_line(
            f"hivecheck: {STATS['hives']} hives checked, {STATS['bad']} refused, "
            f"{STATS['excused']} of those for a documented over-strictness of cmlib")
