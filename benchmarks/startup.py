#!/usr/bin/env python3
"""Command-line start-up: the read commands against Python's own start-up and hivexget.

    python benchmarks/startup.py               # 40 runs of each, in turns; out/startup.json
    python benchmarks/startup.py --runs 100

Examiners and conversion scripts call ``winmigrate get`` thousands of times in a loop, so the
whole process is what counts: interpreter start, imports, argument parsing, opening the hive,
the lookup, the output. Every command runs as a whole process, all of them in turns (A B C ... A
B C ...) so that a slow spell of the shared machine weighs on all alike; the median is reported
with its ratio to ``python -c pass`` (the floor of any Python command) and to ``hivexget`` (C).

The console script is the one pip installed next to this interpreter (``pip install -e .``):
pip's wrapper imports ``re`` before winmigrate runs, which costs Python about 0.4x of its own
start-up (enum, functools, collections); the ``no-wrapper`` row shows the command without it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIG_SYSTEM = "mkorman90_regipy/_history/9726b9e2ee/regipy_tests/data/SYSTEM"
KEY = r"ControlSet001\Control\Class\{4D36E972-E325-11CE-BFC1-08002BE10318}\0007"


def _hive() -> Path:
    extract = REPO.parent / "shared" / "corpus" / "extract"
    if extract.exists():
        folder = subprocess.run([str(extract)], capture_output=True, text=True,
                                check=True).stdout.strip()
        return Path(folder) / BIG_SYSTEM
    sys.exit("needs ../shared/corpus (the 16 MB Windows 7 SYSTEM hive)")


def startup(hive: str, runs: int) -> dict[str, dict[str, float | None]]:
    """Median and minimum seconds of each command over ``runs`` rounds taken in turns, with the
    ratios to ``python -c pass`` and ``hivexget``."""
    py = sys.executable
    script = Path(py).parent / "winmigrate"
    if not script.exists():
        sys.exit(f"no console script at {script}: pip install -e . first")
    work = Path(tempfile.mkdtemp(prefix="wm-startup-"))
    bare = work / "winmigrate-no-wrapper"
    bare.write_text(f"#!{py}\nfrom winmigrate.cli import run\nrun()\n")
    bare.chmod(0o755)
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "library lookup (script)": [py, "-c", "import sys, winmigrate\nwith winmigrate.open("
                                    "sys.argv[1]) as h: print(h.key(sys.argv[2]).get(sys.argv[3]))",
                                    hive, KEY, "DriverDesc"],
        "winmigrate get": [str(script), "get", hive, KEY, "DriverDesc"],
        "winmigrate get (no-wrapper)": [str(bare), "get", hive, KEY, "DriverDesc"],
        "winmigrate ls": [str(script), "ls", hive, KEY],
        "winmigrate info --quick": [str(script), "info", hive, "--quick"],
        "python -m winmigrate get": [py, "-m", "winmigrate", "get", hive, KEY, "DriverDesc"],
        "winmigrate get --help": [str(script), "get", "--help"],
    }
    if shutil.which("hivexget"):
        commands["hivexget"] = ["hivexget", hive, KEY, "DriverDesc"]
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure as installed: bytecode cached
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
            times[name].append(time.perf_counter() - start)
    shutil.rmtree(work)
    base = statistics.median(times["python -c pass"])
    hivex = statistics.median(times["hivexget"]) if "hivexget" in times else None
    results: dict[str, dict[str, float | None]] = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        results[name] = {"median_s": med, "min_s": min(ts), "vs_python": med / base,
                         "vs_hivexget": None if hivex is None else med / hivex}
    return results


def table(results: dict[str, dict[str, float | None]]) -> str:
    lines = [f"{'command':30} {'median ms':>10} {'x python':>9} {'x hivexget':>11}"]
    for name, r in results.items():
        med, vs_py, vs_hx = r["median_s"], r["vs_python"], r["vs_hivexget"]
        assert med is not None and vs_py is not None
        lines.append(f"{name:30} {med * 1000:10.1f} {vs_py:8.2f}x "
                     f"{'' if vs_hx is None else f'{vs_hx:10.2f}x'}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "winmigrate")],
                   check=True)
    results = startup(str(_hive()), args.runs)
    print(table(results))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(json.dumps({"runs": args.runs, "results": results},
                                                 indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
