#!/usr/bin/env python3
"""Should the record layouts be declared with ``construct``? Measure it on the hottest record.

    pip install -e '.[bench]' && python benchmarks/construct_vs_struct.py

Parses every key node (nk) of the 16 MB corpus SYSTEM hive three ways: the precompiled
``struct.Struct`` winmigrate uses, a ``construct`` Struct declared the same way, and the same
``construct`` Struct compiled (``.compile()``). The design card allowed ``construct`` only where a
benchmark shows it costs nothing on a hot path; the figures are in docs/performance.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIG_SYSTEM, corpus  # (importing run also puts src/ on the path)

import winmigrate
from winmigrate.regf import layout as L


def main() -> int:
    try:
        from construct import Bytes, Int16ul, Int32ul, Int64ul, Struct
    except ImportError:
        print("construct is not installed: pip install -e '.[bench]'")
        return 1
    hive = winmigrate.open(corpus() / BIG_SYSTEM)
    buf = hive._img.buf
    starts = [key.offset + 4096 + 4 for key in hive.walk()]
    nk = Struct(
        "signature" / Bytes(2), "flags" / Int16ul, "timestamp" / Int64ul,
        "access_bits" / Int32ul, "parent" / Int32ul, "subkey_count" / Int32ul,
        "volatile_subkey_count" / Int32ul, "subkey_list" / Int32ul,
        "volatile_subkey_list" / Int32ul, "value_count" / Int32ul, "value_list" / Int32ul,
        "security" / Int32ul, "class_offset" / Int32ul, "max_name" / Int32ul,
        "max_class" / Int32ul, "max_value_name" / Int32ul, "max_value_data" / Int32ul,
        "workvar" / Int32ul, "name_length" / Int16ul, "class_length" / Int16ul,
    )
    compiled = nk.compile()
    view = memoryview(buf)

    def with_struct() -> None:
        unpack = L.NK.unpack_from
        for a in starts:
            unpack(buf, a)

    def with_construct() -> None:
        for a in starts:
            nk.parse(view[a:a + 76])

    def with_compiled() -> None:
        for a in starts:
            compiled.parse(view[a:a + 76])

    results = {}
    for name, fn in (("struct (winmigrate)", with_struct), ("construct", with_construct),
                     ("construct, compiled", with_compiled)):
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        results[name] = best
    base = results["struct (winmigrate)"]
    print(f"{len(starts)} key nodes of {BIG_SYSTEM}")
    for name, seconds in results.items():
        print(f"  {name:22} {seconds * 1000:8.1f} ms   {seconds / base:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
