#!/usr/bin/env python3
"""Generate and check the data behind ``winmigrate.regf.upcase``.

    python tools/gen_upcase.py              # print the _CASED_ADDED_4_0_TO_5_1 literal
    python tools/gen_upcase.py --check      # compare the module's table with an NTFS $UpCase
    python tools/gen_upcase.py --check --upcase-file UPCASE.bin

The rule (see the module docstring): a BMP code unit c maps to U when U is c's simple uppercase,
c is U's simple lowercase, and both were assigned by Unicode 5.1.0. Python keeps only Unicode 3.2
as an old version (``unicodedata.ucd_3_2_0``), so the module lists the cased code points added in
Unicode 4.0-5.1. This script derives that list from Unicode's age data ("Present_In=5.1"), taken
from Perl's Unicode::UCD (Debian's perl-modules) or from a DerivedAge.txt given with
``--derived-age``, and never from the Windows table it is then checked against.

``--check`` needs ``mkntfs`` and ``ntfscat`` (Debian package ntfs-3g), or ``--upcase-file``: a raw
$UpCase (65536 little-endian u16). It also prints how the table differs from ``str.upper()``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))


def present_in_5_1(derived_age: str | None) -> list[bool]:
    """For each BMP code point: assigned by Unicode 5.1.0."""
    out = [False] * 0x10000
    if derived_age:
        pat = re.compile(r"^([0-9A-F]{4,6})(?:\.\.([0-9A-F]{4,6}))?\s*;\s*([0-9.]+)")
        with open(derived_age, encoding="utf-8") as f:
            for line in f:
                m = pat.match(line)
                if not m:
                    continue
                lo = int(m[1], 16)
                hi = int(m[2] or m[1], 16)
                if tuple(int(x) for x in m[3].split(".")) <= (5, 1):
                    for cp in range(lo, min(hi, 0xFFFF) + 1):
                        out[cp] = True
        return out
    script = 'use Unicode::UCD "prop_invlist"; print join(" ", prop_invlist("Present_In=5.1"));'
    inv = [
        int(x)
        for x in subprocess.run(
            ["perl", "-e", script], check=True, capture_output=True, text=True
        ).stdout.split()
    ]
    inv.append(0x110000)
    for i in range(0, len(inv) - 1, 2):
        for cp in range(inv[i], min(inv[i + 1], 0x10000)):
            out[cp] = True
    return out


def unicode_blocks(cps: list[int], derived_age: str | None) -> list[str]:
    """Block names for comments (Perl's Unicode::UCD; blank with --derived-age)."""
    if derived_age:
        return [""] * len(cps)
    script = 'use Unicode::UCD "charblock"; print charblock($_), "\\n" for @ARGV;'
    out = subprocess.run(
        ["perl", "-e", script, *map(str, cps)], check=True, capture_output=True, text=True
    ).stdout
    return out.splitlines()


def case_pairs() -> dict[int, int]:
    """All BMP round-trip simple case pairs of this Python's Unicode database, any age."""
    pairs = {}
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        up = ch.upper()
        if len(up) != 1:
            up = ch.title()
            if len(up) != 1:
                continue
        if up != ch and up.lower() == ch and ord(up) <= 0xFFFF:
            pairs[cp] = ord(up)
    return pairs


def generate(derived_age: str | None) -> str:
    in51 = present_in_5_1(derived_age)
    ucd32 = unicodedata.ucd_3_2_0
    pairs = case_pairs()
    members = sorted(
        {
            x
            for lo, up in pairs.items()
            if in51[lo] and in51[up]
            for x in (lo, up)
            if ucd32.category(chr(x)) == "Cn"
        }
    )
    runs: list[list[int]] = []
    for cp in members:
        # Extend the previous run over a gap only if every code point in it is of Unicode <= 5.1,
        # so that a range never admits a letter added later.
        if runs and all(in51[x] for x in range(runs[-1][1] + 1, cp)):
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    ends = unicode_blocks([x for run in runs for x in run], derived_age)
    blocks = [a if a == b else f"{a} to {b}" for a, b in zip(ends[::2], ends[1::2], strict=True)]
    lines = ["_CASED_ADDED_4_0_TO_5_1: tuple[tuple[int, int], ...] = ("]
    for (lo, hi), block in zip(runs, blocks, strict=True):
        inside = [c for c in members if lo <= c <= hi]
        sample = "".join(chr(c) for c in inside[:2])
        if len(inside) > 2:
            sample += "…" + chr(inside[-1])
        lines.append(f"    (0x{lo:04X}, 0x{hi:04X}),  # {block}: {len(inside)} ({sample})")
    lines.append(")")
    return "\n".join(lines)


def ntfs_upcase(path: str | None) -> list[int]:
    if path:
        with open(path, "rb") as f:
            data = f.read()
    else:
        if not (shutil.which("mkntfs") and shutil.which("ntfscat")):
            sys.exit("mkntfs/ntfscat not found: apt-get install ntfs-3g, or pass --upcase-file")
        with tempfile.TemporaryDirectory() as tmp:
            img = os.path.join(tmp, "ntfs.img")
            with open(img, "wb") as f:
                f.truncate(8 << 20)
            subprocess.run(["mkntfs", "-F", "-f", "-q", img], check=True, capture_output=True)
            data = subprocess.run(
                ["ntfscat", img, "$UpCase"], check=True, capture_output=True
            ).stdout
    if len(data) != 0x20000:
        sys.exit(f"$UpCase has {len(data)} bytes, expected 131072")
    return list(struct.unpack("<65536H", data))


def check(upcase_file: str | None, derived_age: str | None) -> int:
    from winmigrate.regf.upcase import upcase_table

    table = upcase_table()
    ours = [table.get(cp, cp) for cp in range(0x10000)]
    ref = ntfs_upcase(upcase_file)
    diff = [cp for cp in range(0x10000) if ours[cp] != ref[cp]]
    print(
        f"unicodedata {unicodedata.unidata_version}: {len(table)} mapped code units; "
        f"{len(diff)} differ from $UpCase"
    )
    for cp in diff[:40]:
        print(f"  U+{cp:04X}: ours U+{ours[cp]:04X}, $UpCase U+{ref[cp]:04X}")

    # How Windows differs from str.upper(), code unit by code unit.
    in51 = present_in_5_1(derived_age)
    groups: dict[str, list[int]] = {}
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        up = ch.upper()
        if up == chr(ours[cp]):
            continue
        if len(up) != 1:
            why = (
                "full mapping expands; Windows maps to the titlecase form"
                if ours[cp] != cp
                else "full mapping expands ('ß' -> 'SS'); Windows leaves it"
            )
        elif ord(up) > 0xFFFF:
            why = "maps into another plane"
        elif not (in51[cp] and in51[ord(up)]):
            why = "letter or mapping newer than Unicode 5.1"
        elif up.lower() != ch:
            why = "one-way mapping, not a case pair"
        else:
            why = "other"
        groups.setdefault(why, []).append(cp)
    total = sum(len(v) for v in groups.values())
    print(f"code units where str.upper() differs from Windows: {total}")
    for why, cps in groups.items():
        sample = " ".join(f"{chr(c)}(U+{c:04X})" for c in cps[:12])
        print(f"  {len(cps):4d}  {why}: {sample}{' ...' if len(cps) > 12 else ''}")
    return 1 if diff else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--upcase-file")
    ap.add_argument("--derived-age", help="DerivedAge.txt instead of Perl's Unicode::UCD")
    args = ap.parse_args()
    if args.check:
        return check(args.upcase_file, args.derived_age)
    print(generate(args.derived_age))
    return 0


if __name__ == "__main__":
    sys.exit(main())
