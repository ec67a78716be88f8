"""The keys table: one row per key, per value and per problem of a hive (``KeyRow``), encoded
as it is produced -- JSON Lines text or Arrow IPC record batches -- so that a worker holds one
hive's encoded rows, never a Python object per row.

How a hive is read: tolerantly (``strict=False``: a damaged hive gives every key and value that
can be read, and a ``problem`` row for each thing skipped) and with ``logs="auto"`` (a dirty hive
is replayed from its logs when they allow it; when they do not, a ``problem`` row says the rows
show the primary file as it is). Keys come depth-first in stored order, each followed by its
values.

How value data is shown (``data`` and ``data_format``):

- ``string``: REG_SZ, REG_EXPAND_SZ and REG_LINK, decoded from UTF-16LE without the terminating
  NUL -- when that is all the bytes hold;
- ``strings``: REG_MULTI_SZ, one string per line (``\\n``), without the terminators;
- ``integer``: REG_DWORD, REG_DWORD_BIG_ENDIAN and REG_QWORD of the right length, in decimal;
- ``hex``: everything else, and any string whose bytes say more than the text would (an odd
  length, a lone surrogate, data after a NUL -- a classic hiding place --, a newline inside a
  REG_MULTI_SZ string): the raw bytes in lower-case hex.

Data longer than ``max_data`` bytes (0: no limit) is cut to its first ``max_data`` bytes and
shown in hex, with ``truncated`` set; ``size`` is always the full length.
"""

from __future__ import annotations

import json
import zlib

from ..errors import WinmigrateError
from ..hive import Hive
from .arrow import keys_schema, require_pyarrow
from .schema import KEYS_COLUMNS, clean_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

__all__ = ["DEFAULT_MAX_DATA", "ArrowKeys", "JsonKeys", "KeyEncoder", "decompress_json",
           "filetime_iso", "render_data", "type_name", "write_key_rows"]

#: Value data longer than this is cut (``--max-data``).
DEFAULT_MAX_DATA = 4096

_TYPE_NAMES = {0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY", 4: "REG_DWORD",
               5: "REG_DWORD_BIG_ENDIAN", 6: "REG_LINK", 7: "REG_MULTI_SZ",
               8: "REG_RESOURCE_LIST", 9: "REG_FULL_RESOURCE_DESCRIPTOR",
               10: "REG_RESOURCE_REQUIREMENTS_LIST", 11: "REG_QWORD"}
_EPOCH_TICKS = 116444736000000000  # 1601-01-01 -> 1970-01-01 in FILETIME ticks
_MAX_TICKS = 2650467743999999999  # 9999-12-31T23:59:59.9999999Z: later is no date
_COLUMNS = tuple(c.name for c in KEYS_COLUMNS)


def _text(text: str) -> str:
    return text if text.isascii() else clean_text(text)


def type_name(number: int) -> str:
    """``REG_SZ``... for the types Windows defines, ``0x...`` for other numbers."""
    return _TYPE_NAMES.get(number) or f"0x{number:x}"


def filetime_iso(ticks: int) -> str | None:
    """``2023-05-01T12:00:00.1234567Z`` (FILETIME's full precision), or None past year 9999."""
    if not 0 <= ticks <= _MAX_TICKS:
        return None
    from datetime import datetime, timedelta, timezone

    seconds, fraction = divmod(ticks, 10_000_000)
    moment = datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:07d}Z"


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def render_data(type_number: int, raw: bytes, max_data: int = DEFAULT_MAX_DATA
                ) -> tuple[str, str, bool]:
    """``(data, data_format, truncated)`` for a value (see the module docstring)."""
    size = len(raw)
    if max_data and size > max_data:
        return raw[:max_data].hex(), "hex", True
    if type_number in (1, 2, 6) and not size & 1:
        text = raw.decode("utf-16-le", "surrogatepass")
        if text.endswith("\0"):
            text = text[:-1]
        if "\0" not in text and _encodable(text):
            return text, "string", False
    elif type_number == 7 and not size & 1:
        text = raw.decode("utf-16-le", "surrogatepass")
        if text.endswith("\0\0"):
            text = text[:-2]
        elif text.endswith("\0"):
            text = text[:-1]
        if "\n" not in text and _encodable(text):
            return text.replace("\0", "\n"), "strings", False
    elif (type_number == 4 and size == 4) or (type_number == 11 and size == 8):
        return str(int.from_bytes(raw, "little")), "integer", False
    elif type_number == 5 and size == 4:
        return str(int.from_bytes(raw, "big")), "integer", False
    return raw.hex(), "hex", False


