"""``winmigrate scan`` as a user runs it: rows on stdout or in -o, progress and the summary on
stderr only, usage errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_tools.util import one_error_line, run


def test_facts_on_stdout(survey_tree: Path) -> None:
    r = run("scan", survey_tree / "loose", "--workers", "2")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(Path(str(row["path"])).name for row in rows) == [
        "SYSTEM", "broken.hiv", "many.dat", "orphan.LOG1", "software", "types.hiv"]
    assert "\r" not in r.stderr and "\x1b" not in r.stderr
    assert r.stderr.startswith("winmigrate: scanned 6 hives in ")
    assert "1 unreadable, 0 already there" in r.stderr


def test_keys_to_a_file_with_progress(survey_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "keys.jsonl"
    r = run("scan", survey_tree / "loose" / "types.hiv", "--keys", "--max-data", "8", "-o", out,
            "--progress", "--workers", "1")
    assert r.returncode == 0 and r.stdout == ""
    assert "scan: 1/1 hives, " in r.stderr and "(0 unreadable, 0 already done)" in r.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    values = [row for row in rows if row["entry"] == "value"]
    assert values and all(not row["truncated"] or len(str(row["data"])) == 16
                          for row in values)
    assert any(row["truncated"] for row in values)
    two = [survey_tree / "loose" / "types.hiv", survey_tree / "loose" / "many.dat"]
    # the last hive of a keys file may have been cut short: a resumed run does it again
    first = run("scan", *two, "--keys", "-o", out, "--max-data", "8")
    assert "scanned 2 hives" in first.stderr and "0 already there" in first.stderr
    again = run("scan", *two, "--keys", "-o", out, "--max-data", "8")
    assert "scanned 1 hive, " in again.stderr and "1 already there" in again.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines))
    fresh = run("scan", two[0], "--keys", "-o", out, "--overwrite", "--max-data", "8")
    assert "scanned 1 hive, " in fresh.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(rows)


def test_parquet_by_name_and_a_local_dask_cluster(survey_tree: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pytest.importorskip("distributed")
    out = tmp_path / "survey.parquet"
    r = run("scan", survey_tree / "guests" / "win10", "-o", out, "--scheduler", "local",
            "--workers", "2", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "on Dask at local, 2 worker thread(s)" in r.stderr
    table = pq.read_table(out)
    assert sorted(table.column("kind").to_pylist()) == ["NTUSER", "SOFTWARE", "SYSTEM"]


@pytest.mark.parametrize(("args", "message"), [
    (["/no/such/folder"], "no such file or folder: /no/such/folder"),
    (["{tree}", "--format", "parquet"], "Parquet output needs a folder"),
    (["{tree}", "--max-data", "5"], "--max-data applies to --keys"),
    (["{tree}", "--workers", "0"], "--workers must be at least 1"),
])
def test_usage_errors(survey_tree: Path, args: list[str], message: str) -> None:
    r = run("scan", *(a.format(tree=survey_tree / "loose") for a in args))
    assert r.returncode == 2 and r.stdout == ""
    assert message in one_error_line(r)
