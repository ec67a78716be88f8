"""A survey from end to end: discover the hives, run one task per hive on a runner, stream the
results -- in completion order -- into an output.

    from winmigrate.survey import scan, survey

    for result in scan(["/cases/2024-117"], table="facts", workers=2):
        print(result.facts["kind"], result.path)

    stats = survey(["/guests"], "survey.parquet", fmt="parquet", scheduler="tcp://sched:8786")

``scan`` yields ``HiveResult``s; ``survey`` writes them to a JSON Lines file or a Parquet folder
(``winmigrate.survey.output``), skipping the hives the output already holds, and returns the
``ScanStats``. The same tasks run in this process (``workers=1``), on a local process pool
(the default, one process per core), or on a Dask cluster (``scheduler=`` an address or
``"local"``, or ``client=`` a ``dask.distributed.Client``); the rows are the same whichever
runs them, only their order differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from .keyrows import DEFAULT_MAX_DATA
from .locate import HiveTask, discover
from .output import open_output
from .runners import make_runner
from .worker import HiveResult, ScanOptions, error_result, survey_hive

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from typing import Any, Literal

__all__ = ["ScanStats", "scan", "survey"]


@dataclass
class ScanStats:
    """Counts of a survey so far: hives ``found`` by discovery, ``done`` (rows written),
    ``skipped`` (already in the output), ``errors`` (could not be read), key ``rows``."""

    found: int = 0
    done: int = 0
    skipped: int = 0
    errors: int = 0
    rows: int = 0
    started: float = field(default_factory=time.monotonic)
    runner: str = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Hives per second (surveyed or skipped)."""
        return (self.done + self.skipped) / max(self.elapsed, 1e-9)

    def add(self, result: HiveResult) -> None:
        if result.skipped:
            self.skipped += 1
            return
        self.done += 1
        self.errors += result.error is not None
        self.rows += result.key_rows if result.facts is None else 1


def scan(paths: Iterable[str | os.PathLike[str]], *, table: Literal["facts", "keys"] = "facts",
         workers: int | None = None, scheduler: str | None = None, client: Any = None,
         deep: bool = False, known: dict[str, set[str]] | None = None,
         keys_encoding: Literal["jsonl", "arrow"] = "jsonl",
         max_data: int = DEFAULT_MAX_DATA, window: int | None = None,
         stats: ScanStats | None = None) -> Iterator[HiveResult]:
    """Survey the hives in ``paths``, yielding one ``HiveResult`` per file as it completes
    (see the module docstring). ``known`` (path -> digests) skips files already surveyed."""
    options = ScanOptions(table, keys_encoding, max_data)
    counts = stats if stats is not None else ScanStats()

    def tasks() -> Iterator[HiveTask]:
        for task in discover(paths, deep=deep):
            counts.found += 1
            digests = known.get(task.path) if known else None
            yield replace(task, known_sha256=frozenset(digests)) if digests else task

    runner = make_runner(workers, scheduler, client)
    counts.runner = runner.describe()
    try:
        work: Callable[[HiveTask], HiveResult] = partial(survey_hive, options=options)
        for task, result, error in runner.run(work, tasks(), window):
            if result is None:
                result = error_result(task, options, error or RuntimeError("no result"))
            counts.add(result)
            yield result
    finally:
        runner.close()


def survey(paths: Iterable[str | os.PathLike[str]], output: str | None, *,
           table: Literal["facts", "keys"] = "facts", fmt: Literal["jsonl", "parquet"] = "jsonl",
           resume: bool = True, progress: Callable[[ScanStats], None] | None = None,
           **options: Any) -> ScanStats:
    """Survey ``paths`` into ``output`` (a JSON Lines file, ``None`` for standard output, or a
    Parquet folder), resuming when it already holds rows; ``progress`` is called with the
    counts after each hive. ``options`` are ``scan``'s."""
    stats = ScanStats()
    with open_output(output, table, fmt, resume=resume) as out:
        encoding: Literal["jsonl", "arrow"] = "arrow" if fmt == "parquet" else "jsonl"
        for result in scan(paths, table=table, known=out.known(), keys_encoding=encoding,
                           stats=stats, **options):
            out.write(result)
            if progress is not None:
                progress(stats)
    return stats
