#!/usr/bin/env python3
"""Surveys (``winmigrate scan``): hives per second in this process, on a local process pool and
on a Dask LocalCluster, with the peak memory of every process, and where a worker's time goes.

    python benchmarks/bench_scan.py                  # the corpus 12 times over (~2,700 hives)
    python benchmarks/bench_scan.py --copies 2       # a quick look
    python benchmarks/bench_scan.py --keys-copies 3  # the keys table on 3 copies (default 2)
    python benchmarks/bench_scan.py --repeat 2       # every run twice, in turns; the best kept

The corpus (``../shared/corpus``) is repeated as a tree of symbolic links,
``benchmarks/out/scan-corpus-N/copy-XX/<corpus path>`` (made once), so every copy keeps its
folders: logs pair with their hives, SYSTEM finds its SOFTWARE. The files are the same, so after
the first copy they are in the page cache: the figures are for warm reads, not for a disk.

Each configuration runs in a fresh interpreter that calls ``winmigrate.survey.survey`` into a
JSON Lines file (facts) or a Parquet folder (keys), as ``winmigrate scan`` does. Wall time
includes starting the pool or the cluster. Peak memory is each process's ``VmHWM`` (its peak
resident set, from ``/proc``), sampled every 0.2 s for every descendant process, and the
parent's ``ru_maxrss``. CPU time is every process's, added up. On a shared machine the wall
times depend on what else runs: each run also records how many cores the *other* processes of
the machine kept busy meanwhile (``/proc/stat``'s busy time less ours), so that a slow figure can
be told from a busy machine. Results: printed, and saved in ``benchmarks/out/scan.json``.

Needs the ``scan`` extra (pyarrow, dask.distributed) and psutil (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

from run import corpus  # noqa: E402

OUT = HERE / "out"
CONFIGS: dict[str, dict[str, object]] = {
    "serial (1 process)": {"workers": 1},
    "local pool, 2 processes": {"workers": 2},
    "Dask LocalCluster, 2 workers": {"scheduler": "local", "workers": 2},
    "Dask LocalCluster, 4 workers": {"scheduler": "local", "workers": 4},
}


def make_tree(copies: int) -> Path:
    """``copies`` mirrors of the corpus as symbolic links (made once)."""
    source = corpus()
    tree = OUT / f"scan-corpus-{copies}"
    done = tree / ".complete"
    if done.exists():
        return tree
    files = [p for p in source.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for i in range(copies):
        for f in files:
            link = tree / f"copy-{i:02d}" / f.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(f)
    done.write_text("ok\n")
    return tree


def _peaks(stop: threading.Event, peaks: dict[int, tuple[int, str]],
           cpu: dict[int, float]) -> None:
    """Every 0.2 s: each descendant's peak RSS (VmHWM, kB) and CPU seconds so far."""
    import psutil

    me = psutil.Process()
    while not stop.wait(0.2):
        for child in me.children(recursive=True):
            try:
                status = Path(f"/proc/{child.pid}/status").read_text()
                hwm = next(int(line.split()[1]) for line in status.splitlines()
                           if line.startswith("VmHWM:"))
                times = child.cpu_times()
                cpu[child.pid] = times.user + times.system
                if hwm > peaks.get(child.pid, (0, ""))[0]:
                    name = " ".join(child.cmdline())[-60:]
                    peaks[child.pid] = (hwm, name)
            except (OSError, StopIteration, psutil.Error):
                continue


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core), from ``/proc/stat``."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def one(tree: str, table: str, config: dict[str, object], out: str) -> dict[str, object]:
    """One measured survey, in this (fresh) process."""
    from winmigrate.survey.batch import survey

    peaks: dict[int, tuple[int, str]] = {}
    cpu: dict[int, float] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_peaks, args=(stop, peaks, cpu), daemon=True)
    sampler.start()
    busy_before = _busy_seconds()
    start = time.perf_counter()
    first: list[float] = []

    def progress(stats: object) -> None:
        if not first:
            first.append(time.perf_counter() - start)

    stats = survey([tree], out, table=table,  # type: ignore[arg-type]
                   fmt="jsonl" if table == "facts" else "parquet", resume=False,
                   progress=progress, **config)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    busy = _busy_seconds() - busy_before
    stop.set()
    sampler.join()
    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu_total = own.ru_utime + own.ru_stime + sum(cpu.values())
    return {"cpu_s": cpu_total, "cpu_parent_s": own.ru_utime + own.ru_stime,
            "cpu_ms_per_hive": 1000 * cpu_total / max(stats.done, 1),
            "other_cores": max(0.0, (busy - cpu_total) / wall),
            "load": os.getloadavg()[0], "hives": stats.done, "errors": stats.errors,
            "rows": stats.rows, "wall": wall,
            "first_result": first[0] if first else None,
            "hives_per_s": stats.done / wall, "runner": stats.runner,
            "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "process_peaks_mb": sorted(((kb / 1024, name) for kb, name in peaks.values()),
                                       reverse=True)}


