"""The same survey in this process, on a local process pool and on a Dask LocalCluster gives
the same rows (in another order); a dying worker costs one row, not the batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.survey.tools import comparable, die_on_three, fail_on_four
from winmigrate.errors import UsageError
from winmigrate.survey.batch import ScanStats, scan
from winmigrate.survey.keyrows import decompress_json
from winmigrate.survey.runners import (
    DaskRunner,
    ProcessRunner,
    SerialRunner,
    WorkerDied,
    make_runner,
)


def _facts(results: Any) -> set[str]:
    rows = set()
    for result in results:
        assert result.facts is not None and not result.skipped
        rows.add(comparable(dict(result.facts)))
    return rows


@pytest.fixture(scope="module")
def serial_facts(survey_tree: Path) -> set[str]:
    stats = ScanStats()
    rows = _facts(scan([survey_tree], workers=1, stats=stats))
    assert stats.found == stats.done == len(rows) == 21
    assert stats.errors == 1 and stats.runner == "this process"  # broken.hiv
    return rows


def test_process_pool_gives_the_same_facts(survey_tree: Path, serial_facts: set[str]) -> None:
    stats = ScanStats()
    assert _facts(scan([survey_tree], workers=2, window=3, stats=stats)) == serial_facts
    assert stats.runner == "2 local process(es)"


def test_dask_gives_the_same_facts(survey_tree: Path, serial_facts: set[str],
                                   dask_client: Any) -> None:
    stats = ScanStats()
    assert _facts(scan([survey_tree], client=dask_client, stats=stats)) == serial_facts
    assert stats.runner.startswith("Dask at ")
    assert dask_client.status == "running"  # a client given by the caller stays open


def test_the_cli_on_a_running_cluster(survey_tree: Path, serial_facts: set[str],
                                      dask_client: Any) -> None:
    """``winmigrate scan --scheduler tcp://...``: the command connects to a cluster that is
    already running (this module's LocalCluster), as it would to a real one."""
    from tests.cli_tools.util import run

    address = dask_client.scheduler.address
    assert address.startswith("tcp://")
    r = run("scan", survey_tree, "--scheduler", address, "--no-progress", timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"on Dask at {address}, 2 worker thread(s)" in r.stderr
    fields = ("path", "sha256", "kind", "error", "problem_count", "windows_version",
              "architecture", "convert_ok", "convert_blockers", "nics")

    def brief(row: dict[str, Any]) -> str:
        return json.dumps([row[f] for f in fields], sort_keys=True)

    got = {brief(json.loads(line)) for line in r.stdout.splitlines()}
    assert got == {brief(json.loads(row)) for row in serial_facts}
    assert dask_client.status == "running"


def _keys(results: Any) -> set[str]:
    rows = set()
    for result in results:
        assert result.keys
        for line in b"".join(decompress_json(result.keys)).splitlines():
            rows.add(json.dumps(json.loads(line), sort_keys=True))
    return rows


def test_keys_are_the_same_on_every_runner(survey_tree: Path, dask_client: Any) -> None:
    loose = [survey_tree / "loose"]
    serial = _keys(scan(loose, table="keys", workers=1))
    assert len(serial) > 1000
    assert _keys(scan(loose, table="keys", workers=2)) == serial
    assert _keys(scan(loose, table="keys", client=dask_client)) == serial


def test_a_dying_worker_costs_its_own_item_only() -> None:
    runner: ProcessRunner[int, int] = ProcessRunner(2)
    try:
        out = {item: (result, error) for item, result, error in
               runner.run(die_on_three, range(8), window=4)}
        assert set(out) == set(range(8))
        assert isinstance(out[3][1], WorkerDied) and out[3][0] is None
        assert all(out[i] == (2 * i, None) for i in range(8) if i != 3)
        # the pool was replaced: the runner goes on working
        assert sorted(r for _, r, _ in runner.run(die_on_three, [1, 2])) == [2, 4]  # type: ignore[type-var]
    finally:
        runner.close()


@pytest.mark.parametrize("runner", ["serial", "pool"])
def test_a_failing_task_is_its_items_error(runner: str) -> None:
    r: SerialRunner[int, int] | ProcessRunner[int, int] = \
        SerialRunner() if runner == "serial" else ProcessRunner(2)
    try:
        out = {item: (result, error) for item, result, error in r.run(fail_on_four, range(6))}
    finally:
        r.close()
    assert isinstance(out[4][1], ValueError) and out[5] == (10, None)


def test_dask_task_errors_and_window(dask_client: Any) -> None:
    runner: DaskRunner[int, int] = DaskRunner(dask_client)
    out = {i: (r, e) for i, r, e in runner.run(fail_on_four, range(20), window=3)}
    assert isinstance(out[4][1], ValueError) and out[19] == (38, None)
    runner.close()
    assert dask_client.status == "running"


def test_lazy_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner pulls items only as the window frees: a survey of millions of files never
    holds their list."""
    pulled = []

    def items() -> Any:
        for i in range(100):
            pulled.append(i)
            yield i

    runner: ProcessRunner[int, int] = ProcessRunner(2)
    try:
        stream = runner.run(fail_on_four, items(), window=5)
        next(stream)
        assert len(pulled) <= 6
        assert len(list(stream)) == 99
    finally:
        runner.close()


def test_make_runner() -> None:
    assert isinstance(make_runner(1), SerialRunner)
    assert isinstance(make_runner(3), ProcessRunner) and make_runner(3).workers == 3
    with pytest.raises(UsageError, match="at least 1"):
        make_runner(0)


def test_missing_extras_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(UsageError, match=r"winmigrate\[scan\]"):
        make_runner(scheduler="tcp://127.0.0.1:1")
    from winmigrate.survey.output import open_output

    with pytest.raises(UsageError, match=r"pip install 'winmigrate\[scan\]'"):
        open_output("/tmp/x.parquet", "facts", "parquet")
