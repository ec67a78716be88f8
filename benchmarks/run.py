#!/usr/bin/env python3
"""Speed and memory of winmigrate against the other parsers, measured in one run.

    python benchmarks/run.py                 # everything (several minutes: regipy is slow)
    python benchmarks/run.py --quick         # fewer repetitions, no regipy
    python benchmarks/run.py --json out.json

Each measurement is a whole process (start, import, open, work, exit), repeated and reported as
the median wall time, with the peak resident memory (``ru_maxrss``) of that process. Python
parsers run under this interpreter; hivex (C) under Debian's ``/usr/bin/python3`` with
``python3-hivex``. Hives: the largest corpus SYSTEM hive (16 MB) and a generated hive of more
than 100 MB (made once, cached in ``benchmarks/out/``). Results and ratios are printed and saved
as JSON; ``docs/performance.md`` records a run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

from parsers import BULK, EDIT, LOOKUP, WALK  # noqa: E402
from startup import startup  # noqa: E402
from startup import table as startup_table  # noqa: E402

OUT = HERE / "out"
SYSTEM_PYTHON = "/usr/bin/python3"
BIG_SYSTEM = "mkorman90_regipy/_history/9726b9e2ee/regipy_tests/data/SYSTEM"
DEEP_KEY = r"ControlSet001\Control\Class\{4D36E972-E325-11CE-BFC1-08002BE10318}\0007"
DEEP_VALUE = "DriverDesc"


def corpus() -> Path:
    extract = REPO.parent / "shared" / "corpus" / "extract"
    out = subprocess.run([sys.executable, str(extract)], capture_output=True, text=True,
                         check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def interpreter(parser: str) -> str:
    return SYSTEM_PYTHON if parser == "hivex" else sys.executable


def available(parser: str) -> bool:
    module = {"winmigrate": "winmigrate", "python-registry": "Registry", "regipy": "regipy",
              "dissect.regf": "dissect.regf", "libregf": "pyregf", "hivex": "hivex"}[parser]
    r = subprocess.run([interpreter(parser), "-c", f"import {module}"], capture_output=True)
    return r.returncode == 0


Job = tuple[str, list[str], int]  # program, arguments, runs


@dataclass(frozen=True)
class Cmd:
    """A whole command (not a Python program): ``argv``, ``runs`` times, standard output to
    ``stdout`` (a file) if given, ``setup`` run untimed before each run (a fresh copy of the
    hive an in-place edit changes)."""

    argv: list[str]
    runs: int
    stdout: str | None = None
    setup: Callable[[], None] | None = None


def measure(jobs: Mapping[str, Job | Cmd], *,
            sync_first: bool = False) -> dict[str, dict[str, object]]:
    """Median and minimum wall time, peak RSS and output of each parser's job, its runs whole
    processes taken in turns with the others' (round ``i`` runs each parser that wants more than
    ``i`` runs), so that a slow spell of the shared machine weighs on all of them alike instead
    of on whichever parser happened to be running.

    ``sync_first`` flushes the page cache's dirty data before every run (untimed), for tasks
    that write: on ext4 an fsync also writes out what earlier runs left unflushed (the journal
    commits their data with it), so without this a parser that fsyncs would pay for the writes of
    those that do not."""
    runs: dict[str, list[tuple[float, int, str]]] = {name: [] for name in jobs}
    errors: dict[str, str] = {}
    def reps(job: Job | Cmd) -> int:
        return job.runs if isinstance(job, Cmd) else job[2]

    for round_ in range(max(reps(job) for job in jobs.values())):
        for parser, job in jobs.items():
            if round_ < reps(job) and parser not in errors:
                if isinstance(job, Cmd) and job.setup is not None:
                    job.setup()
                if sync_first:
                    os.sync()
                outcome = (_run_command(job) if isinstance(job, Cmd)
                           else _run_once(parser, job[0], job[1]))
                if isinstance(outcome, str):
                    errors[parser] = outcome
                else:
                    runs[parser].append(outcome)
    results: dict[str, dict[str, object]] = {}
    for parser, done in runs.items():
        if parser in errors:
            results[parser] = {"error": errors[parser]}
            continue
        times = [t for t, _peak, _out in done]
        results[parser] = {"seconds": statistics.median(times), "min": min(times),
                           "runs": len(done), "peak_rss": max(p for _t, p, _o in done),
                           "output": sorted(o for _t, _p, o in done)[0]}
    return results


def _run_once(parser: str, program: str, args: list[str]) -> tuple[float, int, str] | str:
    """``(seconds, peak RSS, output)`` of one whole-process run, or the error it printed."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    # Each process reports its own peak resident set at exit (ru_maxrss of RUSAGE_SELF, in KiB on
    # Linux); the time includes that one call, which is negligible.
    program += ("\nimport resource as _r, sys as _s\n"
                "_s.stderr.write('MAXRSS %d\\n' % _r.getrusage(_r.RUSAGE_SELF).ru_maxrss)\n")
    start = time.perf_counter()
    proc = subprocess.run([interpreter(parser), "-c", program, *args], capture_output=True,
                          env=env)
    elapsed = time.perf_counter() - start
    out = proc.stdout.decode(errors="replace").strip()
    err = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0:
        return (err or out).splitlines()[-1][:200] if (err or out) else "failed"
    peak = [line for line in err.splitlines() if line.startswith("MAXRSS ")]
    return elapsed, int(peak[-1].split()[1]) * 1024 if peak else 0, out[:200]