class KeyEncoder:
    """Receives the rows of one hive and encodes them; ``payload()`` returns the bytes."""

    rows = 0

    def key(self, key: str, filetime: int, subkeys: int, values: int) -> None:
        raise NotImplementedError

    def value(self, name: str, type_number: int, size: int, data: str, data_format: str,
              truncated: bool) -> None:
        raise NotImplementedError

    def problem(self, key: str | None, message: str) -> None:
        raise NotImplementedError

    def payload(self) -> bytes:
        raise NotImplementedError


class JsonKeys(KeyEncoder):
    """JSON Lines (one object per row, every column present, UTF-8), zlib-compressed as it is
    produced in blocks of about ``block`` characters: the worker never holds more than one
    block of text, and the payload is 10-20 times smaller than the text (``decompress_json``
    gives the text back, block by block)."""

    def __init__(self, path: str, sha256: str | None, block: int = 1 << 20) -> None:
        self._head = {"path": path, "sha256": sha256}
        self._lines: list[str] = []
        self._size = 0
        self._block = block
        self._zip = zlib.compressobj(1)
        self._out: list[bytes] = []
        self._key: str | None = None
        self._time: str | None = None
        self._ticks: int | None = None
        self.rows = 0

    def _emit(self, row: dict[str, object]) -> None:
        line = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        self._lines.append(line)
        self._size += len(line)
        self.rows += 1
        if self._size >= self._block:
            self._compress()

    def _compress(self) -> None:
        if self._lines:
            self._lines.append("")
            self._out.append(self._zip.compress("\n".join(self._lines).encode("utf-8")))
            self._lines.clear()
            self._size = 0

    def key(self, key: str, filetime: int, subkeys: int, values: int) -> None:
        self._key, self._ticks, self._time = key, filetime, filetime_iso(filetime)
        self._emit({**self._head, "entry": "key", "key": key, "last_written": self._time,
                    "filetime": filetime, "subkeys": subkeys, "values": values, "name": None,
                    "type": None, "type_number": None, "size": None, "data": None,
                    "data_format": None, "truncated": None, "message": None})

    def value(self, name: str, type_number: int, size: int, data: str, data_format: str,
              truncated: bool) -> None:
        self._emit({**self._head, "entry": "value", "key": self._key,
                    "last_written": self._time, "filetime": self._ticks, "subkeys": None,
                    "values": None, "name": name, "type": type_name(type_number),
                    "type_number": type_number, "size": size, "data": data,
                    "data_format": data_format, "truncated": truncated, "message": None})

    def problem(self, key: str | None, message: str) -> None:
        self._emit({**self._head, "entry": "problem", "key": key, "last_written": None,
                    "filetime": None, "subkeys": None, "values": None, "name": None,
                    "type": None, "type_number": None, "size": None, "data": None,
                    "data_format": None, "truncated": None, "message": message})

    def payload(self) -> bytes:
        self._compress()
        self._out.append(self._zip.flush())
        return b"".join(self._out)


def decompress_json(payload: bytes, block: int = 1 << 22) -> Iterator[bytes]:
    """The JSON Lines text of a ``JsonKeys`` payload, in pieces of at most ``block`` bytes."""
    unzip = zlib.decompressobj()
    view = memoryview(payload)
    for start in range(0, len(view), 1 << 18):
        piece = unzip.decompress(view[start:start + (1 << 18)], block)
        while piece:
            yield piece
            piece = unzip.decompress(unzip.unconsumed_tail, block)
    tail = unzip.flush()
    if tail:
        yield tail


