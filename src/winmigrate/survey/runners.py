"""Where the tasks run: in this process, in a local process pool, or on a Dask cluster -- three
implementations of one small interface, ``Runner.run(fn, items, window)``, which yields
``(item, result, error)`` in completion order with at most ``window`` tasks in flight, so that
results stream out as they are ready and memory does not grow with the number of items.

- ``SerialRunner``: in this process, one item after the other (``workers=1``).
- ``ProcessRunner``: ``concurrent.futures.ProcessPoolExecutor`` (``forkserver`` start method
  where there is one, else ``spawn``: safe in a process that has threads). A worker process
  that dies (killed by the kernel's OOM killer, say) breaks the pool; the runner starts a new
  one and re-runs each task that was in flight *alone*, so that only the task that kills its
  worker again gets an error (``WorkerDied``), never its neighbours.
- ``DaskRunner``: ``dask.distributed`` -- a ``Client`` given by the caller (left open), a
  scheduler address (``tcp://host:8786``), or ``"local"`` for a ``LocalCluster`` of
  single-threaded worker processes. Every worker must be able to import winmigrate and read
  the paths (a shared file system, mounted at the same place). Dask retries a task whose
  worker died and finally raises ``KilledWorker``, which becomes that item's error.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from ..errors import UsageError, WinmigrateError
from .arrow import require

__all__ = ["DaskRunner", "ProcessRunner", "Runner", "SerialRunner", "WorkerDied",
           "make_runner"]

T = TypeVar("T")
R = TypeVar("R")


class WorkerDied(WinmigrateError):
    """The worker process running a task died, and died again when the task ran alone."""


class Runner(Generic[T, R]):
    """Runs ``fn`` over ``items``; see the module docstring."""

    #: How many tasks run at once.
    workers: int = 1

    def run(self, fn: Callable[[T], R], items: Iterable[T], window: int | None = None
            ) -> Iterator[tuple[T, R | None, BaseException | None]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the runner started (processes, a cluster it made)."""

    def describe(self) -> str:
        return f"{self.workers} worker(s)"

    def default_window(self) -> int:
        return 2 * self.workers + 2


class SerialRunner(Runner[T, R]):
    """Everything in this process, in order."""

    workers = 1

    def run(self, fn: Callable[[T], R], items: Iterable[T], window: int | None = None
            ) -> Iterator[tuple[T, R | None, BaseException | None]]:
        for item in items:
            try:
                result = fn(item)
            except Exception as e:  # the task's own failure: the item's error
                yield item, None, e
                continue
            yield item, result, None

    def describe(self) -> str:
        return "this process"


def _context() -> Any:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class ProcessRunner(Runner[T, R]):
    """A local process pool of ``workers`` processes (default: one per core)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: Any = None

    def _new_pool(self) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_context())
        return self._pool

    def run(self, fn: Callable[[T], R], items: Iterable[T], window: int | None = None
            ) -> Iterator[tuple[T, R | None, BaseException | None]]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        limit = window or self.default_window()
        source = iter(items)
        pool = self._pool or self._new_pool()
        pending: dict[Any, tuple[T, bool]] = {}  # future -> (item, running alone)
        suspects: deque[T] = deque()  # in flight when a worker died: re-run one at a time
        exhausted = False
        while True:
            if suspects:
                if not pending:
                    suspect = suspects.popleft()
                    pending[pool.submit(fn, suspect)] = (suspect, True)
            else:
                while not exhausted and len(pending) < limit:
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending[pool.submit(fn, item)] = (item, False)
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                item, alone = pending.pop(future)
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    broken = True
                    if alone:
                        yield item, None, WorkerDied(
                            "the worker process died while surveying this file (twice: with "
                            "other files in flight, then alone)")
                    else:
                        suspects.append(item)
                elif error is not None:
                    yield item, None, error
                else:
                    yield item, future.result(), None
            if broken:
                for future, (item, _) in pending.items():  # they all failed with the pool
                    if future.done() and future.exception() is None:
                        yield item, future.result(), None
                    else:
                        suspects.append(item)
                pending.clear()
                pool = self._new_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> str:
        return f"{self.workers} local process(es)"


class DaskRunner(Runner[T, R]):
    """Tasks on a Dask distributed cluster (see the module docstring)."""

    def __init__(self, client: Any = None, scheduler: str | None = None,
                 workers: int | None = None) -> None:
        distributed = require("distributed", "a Dask scheduler")
        self._distributed = distributed
        self._own: list[Any] = []
        if client is None:
            if scheduler == "local":
                cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                    processes=True, dashboard_address=None)
                self._own.append(cluster)
                client = distributed.Client(cluster)
            elif scheduler:
                try:
                    client = distributed.Client(scheduler, timeout="30s")
                except OSError as e:
                    raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {e}"
                                     ) from None
            else:
                raise UsageError("a Dask runner needs a client or a scheduler address")
            self._own.insert(0, client)
        self.client = client
        self.workers = max(1, sum(client.nthreads().values()))
        self._where = scheduler or getattr(getattr(client, "scheduler", None), "address", "?")

    def run(self, fn: Callable[[T], R], items: Iterable[T], window: int | None = None
            ) -> Iterator[tuple[T, R | None, BaseException | None]]:
        limit = window or 4 * self.workers + 4
        source = iter(items)
        waiting = self._distributed.as_completed()
        pending: dict[str, T] = {}

        def submit(count: int) -> None:
            for _ in range(count):
                try:
                    item = next(source)
                except StopIteration:
                    return
                future = self.client.submit(fn, item, pure=False)
                pending[future.key] = item
                waiting.add(future)

        submit(limit)
        for future in waiting:
            item = pending.pop(future.key)
            try:
                result = future.result()
            except Exception as e:  # the task failed (KilledWorker included)
                yield item, None, e
            else:
                yield item, result, None
            finally:
                future.release()
            submit(1)

    def close(self) -> None:
        for thing in self._own:
            thing.close()
        self._own.clear()

    def describe(self) -> str:
        return f"Dask at {self._where}, {self.workers} worker thread(s)"


def make_runner(workers: int | None = None, scheduler: str | None = None,
                client: Any = None) -> Runner[Any, Any]:
    """The runner for these options: a Dask ``client`` or ``scheduler`` when given, else a
    process pool of ``workers`` (default: one per core), or this process when ``workers`` is
    1."""
    if client is not None or scheduler:
        return DaskRunner(client, scheduler, workers)
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if (workers or os.cpu_count() or 1) == 1:
        return SerialRunner()
    return ProcessRunner(workers)
