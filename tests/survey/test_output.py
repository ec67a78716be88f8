"""Outputs: Parquet that pyarrow and DuckDB read with the documented schema, JSON Lines, and
resuming an interrupted survey without losing or repeating a hive."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.survey.tools import comparable
from winmigrate.errors import UsageError
from winmigrate.survey.batch import scan, survey
from winmigrate.survey.output import JsonLinesOutput, ParquetOutput
from winmigrate.survey.schema import FACTS_COLUMNS, KEYS_COLUMNS, NIC_FIELDS

REPO = Path(__file__).resolve().parents[2]
_DUCK = {"string": "VARCHAR", "int64": "BIGINT", "uint64": "UBIGINT", "float64": "DOUBLE",
         "bool": "BOOLEAN", "timestamp": "TIMESTAMP WITH TIME ZONE",
         "list<string>": "VARCHAR[]"}


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_parquet_facts_read_by_pyarrow_and_duckdb(survey_tree: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "facts.parquet"
    stats = survey([survey_tree], str(out), fmt="parquet", workers=2)
    assert stats.done == 21
    table = pq.read_table(out)
    assert table.schema.names == [c.name for c in FACTS_COLUMNS]
    assert table.schema.metadata[b"winmigrate.table"] == b"facts"
    assert str(table.schema.field("last_written").type) == "timestamp[us, tz=UTC]"
    nic = table.schema.field("nics").type.value_type
    assert [nic.field(i).name for i in range(nic.num_fields)] == [f.name for f in NIC_FIELDS]
    rows = table.to_pylist()
    serial = {comparable(dict(r.facts)) for r in scan([survey_tree], workers=1)  # type: ignore[arg-type]
              if r.facts is not None}
    assert {comparable(r) for r in rows} == serial  # Parquet gives back exactly the rows
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    glob = f"{out}/*.parquet"
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                             f"'{glob}')").fetchall())
    for column in FACTS_COLUMNS:
        if column.type in _DUCK:
            assert types[column.name] == _DUCK[column.type], column.name
    assert types["nics"].startswith("STRUCT(guid VARCHAR")
    found = con.execute(f"SELECT count(*), count(*) FILTER (WHERE xen_found) FROM '{glob}' "
                        "WHERE kind = 'SYSTEM'").fetchone()
    assert found == (6, 6)
    ips = con.execute(f"SELECT DISTINCT unnest(n.ipv4) FROM (SELECT unnest(nics) AS n FROM "
                      f"'{glob}') ORDER BY 1").fetchall()
    assert ("192.0.2.10/24",) in ips


def test_parquet_keys_and_jsonl_keys_agree(survey_tree: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    duckdb = pytest.importorskip("duckdb")
    loose = [survey_tree / "loose"]
    survey(loose, str(tmp_path / "k.parquet"), table="keys", fmt="parquet", workers=2)
    survey(loose, str(tmp_path / "k.jsonl"), table="keys", workers=2)
    table = pq.read_table(tmp_path / "k.parquet")
    assert table.schema.names == [c.name for c in KEYS_COLUMNS]
    assert str(table.schema.field("filetime").type) == "uint64"
    lines = _jsonl(tmp_path / "k.jsonl")
    assert table.num_rows == len(lines)
    con = duckdb.connect()
    got = con.execute(f"SELECT entry, count(*) FROM '{tmp_path}/k.parquet/*.parquet' "
                      "GROUP BY entry ORDER BY entry").fetchall()
    want: dict[str, int] = {}
    for row in lines:
        want[str(row["entry"])] = want.get(str(row["entry"]), 0) + 1
    assert got == sorted(want.items())
    first = con.execute(f"SELECT min(last_written) FROM '{tmp_path}/k.parquet/*.parquet' "
                        "WHERE entry = 'key'").fetchone()[0]
    assert first.year >= 1601


def test_jsonl_resume_after_an_interruption(survey_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "facts.jsonl"
    first = survey([survey_tree], str(out), workers=1)
    whole = out.read_bytes()
    lines = whole.splitlines(keepends=True)
    # interrupted: 8 rows written, the 9th cut short
    out.write_bytes(b"".join(lines[:8]) + lines[8][:50])
    again = survey([survey_tree], str(out), workers=2)
    assert again.skipped == 8 and again.done == first.done - 8
    assert sorted(comparable(r) for r in _jsonl(out)) == sorted(
        comparable(json.loads(x)) for x in lines)
    done = survey([survey_tree], str(out), workers=2)
    assert done.done == 0 and done.skipped == first.done


def test_jsonl_keys_resume_redoes_the_last_hive(survey_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "keys.jsonl"
    loose = [survey_tree / "loose"]
    survey(loose, str(out), table="keys", workers=1)
    rows = _jsonl(out)
    hives = list(dict.fromkeys(str(r["path"]) for r in rows))
    assert len(hives) == 6
    # interrupted in the middle of the third hive's rows
    keep = [r for r in rows if r["path"] in hives[:2]]
    third = [r for r in rows if r["path"] == hives[2]]
    partial = keep + third[:len(third) // 2]
    out.write_text("".join(json.dumps(r) + "\n" for r in partial), encoding="utf-8")
    again = survey(loose, str(out), table="keys", workers=2)
    assert again.skipped == 2 and again.done == 4
    assert sorted(map(comparable, _jsonl(out))) == sorted(map(comparable, rows))


def test_parquet_resume_and_leftovers(survey_tree: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "facts.parquet"
    survey([survey_tree / "loose"], str(out), fmt="parquet", workers=1)
    (out / ".part-x-00001.parquet.tmp").write_bytes(b"half a part")  # an interrupted part
    stats = survey([survey_tree], str(out), fmt="parquet", workers=2)
    assert stats.skipped == 6 and stats.done == 15
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]
    assert pq.read_table(out).num_rows == 21
    with pytest.raises(UsageError, match="holds parts of the facts table"):
        ParquetOutput(str(out), "keys")
    fresh = survey([survey_tree / "loose"], str(out), fmt="parquet", workers=1, resume=False)
    assert fresh.done == 6 and pq.read_table(out).num_rows == 6


def test_parquet_parts_close_between_hives(survey_tree: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = ParquetOutput(str(tmp_path / "p"), "facts", part_seconds=0)
    with out:
        for result in scan([survey_tree / "loose"], workers=1):
            out.write(result)
    parts = sorted((tmp_path / "p").iterdir())
    assert len(parts) == 6 and all(pq.read_table(p).num_rows == 1 for p in parts)


def test_jsonl_refuses_the_other_table(survey_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    survey([survey_tree / "loose" / "types.hiv"], str(out), workers=1)
    with pytest.raises(UsageError, match="holds the facts table, not keys"):
        JsonLinesOutput(str(out), "keys")
    (tmp_path / "y.jsonl").write_text("not json\n")
    with pytest.raises(UsageError, match="not JSON"):
        JsonLinesOutput(str(tmp_path / "y.jsonl"), "facts")


def test_a_changed_file_is_surveyed_again(tmp_path: Path) -> None:
    from tests.helpers import FIXTURES

    hive = tmp_path / "in" / "h.hiv"
    hive.parent.mkdir()
    hive.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    out = tmp_path / "out.jsonl"
    assert survey([hive.parent], str(out), workers=1).done == 1
    hive.write_bytes((FIXTURES / "types_1_4.hiv").read_bytes())
    again = survey([hive.parent], str(out), workers=1)
    assert again.done == 1 and again.skipped == 0
    assert len({r["sha256"] for r in _jsonl(out)}) == 2


def test_the_schema_is_documented() -> None:
    """docs/scan.md lists every column of both tables and every NIC field."""
    text = (REPO / "docs" / "scan.md").read_text(encoding="utf-8")
    for column in (*FACTS_COLUMNS, *KEYS_COLUMNS, *NIC_FIELDS):
        assert f"| `{column.name}` | `{column.type}` |" in text, column.name
