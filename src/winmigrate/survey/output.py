"""Where the rows go: a JSON Lines file (or standard output) or a Parquet dataset folder, each
able to say which hives it already holds, so that an interrupted survey resumes where it
stopped.

**JSON Lines** (no dependency): one UTF-8 JSON object per line, every column present. Resuming
reads the file back: a last line cut short by the interruption is dropped; in the keys table,
whose rows of one hive are written as one block, the last hive's block is dropped too (it may be
incomplete) and surveyed again. Rows are flushed after each hive.

**Parquet** (``pyarrow``, the ``scan`` extra): a folder of ``part-*.parquet`` files, zstd
compressed -- the layout DuckDB (``'out/*.parquet'``), pandas, Spark and Dask read as one table.
A part is written under a hidden temporary name (``.part-*.tmp``, which those readers skip) and
renamed when complete: after ~60 seconds or 2,000 facts rows, or, for keys, ~60 seconds or
5,000,000 rows -- and always between two hives, so a part holds whole hives. An interruption
loses at most the part being written; resuming reads the ``path`` and ``sha256`` columns of the
complete parts and deletes leftover temporary parts.

Either way, a hive is "already there" when a row has its path and the SHA-256 the file still
has; a file that changed since is surveyed again (its old rows stay).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

from ..errors import UsageError
from .arrow import require_pyarrow, schema_for
from .keyrows import decompress_json
from .schema import SCHEMA_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any, BinaryIO

    from .worker import HiveResult

__all__ = ["JsonLinesOutput", "Output", "ParquetOutput", "open_output"]

_HEAD = re.compile(rb'^\{"path":("(?:[^"\\]|\\.)*"),"sha256":(null|"[0-9a-f]{64}")')


class Output:
    """Receives results (``write``) for one table; ``known()`` says what it already holds."""

    table = "facts"
    where = ""

    def known(self) -> dict[str, set[str]]:
        """path -> SHA-256 digests the output already has rows for."""
        return {}

    def write(self, result: HiveResult) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_default(obj: object) -> object:
    isoformat = getattr(obj, "isoformat", None)
    if callable(isoformat):
        return _iso(obj)  # type: ignore[arg-type]
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class JsonLinesOutput(Output):
    """JSON Lines to ``path`` (appending after what is there) or to standard output (``None``)."""

    def __init__(self, path: str | None, table: str, *, resume: bool = True) -> None:
        self.table = table
        self.where = path or "standard output"
        self._known: dict[str, set[str]] = {}
        self._stream: BinaryIO
        if path is None:
            self._stream = sys.stdout.buffer
            self._own = False
            return
        if resume and os.path.exists(path):
            self._read_back(path)
        self._stream = open(path, "ab" if resume else "wb")  # noqa: SIM115
        self._own = True

    def _read_back(self, path: str) -> None:
        keep = 0  # bytes to keep: whole lines (keys: whole blocks of one hive)
        block: tuple[str, str | None] | None = None
        block_start = 0
        offset = 0
        with open(path, "rb") as f:
            for line in f:
                end = offset + len(line)
                if not line.endswith(b"\n"):
                    break  # cut short by the interruption
                entry = self._identify(line, path)
                if entry is not None:
                    if self.table == "keys" and entry != block:
                        block, block_start = entry, offset
                    self._known.setdefault(entry[0], set()).add(entry[1] or "")
                keep = offset = end
        if self.table == "keys" and block is not None:
            keep = block_start  # the last hive's rows may be incomplete: survey it again
            digests = self._known.get(block[0], set())
            digests.discard(block[1] or "")
        if keep != os.path.getsize(path):
            with open(path, "r+b") as f:
                f.truncate(keep)

    def _identify(self, line: bytes, path: str) -> tuple[str, str | None] | None:
        """(path, sha256) of a row, checking that it belongs to this table. Rows this module
        wrote start with those two columns; anything else is parsed whole."""
        m = _HEAD.match(line)
        if m is not None:
            found = "keys" if line[m.end():m.end() + 9] == b',"entry":' else "facts"
            if found != self.table:
                self._mismatch(path, found)
            sha = None if m.group(2) == b"null" else m.group(2)[1:-1].decode()
            return json.loads(m.group(1)), sha
        if not line.strip():
            return None
        try:
            row = json.loads(line)
        except ValueError:
            raise UsageError(f"{path}: a line is not JSON, so this is not an output of this "
                             "command: give another output, or --overwrite") from None
        if not isinstance(row, dict) or "path" not in row or "sha256" not in row:
            raise UsageError(f"{path} holds rows without path and sha256: give another "
                             "output, or --overwrite")
        if ("entry" in row) != (self.table == "keys"):
            self._mismatch(path, "keys" if "entry" in row else "facts")
        return str(row["path"]), row["sha256"]

    def _mismatch(self, path: str, found: str) -> None:
        raise UsageError(f"{path} holds the {found} table, not {self.table}: give another "
                         "output, or --overwrite")

    def known(self) -> dict[str, set[str]]:
        return self._known

    def write(self, result: HiveResult) -> None:
        if result.skipped:
            return
        if result.facts is not None:
            line = json.dumps(result.facts, ensure_ascii=False, separators=(",", ":"),
                              default=_json_default)
            self._stream.write(line.encode("utf-8") + b"\n")
        elif result.keys:
            for piece in decompress_json(result.keys):
                self._stream.write(piece)
        self._stream.flush()

    def close(self) -> None:
        if self._own and not self._stream.closed:
            self._stream.close()
        elif not self._own:
            self._stream.flush()


class ParquetOutput(Output):
    """A Parquet dataset folder (see the module docstring)."""

    def __init__(self, folder: str, table: str, *, resume: bool = True,
                 part_seconds: float = 60.0, facts_rows: int = 2000,
                 keys_rows: int = 5_000_000, row_group_rows: int = 65536) -> None:
        self._pa: Any = require_pyarrow()
        self._pq: Any = self._pa.parquet
        self.table = table
        self.where = folder
        self.schema: Any = schema_for(table)
        self._part_seconds = part_seconds
        self._part_rows = facts_rows if table == "facts" else keys_rows
        self._group_rows = facts_rows if table == "facts" else row_group_rows
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UsageError(f"{folder} is a file: Parquet output is a folder of part files")
        os.makedirs(folder, exist_ok=True)
        self._known: dict[str, set[str]] = {}
        if resume:
            self._read_back()
        else:
            for name in self._parts():
                os.unlink(os.path.join(folder, name))
        import uuid

        # unique to this run: parts of two runs never collide, and sort by time
        self._stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{uuid.uuid4().hex[:8]}"
        self._count = 0
        self._writer: Any = None
        self._tmp = self._name = ""
        self._opened = 0.0
        self._rows_in_part = 0
        self._buffer: list[Any] = []  # facts rows, or keys record batches
        self._buffered = 0

    def _parts(self) -> list[str]:
        return sorted(n for n in os.listdir(self.where)
                      if n.startswith("part-") and n.endswith(".parquet"))

    def _read_back(self) -> None:
        for name in os.listdir(self.where):
            if name.startswith(".part-") and name.endswith(".tmp"):
                os.unlink(os.path.join(self.where, name))  # a part an interruption left
        for name in self._parts():
            path = os.path.join(self.where, name)
            pf = self._pq.ParquetFile(path)
            meta = pf.schema_arrow.metadata or {}
            table = meta.get(b"winmigrate.table", b"?").decode()
            version = meta.get(b"winmigrate.schema", b"?").decode()
            if table != self.table or version != str(SCHEMA_VERSION):
                raise UsageError(f"{self.where} holds parts of the {table} table (schema "
                                 f"{version}), not {self.table} (schema {SCHEMA_VERSION}): "
                                 "give another output folder, or --overwrite")
            for batch in pf.iter_batches(columns=["path", "sha256"], batch_size=65536):
                paths = batch.column(0).to_pylist()
                digests = batch.column(1).to_pylist()
                for p, d in zip(paths, digests):
                    self._known.setdefault(p, set()).add(d or "")

    def known(self) -> dict[str, set[str]]:
        return self._known

    def _open_part(self) -> None:
        self._count += 1
        self._name = f"part-{self._stamp}-{self._count:05d}.parquet"
        self._tmp = os.path.join(self.where, f".{self._name}.tmp")
        self._writer = self._pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        self._opened = time.monotonic()
        self._rows_in_part = 0

    def _flush_buffer(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._open_part()
        if self.table == "facts":
            data = self._pa.Table.from_pylist(self._buffer, schema=self.schema)
        else:
            data = self._pa.Table.from_batches(self._buffer, schema=self.schema)
        self._writer.write_table(data)
        self._rows_in_part += self._buffered
        self._buffer = []
        self._buffered = 0

    def _close_part(self) -> None:
        self._flush_buffer()
        if self._writer is not None:
            self._writer.close()
            os.replace(self._tmp, os.path.join(self.where, self._name))
            self._writer = None

    def write(self, result: HiveResult) -> None:
        if result.skipped:
            return
        if self._writer is None:
            self._open_part()  # the clock of a part starts with its first hive
        if result.facts is not None:
            self._buffer.append(result.facts)
            self._buffered += 1
        elif result.keys:
            for batch in self._pa.ipc.open_stream(self._pa.py_buffer(result.keys)):
                self._buffer.append(batch)
                self._buffered += batch.num_rows
                if self._buffered >= self._group_rows:
                    self._flush_buffer()
        if self._buffered >= self._group_rows:
            self._flush_buffer()
        if (self._rows_in_part + self._buffered >= self._part_rows or
                time.monotonic() - self._opened >= self._part_seconds):
            self._close_part()

    def close(self) -> None:
        self._close_part()


def open_output(path: str | None, table: str, fmt: str, *, resume: bool = True) -> Output:
    """The output for ``path`` (``None`` or ``-``: standard output, JSON Lines only)."""
    if path in (None, "-"):
        if fmt != "jsonl":
            raise UsageError("Parquet output needs a folder: give -o FOLDER")
        return JsonLinesOutput(None, table)
    assert path is not None
    if fmt == "parquet":
        return ParquetOutput(path, table, resume=resume)
    if os.path.isdir(path):
        raise UsageError(f"{path} is a folder: JSON Lines output is one file")
    return JsonLinesOutput(path, table, resume=resume)
