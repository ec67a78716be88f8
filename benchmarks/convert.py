#!/usr/bin/env python3
"""A whole-guest conversion against a plain copy of the same driver files.

    python benchmarks/convert.py            # 5 runs per case, results printed and in out/
    python benchmarks/convert.py --runs 3 --sys-size 4194304

What a conversion costs beyond copying files: it reads the virtio-win source (a folder or the
ISO, through pycdlib), the guest's SYSTEM and SOFTWARE hives, plans every file and registry
change, writes the manifest first, backs up both hives and their logs, writes every file to a
temporary name, fsyncs and renames it, and saves both hives in place through their transaction
logs. The plain copy is ``shutil.copyfile`` of the same driver files to the same places, with
no fsync -- what a careless script would do. The fake guests and driver trees come from
``fixtures/``; each ``.sys`` is padded to ``--sys-size`` bytes (virtio-win's are 100 KB to
1 MB). Each run gets a fresh guest; the median is reported.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "fixtures"))

import make_guests  # noqa: E402
import make_virtio_win  # noqa: E402

from winmigrate.convert import ConvertConfig, plan_conversion  # noqa: E402


def _pad(tree: Path, size: int) -> None:
    for sys_file in tree.rglob("*.sys"):
        data = sys_file.read_bytes()
        sys_file.write_bytes(data + bytes(max(0, size - len(data))))


def _plain_copy(root: Path, plan_files: list[tuple[str, Path]], *, durable: bool) -> None:
    import os

    for guest_path, source in plan_files:
        target = root.joinpath(*guest_path.split("\\"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        if durable:  # what the conversion does for each file: on disk before it goes on
            fd = os.open(target, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)


def run(runs: int, sys_size: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="wm-bench-convert-"))
    results: dict[str, object] = {"runs": runs, "sys_size": sys_size, "cases": {}}
    try:
        tree = work / "virtio-win"
        make_virtio_win.build_tree(tree)
        _pad(tree, sys_size)
        iso = work / "virtio-win.iso"
        make_virtio_win.build_iso(tree, iso)
        for family in ("xp", "2008r2", "2019"):
            for label, source in (("folder", tree), ("iso", iso)):
                convert, plan_times, copies, synced = [], [], [], []
                copied = 0
                for i in range(runs):
                    root = make_guests.build_guest(work / f"{family}-{label}-{i}", family)
                    start = time.perf_counter()
                    plan = plan_conversion(root, ConvertConfig(drivers=str(source)))
                    planned = time.perf_counter()
                    plan.apply()
                    done = time.perf_counter()
                    plan_times.append(planned - start)
                    convert.append(done - start)
                    # the same driver files, copied plainly into a fresh guest
                    files = []
                    for f in plan.files:  # the driver files (their source is "SOURCE: path")
                        origin = f.source.rsplit(": ", 1)
                        if len(origin) == 2 and (tree / origin[1]).is_file():
                            files.append((f.guest_path, tree / origin[1]))
                    plain_root = make_guests.build_guest(work / f"plain-{family}-{label}-{i}",
                                                         family)
                    start = time.perf_counter()
                    _plain_copy(plain_root, files, durable=False)
                    copies.append(time.perf_counter() - start)
                    shutil.rmtree(plain_root)
                    plain_root = make_guests.build_guest(work / f"sync-{family}-{label}-{i}",
                                                         family)
                    start = time.perf_counter()
                    _plain_copy(plain_root, files, durable=True)
                    synced.append(time.perf_counter() - start)
                    copied = sum(p.stat().st_size for _g, p in files)
                    shutil.rmtree(root)
                    shutil.rmtree(plain_root)
                case = {"convert_s": statistics.median(convert),
                        "plan_s": statistics.median(plan_times),
                        "plain_copy_s": statistics.median(copies),
                        "fsynced_copy_s": statistics.median(synced),
                        "driver_bytes": copied}
                case["ratio"] = case["convert_s"] / case["plain_copy_s"]
                results["cases"][f"{family}/{label}"] = case  # type: ignore[index]
                print(f"{family:7} {label:6} convert {case['convert_s'] * 1000:7.1f} ms "
                      f"(plan {case['plan_s'] * 1000:6.1f} ms)  plain copy "
                      f"{case['plain_copy_s'] * 1000:6.2f} ms, fsynced "
                      f"{case['fsynced_copy_s'] * 1000:6.1f} ms, of {copied:,} bytes  "
                      f"ratio {case['ratio']:.0f}x")
    finally:
        shutil.rmtree(work)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sys-size", type=int, default=512 * 1024)
    args = parser.parse_args()
    results = run(args.runs, args.sys_size)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "convert.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