def breakdown(tree: Path) -> dict[str, float]:
    """Where a worker's time goes, over one copy of the corpus, in this process: reading the
    file, hashing it, the facts (open and parse, Windows' checks, the Windows facts of SYSTEM
    hives), writing the row as JSON, pickling the result (what a pool or Dask sends back); and
    for the keys table, the walk alone against the walk with the rows rendered and encoded."""
    import hashlib
    import pickle

    import winmigrate
    from winmigrate.survey.facts import hive_facts
    from winmigrate.survey.keyrows import ArrowKeys, JsonKeys, write_key_rows
    from winmigrate.survey.locate import discover
    from winmigrate.survey.output import _json_default
    from winmigrate.survey.worker import HiveResult

    tasks = list(discover([tree / "copy-00"]))
    t = dict.fromkeys(("read", "sha256", "open", "check", "facts", "json", "pickle",
                       "walk", "keys_jsonl", "keys_arrow"), 0.0)
    for task in tasks:
        a = time.perf_counter()
        data = Path(task.path).read_bytes()
        b = time.perf_counter()
        digest = hashlib.sha256(data).hexdigest()
        c = time.perf_counter()
        try:
            with winmigrate.open(task.path) as hive:
                d = time.perf_counter()
                hive.check()
                e = time.perf_counter()
                t["open"] += d - c
                t["check"] += e - d
        except (winmigrate.WinmigrateError, OSError):
            pass
        f = time.perf_counter()
        row = hive_facts(task.path, sha256=digest, size=len(data), logs=task.logs,
                         software=task.software, guest=task.guest)
        g = time.perf_counter()
        json.dumps(row, ensure_ascii=False, default=_json_default)
        h = time.perf_counter()
        pickle.dumps(HiveResult(task.path, digest, facts=row))
        i = time.perf_counter()
        t["read"] += b - a
        t["sha256"] += c - b
        t["facts"] += g - f
        t["json"] += h - g
        t["pickle"] += i - h
        try:
            with winmigrate.open(task.path, strict=False) as hive:
                j = time.perf_counter()
                for key in hive.walk():
                    _ = key.path, key.timestamp
                    for value in key.values():
                        _ = value.name, value.raw
                t["walk"] += time.perf_counter() - j
        except (winmigrate.WinmigrateError, OSError):
            pass
        k = time.perf_counter()
        enc = JsonKeys(task.path, digest)
        write_key_rows(task.path, enc)
        enc.payload()
        m = time.perf_counter()
        arrow = ArrowKeys(task.path, digest)
        write_key_rows(task.path, arrow)
        arrow.payload()
        t["keys_jsonl"] += m - k
        t["keys_arrow"] += time.perf_counter() - m
    t["hives"] = len(tasks)
    t["bytes"] = sum(os.path.getsize(task.path) for task in tasks)
    return t


def _run(args: list[str]) -> dict[str, object]:
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        raise SystemExit(f"{args}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=12, help="corpus copies for facts")
    ap.add_argument("--keys-copies", type=int, default=2, help="corpus copies for keys")
    ap.add_argument("--one", nargs=4, metavar=("TREE", "TABLE", "CONFIG", "OUT"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--breakdown", metavar="TREE", help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each configuration, taken in turns (the fastest is kept)")
    ap.add_argument("--json", default=str(OUT / "scan.json"))
    args = ap.parse_args()
    if args.one:
        tree, table, config, out = args.one
        print(json.dumps(one(tree, table, json.loads(config), out)))
        return 0
    if args.breakdown:
        print(json.dumps(breakdown(Path(args.breakdown))))
        return 0
    OUT.mkdir(exist_ok=True)
    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "load_before": os.getloadavg()}}
    tmp = OUT / "scan-output"
    for table, copies in (("facts", args.copies), ("keys", args.keys_copies)):
        tree = make_tree(copies)
        for name, config in [(n, c) for _ in range(args.repeat) for n, c in CONFIGS.items()]:
            if table == "keys" and "4 workers" in name:
                continue
            r = _run(["--one", str(tree), table, json.dumps(config),
                      str(tmp) + (".jsonl" if table == "facts" else ".parquet")])
            key = f"{table}: {name}"
            runs = list(results[key]["runs"]) if key in results else []  # type: ignore[index,call-overload]
            runs.append({"wall": r["wall"], "other_cores": r["other_cores"]})
            best = results.get(key)
            if best is None or r["wall"] < best["wall"]:  # type: ignore[index,operator]
                best = r
            results[key] = {**best, "runs": runs}  # type: ignore[dict-item]
            peak = r["process_peaks_mb"]
            top = max((p for p, _ in peak), default=0.0)  # type: ignore[union-attr]
            print(f"{table:5} {name:30} {r['hives']:6} hives {r['wall']:7.1f} s "
                  f"{r['hives_per_s']:7.1f} hives/s  CPU {r['cpu_s']:6.1f} s "
                  f"(parent {r['cpu_parent_s']:.1f})  first result {r['first_result']:.1f} s  "
                  f"peak: parent {r['parent_peak_mb']:.0f} MB, largest child {top:.0f} MB  "
                  f"others kept {r['other_cores']:.1f} core(s) busy", flush=True)
    b = _run(["--breakdown", str(make_tree(args.keys_copies))])
    results["breakdown (one copy, serial)"] = b
    total = sum(float(b[k]) for k in ("read", "sha256", "facts", "json"))  # type: ignore[arg-type]
    print(f"breakdown over {b['hives']} hives ({float(b['bytes']) / 1e6:.0f} MB): " +  # type: ignore[arg-type]
          ", ".join(f"{k} {float(b[k]):.2f} s" for k in  # type: ignore[arg-type]
                    ("read", "sha256", "open", "check", "facts", "json", "pickle", "walk",
                     "keys_jsonl", "keys_arrow")) + f" (facts path {total:.2f} s)")
    results["machine"]["load_after"] = os.getloadavg()  # type: ignore[index]
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
