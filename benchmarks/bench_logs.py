"""Time the replay of regipy's SYSTEM_B transaction logs (Windows 10 1709: a 12.8 MB primary,
SYSTEM_B.LOG1 and SYSTEM_B.LOG2, 6.4 MB together; 24 new-format entries, 2.8 MB of them hashed and
applied) and of Marvin32 alone over 6 MB. Prints the median of 5 runs of each.

    .venv/bin/python benchmarks/bench_logs.py [CORPUS_DIR]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from winmigrate.hive.logs import recover_file  # noqa: E402
from winmigrate.regf.marvin import marvin32  # noqa: E402

SYSTEM_B = "mkorman90_regipy/regipy_tests/data/SYSTEM_B"
RUNS = 5


def corpus_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    extract = REPO.parent / "shared" / "corpus" / "extract"
    out = subprocess.run([sys.executable, str(extract)], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()
    return Path(out[-1])


def median_time(fn: object, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    path = corpus_dir() / SYSTEM_B
    if not path.is_file():
        print(f"{path} not found", file=sys.stderr)
        return 1
    logs = sum(os.path.getsize(f"{path}.LOG{i}") for i in (1, 2))
    _image, report = recover_file(path)
    hashed = sum(log.bytes_applied for log in report.logs)
    print(f"SYSTEM_B: primary {os.path.getsize(path) / 1e6:.1f} MB, logs {logs / 1e6:.1f} MB; "
          f"{report.summary()}")
    replay = median_time(lambda: recover_file(path))
    print(f"replay (read primary + logs, verify hashes, apply, clean base block): "
          f"{replay:.3f} s median of {RUNS}")
    data = os.urandom(6 * 1024 * 1024)
    marvin = median_time(lambda: marvin32(data))
    print(f"marvin32 over 6 MiB: {marvin:.3f} s median of {RUNS} "
          f"({len(data) / marvin / 1e6:.1f} MB/s); page data applied: {hashed / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
