#!/usr/bin/env python3
"""Why the hot readers decode UTF-16LE with ``codecs.utf_16_le_decode`` (``layout.UTF16LE``)
rather than ``bytes.decode("utf-16-le")``: the method looks the codec up by name and calls the
Python wrapper in ``encodings/utf_16_le.py`` on every call. Measured on every REG_SZ value of
the 16 MB corpus SYSTEM hive, decoded both ways (same results checked); figures are in
docs/performance.md.

    python benchmarks/utf16_decode.py
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
    with winmigrate.open(corpus() / BIG_SYSTEM) as hive:
        raws = [v.raw for k in hive.walk() for v in k.values()
                if v.type_number == 1 and not len(v.raw) & 1]
    decode = L.UTF16LE
    assert [r.decode("utf-16-le", "surrogatepass") for r in raws] == \
        [decode(r, "surrogatepass", True)[0] for r in raws]
    best = {}
    for name in ("bytes.decode", "codecs.utf_16_le_decode"):
        times = []
        for _ in range(7):
            start = time.perf_counter()
            if name == "bytes.decode":
                for r in raws:
                    r.decode("utf-16-le", "surrogatepass")
            else:
                for r in raws:
                    decode(r, "surrogatepass", True)
            times.append(time.perf_counter() - start)
        best[name] = min(times)
        print(f"{name:24} {best[name] * 1e9 / len(raws):6.0f} ns per string "
              f"({len(raws)} REG_SZ values, best of 7)")
    print(f"ratio {best['bytes.decode'] / best['codecs.utf_16_le_decode']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
