"""One Wine prefix for the whole test session (Wine's first start takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.wine import Wine, mingw, wine_loader, wineserver


@pytest.fixture(scope="session")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    if wine_loader() is None or wineserver() is None:
        pytest.skip("Wine is not installed (apt-get install wine wine64): the agent's service "
                    "tests need it")
    if mingw() is None:
        pytest.skip("mingw-w64 is not installed (apt-get install gcc-mingw-w64): the stub "
                    "programs are built with it")
    prefix: Path = tmp_path_factory.mktemp("wineprefix")
    host = Wine(prefix)
    host.init()
    host.build_stubs()
    yield host
    host.kill()