class ArrowKeys(KeyEncoder):
    """Arrow IPC stream bytes: zstd-compressed record batches of up to ``batch_rows`` rows with
    the keys schema (``winmigrate.survey.arrow.keys_schema``)."""

    def __init__(self, path: str, sha256: str | None, batch_rows: int = 16384) -> None:
        self._pa: Any = require_pyarrow()
        self._schema: Any = keys_schema()
        self._sink: Any = self._pa.BufferOutputStream()
        self._writer: Any = self._pa.ipc.new_stream(
            self._sink, self._schema, options=self._pa.ipc.IpcWriteOptions(compression="zstd"))
        self._path, self._sha = path, sha256
        self._batch_rows = batch_rows
        self._cols: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
        self._key: str | None = None
        self._micros: int | None = None
        self._ticks: int | None = None
        self.rows = 0
        self._pending = 0

    def _add(self, entry: str, key: str | None, micros: int | None, ticks: int | None,
             subkeys: int | None, values: int | None, name: str | None, type_: str | None,
             type_number: int | None, size: int | None, data: str | None,
             data_format: str | None, truncated: bool | None, message: str | None) -> None:
        c = self._cols
        c["path"].append(self._path)
        c["sha256"].append(self._sha)
        c["entry"].append(entry)
        c["key"].append(key)
        c["last_written"].append(micros)
        c["filetime"].append(ticks)
        c["subkeys"].append(subkeys)
        c["values"].append(values)
        c["name"].append(name)
        c["type"].append(type_)
        c["type_number"].append(type_number)
        c["size"].append(size)
        c["data"].append(data)
        c["data_format"].append(data_format)
        c["truncated"].append(truncated)
        c["message"].append(message)
        self.rows += 1
        self._pending += 1
        if self._pending >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        pa = self._pa
        arrays = [pa.array(self._cols[field.name], type=field.type) for field in self._schema]
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        for values in self._cols.values():
            values.clear()
        self._pending = 0

    def key(self, key: str, filetime: int, subkeys: int, values: int) -> None:
        micros = (filetime - _EPOCH_TICKS) // 10 if 0 <= filetime <= _MAX_TICKS else None
        self._key, self._micros, self._ticks = key, micros, filetime
        self._add("key", key, micros, filetime, subkeys, values, None, None, None, None, None,
                  None, None, None)

    def value(self, name: str, type_number: int, size: int, data: str, data_format: str,
              truncated: bool) -> None:
        self._add("value", self._key, self._micros, self._ticks, None, None, name,
                  type_name(type_number), type_number, size, data, data_format, truncated, None)

    def problem(self, key: str | None, message: str) -> None:
        self._add("problem", key, None, None, None, None, None, None, None, None, None, None,
                  None, message)

    def payload(self) -> bytes:
        self._flush()
        self._writer.close()
        return bytes(self._sink.getvalue().to_pybytes())


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def write_key_rows(path: str, encoder: KeyEncoder, *, max_data: int = DEFAULT_MAX_DATA
                   ) -> str | None:
    """Read the hive at ``path`` and hand every key, value and problem to ``encoder``. Returns
    why the hive could not be read at all (then its only row is that problem), else None."""
    try:
        hive = Hive.open(path, logs="auto", strict=False)
    except (WinmigrateError, OSError) as e:
        message = clean_text(_one_line(e))
        encoder.problem(None, f"cannot read the hive: {message}")
        return message
    with hive:
        if hive.dirty and (hive.recovery is None or not hive.recovery.applied):
            encoder.problem(None, "dirty hive whose transaction logs could not be replayed: "
                                  "the rows show the primary file as it is")
        key_path = ""
        try:
            for key in hive.walk():
                key_path = _text(key.path)
                encoder.key(key_path, key.timestamp, key.subkey_count, key.value_count)
                for value in key.values():
                    raw = value.raw
                    data, fmt, cut = render_data(value.type_number, raw, max_data)
                    encoder.value(_text(value.name), value.type_number, len(raw), data, fmt,
                                  cut)
        except WinmigrateError as e:
            encoder.problem(key_path, clean_text(f"reading stopped: {_one_line(e)}"))
        for problem in hive.problems:
            encoder.problem(None if problem.path is None else _text(problem.path),
                            _text(str(problem)))
    return None
