"""A long, deterministic fuzz campaign without Hypothesis: seeded mutations of the seeds through
:func:`tests.fuzz.harness.run_one`, in one process.

    .venv/bin/python tests/fuzz/campaign.py --inputs 1000000 --out /tmp/fuzz-failures
    .venv/bin/python tests/fuzz/campaign.py --replay /tmp/fuzz-failures/<case>   # one saved case
    .venv/bin/python tests/fuzz/campaign.py --index 123456 --seed 1              # regenerate one

Input ``i`` of a campaign with base seed ``S`` comes from ``random.Random(S * 2**40 + i)``: the seed
hive (weighted choice), then 1-4 mutators. Every failure is saved (the first few of each kind)
with the files, the seed, the index and the traceback, so it replays without the campaign.
Progress goes to stdout every ``--progress`` seconds; the summary at the end (and on Ctrl-C) is
printed and written to ``OUT/summary.json``.

Per-input work can be thinned for throughput (each option says what is skipped): ``--check-every``
(run ``check()`` on every k-th input), ``--ops-every`` (the ``.reg`` export, the network and
service readers and lookups by name on every k-th input), ``--memory-every`` (measure
allocations with tracemalloc on every k-th input: it makes a run several times slower),
``--tolerant on-error`` (read tolerantly only when the strict read met an error). A hard
address-space limit (``--rlimit-gb``) keeps a runaway allocation from hurting the machine: it
turns into a ``MemoryError`` failure.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests`` and ``winmigrate`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from tests.fuzz import harness, mutators
from tests.fuzz.seeds import Seed, all_seeds

KEEP_PER_SIGNATURE = 5


class Generator:
    """Input ``i`` of the campaign with base seed ``base``: ``(seed, data, logs, mutators)``."""

    def __init__(self, seeds: tuple[Seed, ...], base: int) -> None:
        self.seeds = seeds
        self.base = base
        self.weights = [s.weight for s in seeds]
        self.hive_layouts = [mutators.hive_layout(s.data) for s in seeds]
        self.log_layouts = [{role: mutators.log_layout(b) for role, b in s.logs.items()}
                            for s in seeds]

    def make(self, index: int) -> tuple[Seed, bytes, dict[str, bytes] | None, list[str]]:
        rng = random.Random(self.base * (1 << 40) + index)
        k = rng.choices(range(len(self.seeds)), weights=self.weights)[0]
        seed = self.seeds[k]
        if seed.logs:
            data, logs, used = mutators.mutate_logs(seed.data, seed.logs, rng,
                                                     self.hive_layouts[k], self.log_layouts[k])
            return seed, data, logs, used
        data, used = mutators.mutate_hive(seed.data, rng, self.hive_layouts[k])
        return seed, data, None, used


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:80]


def save_case(out: Path, signature: str, index: int | None, seed_name: str, data: bytes,
              logs: dict[str, bytes] | None, used: list[str], failure: harness.FuzzFailure,
              base: int | None) -> Path:
    folder = out / f"{_slug(signature)}-{index if index is not None else 'x'}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "HIVE").write_bytes(data)
    for role, content in (logs or {}).items():
        (folder / f"HIVE.{role}").write_bytes(content)
    meta = {"signature": signature, "index": index, "base_seed": base, "seed": seed_name,
            "mutators": used, "stage": failure.stage, "kind": failure.kind,
            "detail": failure.detail, "logs": sorted(logs) if logs is not None else None}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    return folder


def replay(folder: Path) -> int:
    data = (folder / "HIVE").read_bytes()
    meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
    roles = meta.get("logs")
    logs = None
    if roles is not None:
        logs = {role: (folder / f"HIVE.{role}").read_bytes() for role in roles}
    try:
        label = harness.run_one(data, logs=logs)
    except harness.FuzzFailure as e:
        print(f"FAILS: {e.signature}\n{e.detail}")
        return 1
    print(f"passes now: {label} ({harness.LAST.elapsed:.3f} s, peak {harness.LAST.peak})")
    return 0


class Summary:
    def __init__(self, args: argparse.Namespace, seeds: tuple[Seed, ...]) -> None:
        self.args = args
        self.started = time.time()
        self.inputs = 0
        self.labels: collections.Counter[str] = collections.Counter()
        self.by_seed: collections.Counter[str] = collections.Counter()
        self.by_mutator: collections.Counter[str] = collections.Counter()
        self.failures: collections.Counter[str] = collections.Counter()
        self.saved: dict[str, list[str]] = {}
        self.slowest: dict[str, object] = {"elapsed": 0.0}
        self.largest: dict[str, object] = {"of_bound": 0.0}
        self.measured = 0
        self.seeds = {s.name: {"size": s.size, "sha256/16": s.digest()} for s in seeds}

    def to_dict(self) -> dict[str, object]:
        elapsed = time.time() - self.started
        return {
            "inputs": self.inputs, "elapsed_s": round(elapsed, 1),
            "rate_per_s": round(self.inputs / elapsed, 1) if elapsed else None,
            "base_seed": self.args.seed, "check_every": self.args.check_every,
            "ops_every": self.args.ops_every,
            "memory_every": self.args.memory_every, "tolerant": self.args.tolerant,
            "memory_measured_inputs": self.measured,
            "log_stages_exempt_from_memory_bound": harness.log_read_preallocates(),
            "failures": dict(self.failures), "saved": self.saved,
            "slowest": self.slowest, "largest_peak": self.largest,
            "labels": dict(self.labels.most_common()), "by_seed": dict(self.by_seed.most_common()),
            "by_mutator": dict(self.by_mutator.most_common()), "seeds": self.seeds,
        }


def _every(index: int, k: int) -> bool:
    return k > 0 and index % k == 0


def campaign(args: argparse.Namespace) -> int:
    if args.rlimit_gb:
        import resource

        limit = int(args.rlimit_gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    seeds = all_seeds(corpus=not args.no_corpus)
    if args.only_seed:
        seeds = tuple(s for s in seeds if re.search(args.only_seed, s.name))
    gen = Generator(seeds, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = Summary(args, seeds)
    print(f"campaign: {args.inputs} inputs, base seed {args.seed}, {len(seeds)} seeds, "
          f"failures -> {out}", flush=True)
    last_progress = time.time()
    index = args.start
    try:
        for index in range(args.start, args.start + args.inputs):
            try:
                seed, data, logs, used = gen.make(index)
            except Exception as e:  # a mutator bug must not end a long campaign
                summary.failures[f"generator:{type(e).__name__}"] += 1
                print(f"GENERATOR ERROR at input {index}: {e!r}", flush=True)
                continue
            measure = _every(index, args.memory_every)
            try:
                label = harness.run_one(data, logs=logs,
                                        check=_every(index, args.check_every),
                                        operations=_every(index, args.ops_every),
                                        lookups=_every(index, args.ops_every),
                                        measure_memory=measure, tolerant=args.tolerant)
                summary.labels[label] += 1
            except harness.FuzzFailure as failure:
                sig = failure.signature
                summary.failures[sig] += 1
                if summary.failures[sig] <= KEEP_PER_SIGNATURE:
                    folder = save_case(out, sig, index, seed.name, data, logs, used, failure,
                                       args.seed)
                    summary.saved.setdefault(sig, []).append(str(folder))
                    print(f"FAILURE #{summary.failures[sig]} {sig} at input {index} "
                          f"({seed.name}, {used}) -> {folder}", flush=True)
            summary.inputs += 1
            summary.by_seed[seed.name] += 1
            for name in used:
                summary.by_mutator[name] += 1
            stats = harness.LAST
            if stats.elapsed > float(summary.slowest["elapsed"]):  # type: ignore[arg-type]
                summary.slowest = {"elapsed": round(stats.elapsed, 4), "index": index,
                                   "seed": seed.name, "mutators": used, "size": stats.size}
            if measure:
                summary.measured += 1
                of_bound = stats.peak / harness.memory_bound(stats.size)
                if of_bound > float(summary.largest["of_bound"]):  # type: ignore[arg-type]
                    summary.largest = {"of_bound": round(of_bound, 3), "peak": stats.peak,
                                       "x_input": round(stats.peak / max(1, stats.size), 1),
                                       "stage": stats.peak_stage, "index": index,
                                       "seed": seed.name, "mutators": used, "size": stats.size}
            now = time.time()
            if now - last_progress >= args.progress:
                last_progress = now
                rate = summary.inputs / (now - summary.started)
                left = (args.inputs - summary.inputs) / rate if rate else 0
                top = ", ".join(f"{k} {v}" for k, v in summary.labels.most_common(4))
                (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2))
                print(f"[{time.strftime('%H:%M:%S')}] {summary.inputs} inputs, {rate:.0f}/s, "
                      f"~{left / 60:.0f} min left, failures {sum(summary.failures.values())} "
                      f"({len(summary.failures)} kinds), slowest "
                      f"{summary.slowest['elapsed']} s, largest peak "
                      f"{summary.largest['of_bound']} of the bound | {top}", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted at input {index}", flush=True)
    result = summary.to_dict()
    (out / "summary.json").write_text(json.dumps(result, indent=2))
    print("SUMMARY " + json.dumps({k: v for k, v in result.items()
                                   if k not in ("seeds", "by_seed")}, indent=2), flush=True)
    return 1 if summary.failures else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1, help="base seed of the campaign")
    p.add_argument("--start", type=int, default=0, help="first input index")
    p.add_argument("--out", default="/tmp/winmigrate-fuzz", help="folder for failures/summary")
    p.add_argument("--check-every", type=int, default=1)
    p.add_argument("--memory-every", type=int, default=1)
    p.add_argument("--ops-every", type=int, default=1,
                   help="export, network, services and name lookups on every k-th input")
    p.add_argument("--tolerant", choices=("always", "on-error"), default="always")
    p.add_argument("--no-corpus", action="store_true", help="synthetic and fixture seeds only")
    p.add_argument("--only-seed", help="regular expression on seed names")
    p.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines")
    p.add_argument("--rlimit-gb", type=float, default=6.0, help="address-space limit (0: none)")
    p.add_argument("--replay", help="a saved failure folder: run it again")
    p.add_argument("--index", type=int, help="regenerate input INDEX of --seed and run it")
    args = p.parse_args(argv)
    if args.replay:
        return replay(Path(args.replay))
    if args.index is not None:
        gen = Generator(all_seeds(corpus=not args.no_corpus), args.seed)
        seed, data, logs, used = gen.make(args.index)
        print(f"input {args.index}: {seed.name} {used} ({len(data)} bytes)")
        try:
            print(harness.run_one(data, logs=logs))
        except harness.FuzzFailure as e:
            print(f"FAILS: {e.signature}\n{e.detail}")
            return 1
        return 0
    return campaign(args)


if __name__ == "__main__":
    sys.exit(main())
