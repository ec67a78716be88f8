"""Fixtures of the survey tests: the tree of guests and loose hives, and a Dask LocalCluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.survey.tools import build_survey_tree


@pytest.fixture(scope="session")
def survey_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_survey_tree(tmp_path_factory.mktemp("survey"))


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A client of a LocalCluster: two single-threaded worker processes, shared by the tests of
    a module (starting one costs a second or two) and stopped after it, so that its workers do
    not linger through the rest of the test run."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
