"""Coverage-guided fuzzing with atheris (libFuzzer) for long campaigns.

    .venv/bin/pip install atheris            # a binary wheel exists for CPython 3.8-3.12 on Linux
    .venv/bin/python tests/fuzz/atheris_entry.py /tmp/wm-corpus -atheris_runs=100000 \\
        -timeout=30 -rss_limit_mb=4096

An empty corpus folder is filled with the seeds first (synthetic hives, the small fixtures, the
dirty hives with their logs). An input is either a primary hive, or a container holding a
primary and its logs (``WMFZLOGS`` + for each file: role (4 bytes, space-padded), length (u32),
bytes) so that log replay is fuzzed too. Every input goes through
:func:`tests.fuzz.harness.run_one`; a :class:`~tests.fuzz.harness.FuzzFailure` (an exception
other than ``WinmigrateError``, or a bound exceeded) is a crash for libFuzzer, which saves the
input. Half of the mutations are the structure-aware ones of :mod:`tests.fuzz.mutators`, half
libFuzzer's own. libFuzzer owns SIGALRM (``-timeout``) and the memory limit (``-rss_limit_mb``);
set ``WINMIGRATE_FUZZ_TRACEMALLOC=1`` to also check the harness's allocation bound per input
(several times slower).

Without atheris the module still imports (``main()`` says how to install it), so the test-suite
can check it.
"""

from __future__ import annotations

import os
import random
import struct
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

try:
    import atheris
except ImportError:  # pragma: no cover - depends on the machine
    atheris = None

MAGIC = b"WMFZLOGS"
_ROLES = ("LOG", "LOG1", "LOG2")


def pack(primary: bytes, logs: dict[str, bytes] | None) -> bytes:
    """The input form of a primary (and its logs)."""
    if not logs:
        return primary
    out = bytearray(MAGIC)
    for role, data in [("HIVE", primary), *sorted(logs.items())]:
        out += role.encode().ljust(4)[:4] + struct.pack("<I", len(data)) + data
    return bytes(out)


def unpack(data: bytes) -> tuple[bytes, dict[str, bytes] | None]:
    """Inverse of :func:`pack`; a malformed container is read as far as it goes."""
    if not data.startswith(MAGIC):
        return data, None
    pos = len(MAGIC)
    primary = b""
    logs: dict[str, bytes] = {}
    while pos + 8 <= len(data):
        role = data[pos:pos + 4].decode("latin-1").strip()
        (length,) = struct.unpack_from("<I", data, pos + 4)
        body = data[pos + 8:pos + 8 + length]
        pos += 8 + length
        if role == "HIVE":
            primary = body
        elif role in _ROLES:
            logs[role] = body
    return primary, logs


def test_one_input(data: bytes) -> None:
    from tests.fuzz import harness

    primary, logs = unpack(bytes(data))
    harness.run_one(primary, logs=logs, use_alarm=False,
                    measure_memory=os.environ.get("WINMIGRATE_FUZZ_TRACEMALLOC") == "1")


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Our structure-aware mutators half of the time (on the primary or on a log), libFuzzer's
    byte-level ones the other half."""
    from tests.fuzz import mutators

    rng = random.Random(seed)
    if atheris is None or rng.random() < 0.5:
        primary, logs = unpack(bytes(data))
        if logs and rng.random() < 0.6:
            role = rng.choice(sorted(logs))
            name = rng.choice(sorted(mutators.LOG_MUTATORS))
            try:
                logs[role] = mutators.LOG_MUTATORS[name](logs[role], rng,
                                                         mutators.log_layout(logs[role]))
            except (struct.error, IndexError, ValueError):
                pass
        else:
            primary, _used = mutators.mutate_hive(primary, rng, mutators.hive_layout(primary))
        out = pack(primary, logs)
        return out[:max_size] if len(out) > max_size else out
    return bytes(atheris.Mutate(data, max_size))


def write_seeds(folder: Path) -> int:
    from tests.fuzz.seeds import fixture_seeds, synthetic_seeds

    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for seed in synthetic_seeds() + fixture_seeds():
        name = seed.name.replace(":", "_").replace("/", "_")
        (folder / name).write_bytes(pack(seed.data, seed.logs or None))
        n += 1
    return n


def main(argv: list[str]) -> int:
    if atheris is None:
        print("atheris is not installed: .venv/bin/pip install atheris", file=sys.stderr)
        return 2
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if corpus and (not Path(corpus[0]).exists() or not any(Path(corpus[0]).iterdir())):
        print(f"seeding {corpus[0]} with {write_seeds(Path(corpus[0]))} inputs", flush=True)
    if not any(a.startswith("-max_len") for a in argv):
        argv = [*argv, "-max_len=600000"]
    if not any(a.startswith("-timeout") for a in argv):
        argv = [*argv, "-timeout=30"]
    with atheris.instrument_imports(include=["winmigrate"]):
        import winmigrate
        import winmigrate.hive.check
        import winmigrate.hive.logs
        import winmigrate.regf.logfile
        import winmigrate.regfile
        import winmigrate.windows.network
        import winmigrate.windows.services  # noqa: F401
    from tests.fuzz import harness

    harness.warm_up()
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