def _run_command(cmd: Cmd) -> tuple[float, int, str] | str:
    """``(seconds, peak RSS, output)`` of one run of a command (its own ``ru_maxrss``, from
    ``wait4``), or the error it printed."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(cmd.stdout, "wb")) if cmd.stdout else subprocess.DEVNULL
        start = time.perf_counter()
        proc = subprocess.Popen(cmd.argv, stdout=out, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stderr.close()
    text = err.decode(errors="replace").strip()
    if proc.returncode != 0:
        return text.splitlines()[-1][:200] if text else f"exit {proc.returncode}"
    return elapsed, usage.ru_maxrss * 1024, (text.splitlines() or ["ok"])[-1][:200]


def make_big_hive(system: Path, target: Path) -> Path:
    """A hive of more than 100 MB: the 16 MB SYSTEM with its control set copied thirteen times and
    300 big-data values."""
    if target.exists() and target.stat().st_size >= 100 << 20:
        return target
    import winmigrate

    hive = winmigrate.open(system, writable=True, logs="ignore", lock=False)
    source = hive.key("ControlSet001")
    for n in range(13):
        copy_root = hive.root.create_key(f"Copy{n}")
        stack = [(source, copy_root)]
        while stack:
            src, dst = stack.pop()
            for v in src.values():
                dst.set_value(v.name, raw=v.raw, type=v.type_number)
            for child in src.subkeys():
                stack.append((child, dst.create_key(child.name)))
    # Some big values too, so big data is part of the walk.
    blobs = hive.root.create_key("Blobs")
    for i in range(300):
        blobs.set_value(f"blob{i}", raw=bytes([i % 256]) * (60_000 + i))
    target.parent.mkdir(parents=True, exist_ok=True)
    hive.save(target)
    hive.close()
    assert target.stat().st_size >= 100 << 20, target.stat().st_size
    return target


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 runs each, skip regipy")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, default=OUT / "results.json")
    ap.add_argument("--skip-big", action="store_true", help="only the 16 MB hive")
    ap.add_argument("--no-sync", action="store_true",
                    help="do not flush dirty pages before each timed write (to see the effect)")
    args = ap.parse_args()
    repeat = 3 if args.quick else args.repeat
    # Installed packages come with compiled bytecode; make ours the same (this environment may
    # set PYTHONDONTWRITEBYTECODE, which would recompile winmigrate in every measured process).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "winmigrate")],
                   check=True)
    parsers = [p for p in WALK if available(p)]
    if args.quick and "regipy" in parsers:
        parsers.remove("regipy")
    system = corpus() / BIG_SYSTEM
    hives = {"SYSTEM 16 MB": system}
    if not args.skip_big:
        hives["generated 100+ MB"] = make_big_hive(system, OUT / "big.hiv")
    results: dict[str, object] = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "hives": {name: os.path.getsize(p) for name, p in hives.items()},
        "walk": {}, "lookup": {}, "edit": {},
    }
    for name, path in hives.items():
        # regipy needs minutes per walk of the 16 MB hive: one run, and not the big one; the
        # other Python parsers need up to tens of seconds on the big one: three runs there.
        walks: dict[str, Job] = {}
        for parser in parsers:
            if parser == "regipy" and name != "SYSTEM 16 MB":
                continue
            reps = (1 if parser == "regipy" else
                    repeat if name == "SYSTEM 16 MB" or parser in ("winmigrate", "hivex")
                    else min(repeat, 3))
            walks[parser] = (WALK[parser], [str(path)], reps)
        print(f"walk   {name} ({', '.join(walks)}: runs in turns)", flush=True)
        for parser, r in measure(walks).items():
            results["walk"].setdefault(name, {})[parser] = r  # type: ignore[union-attr]
            print(f"walk   {name:18} {parser:16} {_fmt(r)}")
        lookups = {parser: (LOOKUP[parser], [str(path), DEEP_KEY, DEEP_VALUE],
                            1 if parser == "regipy" else repeat * 2) for parser in parsers}
        for parser, r in measure(lookups).items():
            results["lookup"].setdefault(name, {})[parser] = r  # type: ignore[union-attr]
            print(f"lookup {name:18} {parser:16} {_fmt(r)}")
    cli = str(Path(sys.executable).parent / "winmigrate")
    sync = not args.no_sync
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        edits = {parser: (EDIT[parser], [str(system), os.path.join(tmp, parser)], repeat)
                 for parser in parsers if parser in EDIT}
        # The baseline, in the same turns: a plain copy of the file.
        edits["copy"] = ("import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])",
                         [str(system), os.path.join(tmp, "copy")], repeat)
        for parser, r in measure(edits, sync_first=sync).items():
            results["edit"][parser] = r  # type: ignore[index]
            label = "cp (baseline)" if parser == "copy" else parser
            print(f"edit   {'SYSTEM 16 MB':18} {label:16} {_fmt(r)}")
        print(f"bulk   {'1000 keys x 5 values':18} {'winmigrate':16}", end=" ", flush=True)
        r = measure({"winmigrate": (BULK, [str(system), os.path.join(tmp, "bulk")],
                                                repeat)}, sync_first=sync)["winmigrate"]
        results["edit"]["bulk-1000x5"] = r  # type: ignore[index]
        print(_fmt(r))
        results.update(in_place_and_reg(hives, parsers, tmp, cli, repeat, sync))
    print("start-up of the read commands (20 rounds in turns)", flush=True)
    results["startup"] = startup(str(system), 20)
    print(startup_table(results["startup"]))  # type: ignore[arg-type]
    print()
    print(summary(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nsaved {args.json}")
    return 0


def _fresh_copy(source: Path, target: str) -> None:
    """``target`` as a copy of ``source`` with no transaction logs beside it."""
    shutil.copyfile(source, target)
    for suffix in (".LOG", ".LOG1", ".LOG2"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target + suffix)


def in_place_and_reg(hives: dict[str, Path], parsers: list[str], tmp: str, cli: str,
                     repeat: int, sync: bool) -> dict[str, object]:
    """Edit + save in place (the conversion's case: the customer's file, journalled and
    crash-safe for winmigrate), export to .reg and import of that file into an empty hive, on
    every hive, winmigrate's command line against hivex's (hivexregedit for .reg files)."""
    out: dict[str, dict[str, object]] = {"edit_in_place": {}, "export": {}, "import": {}}
    empty = os.path.join(tmp, "empty.hiv")
    subprocess.run([sys.executable, "-c", "import sys, winmigrate\n"
                    "winmigrate.create('IMPORTED').save(sys.argv[1])", empty], check=True)
    for name, path in hives.items():
        edits: dict[str, Job | Cmd] = {}
        for parser in ("winmigrate", "hivex"):
            if parser in parsers:
                target = os.path.join(tmp, f"in-place-{parser}.hiv")
                edits[parser] = Cmd([interpreter(parser), "-c", EDIT[parser], target], repeat,
                                    setup=functools.partial(_fresh_copy, path, target))
        out["edit_in_place"][name] = rows = measure(edits, sync_first=sync)
        for parser, r in rows.items():
            print(f"edit in place {name:18} {parser:16} {_fmt(r)}")
        prefix = "HKEY_LOCAL_MACHINE\\IMPORTED"
        regs = {"winmigrate": os.path.join(tmp, "export-winmigrate.reg"),
                "hivexregedit": os.path.join(tmp, "export-hivexregedit.reg")}
        exports: dict[str, Job | Cmd] = {
            "winmigrate": Cmd([cli, "export", str(path), "-o", regs["winmigrate"], "--prefix",
                               prefix], repeat)}
        hx_runs = repeat if name == "SYSTEM 16 MB" else 1  # 16 s a run on the big hive
        if shutil.which("hivexregedit"):
            exports["hivexregedit"] = Cmd(["hivexregedit", "--export", "--prefix", prefix,
                                           str(path), "\\"], hx_runs,
                                          stdout=regs["hivexregedit"])
        out["export"][name] = rows = measure(exports)
        for parser, r in rows.items():
            print(f"export {name:18} {parser:16} {_fmt(r)}")
        imports: dict[str, Job | Cmd] = {}
        target = os.path.join(tmp, "import-winmigrate.hiv")
        imports["winmigrate"] = Cmd([cli, "import", target, regs["winmigrate"]], hx_runs + 1,
                                    setup=functools.partial(_fresh_copy, Path(empty), target))
        if "hivexregedit" in exports and name == "SYSTEM 16 MB":  # minutes on the big hive
            target = os.path.join(tmp, "import-hivexregedit.hiv")
            imports["hivexregedit"] = Cmd(
                ["hivexregedit", "--merge", "--prefix", prefix, target, regs["hivexregedit"]],
                1, setup=functools.partial(_fresh_copy, Path(empty), target))
        out["import"][name] = rows = measure(imports, sync_first=sync)
        for parser, r in rows.items():
            print(f"import {name:18} {parser:16} {_fmt(r)}")
    return dict(out)


def _fmt(r: dict[str, object]) -> str:
    if "error" in r:
        return f"ERROR {r['error']}"
    return f"{r['seconds']:8.3f} s  {int(r['peak_rss']) / 2**20:7.1f} MB  [{r['output']}]"


def summary(results: dict) -> str:  # type: ignore[type-arg]
    lines = []
    for task in ("walk", "lookup"):
        for hive, rows in results[task].items():
            mine = rows.get("winmigrate", {}).get("seconds")
            lines.append(f"{task} — {hive}")
            lines.append(f"  {'parser':16} {'median s':>9} {'vs winmigrate':>14} {'peak MB':>8}")
            for parser, r in sorted(rows.items(), key=lambda kv: kv[1].get("seconds", 1e9)):
                if "error" in r:
                    lines.append(f"  {parser:16} {'error':>9}")
                    continue
                ratio = r["seconds"] / mine if mine else float("nan")
                lines.append(f"  {parser:16} {r['seconds']:9.3f} {ratio:13.2f}x "
                             f"{r['peak_rss'] / 2**20:8.1f}")
    edit = results["edit"]
    if "winmigrate" in edit and "seconds" in edit["winmigrate"]:
        lines.append("edit — open 16 MB SYSTEM, add viostor + CDD entry, save to a new file")
        for name, r in edit.items():
            if "seconds" in r:
                lines.append(f"  {name:16} {r['seconds']:9.3f}")
    sizes = results["hives"]
    for task, other in (("edit_in_place", "hivex"), ("export", "hivexregedit"),
                        ("import", "hivexregedit")):
        for hive, rows in results.get(task, {}).items():
            mine = rows.get("winmigrate", {})
            if "seconds" not in mine:
                continue
            theirs = rows.get(other, {})
            ratio = (f"{mine['seconds'] / theirs['seconds']:.2f}x {other}"
                     if "seconds" in theirs else f"no {other} run")
            extra = (f", {other} {(theirs['peak_rss']) / 2**20:.0f} MB"
                     if "peak_rss" in theirs else "")
            lines.append(f"{task} — {hive}: winmigrate {mine['seconds']:.3f} s = {ratio}; "
                         f"peak {mine['peak_rss'] / 2**20:.0f} MB (hive "
                         f"{sizes[hive] / 2**20:.0f} MB){extra}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
