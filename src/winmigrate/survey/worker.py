"""One task of a survey: one hive file in, one ``HiveResult`` out. This is the function the
process pool and the Dask workers run; it never raises for a bad file (whatever goes wrong
becomes the row's ``error``), and what it returns is small and picklable: the facts row as a
dict, or the hive's key rows already encoded as bytes.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from .facts import blank_facts, hive_facts
from .keyrows import DEFAULT_MAX_DATA, ArrowKeys, JsonKeys, KeyEncoder, write_key_rows
from .locate import HiveTask
from .schema import HiveFacts, clean_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

__all__ = ["HiveResult", "ScanOptions", "error_result", "file_digest", "survey_hive"]


@dataclass(frozen=True)
class ScanOptions:
    """What to produce: the ``facts`` table, or the ``keys`` table encoded as ``jsonl`` text or
    ``arrow`` IPC bytes, with value data cut at ``max_data`` bytes (0: no limit)."""

    table: Literal["facts", "keys"] = "facts"
    keys_encoding: Literal["jsonl", "arrow"] = "jsonl"
    max_data: int = DEFAULT_MAX_DATA


@dataclass(frozen=True)
class HiveResult:
    """What a worker returns for one file. ``skipped``: resuming, and the file still has a
    digest already in the output (nothing else is set). ``facts``: the facts row. ``keys``:
    the encoded key rows (``key_rows`` of them). ``error``: the file could not be read at all
    (the row says so too)."""

    path: str
    sha256: str | None
    skipped: bool = False
    facts: HiveFacts | None = None
    keys: bytes | None = None
    key_rows: int = 0
    error: str | None = None
    seconds: float = 0.0


def file_digest(path: str) -> tuple[str, int]:
    """(SHA-256 in hex, size in bytes) of the file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            size += n
    return h.hexdigest(), size


def _one_line(e: BaseException) -> str:
    return clean_text(" ".join(str(e).split()) or type(e).__name__)


def _encoder(options: ScanOptions, path: str, sha256: str | None) -> KeyEncoder:
    if options.keys_encoding == "arrow":
        return ArrowKeys(path, sha256)
    return JsonKeys(path, sha256)


def error_result(task: HiveTask, options: ScanOptions, error: BaseException,
                 sha256: str | None = None, size: int | None = None,
                 seconds: float = 0.0) -> HiveResult:
    """The result for a file whose survey failed as a whole (unreadable, or a worker that
    died): a facts row with ``error``, or one ``problem`` key row."""
    message = _one_line(error)
    if options.table == "keys":
        enc = _encoder(options, task.path, sha256)
        enc.problem(None, f"cannot read the hive: {message}")
        return HiveResult(task.path, sha256, keys=enc.payload(), key_rows=enc.rows,
                          error=message, seconds=seconds)
    row = blank_facts(task.path, sha256, size, seconds)
    row["guest"] = task.guest
    row["error"] = message
    row["error_type"] = type(error).__name__
    return HiveResult(task.path, sha256, facts=row, error=message, seconds=seconds)


def survey_hive(task: HiveTask, options: ScanOptions = ScanOptions()) -> HiveResult:
    """Survey one file (see the module docstring)."""
    start = time.perf_counter()
    sha256: str | None = None
    size: int | None = None
    try:
        sha256, size = file_digest(task.path)
        if sha256 in task.known_sha256:
            return HiveResult(task.path, sha256, skipped=True)
        if options.table == "keys":
            enc = _encoder(options, task.path, sha256)
            error = write_key_rows(task.path, enc, max_data=options.max_data)
            return HiveResult(task.path, sha256, keys=enc.payload(), key_rows=enc.rows,
                              error=error, seconds=time.perf_counter() - start)
        row = hive_facts(task.path, sha256=sha256, size=size, logs=task.logs,
                         software=task.software, guest=task.guest)
        row["seconds"] = round(time.perf_counter() - start, 6)
        return HiveResult(task.path, sha256, facts=row, error=row["error"],
                          seconds=row["seconds"])
    except Exception as e:  # one bad file must never end the batch
        return error_result(task, options, e, sha256, size, time.perf_counter() - start)
