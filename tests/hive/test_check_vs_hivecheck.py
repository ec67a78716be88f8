"""check() against hivecheck (ReactOS's cmlib: Windows' load-time checks re-implemented) on every
primary hive of the corpus: the agreement table of docs/robustness.md, kept true."""

from __future__ import annotations

import csv
import struct
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import winmigrate
from winmigrate.errors import HiveFormatError

pytestmark = [pytest.mark.corpus, pytest.mark.oracle]

# Where the two disagree, and why (docs/robustness.md, "check() and hivecheck on the corpus").
DISAGREE = {
    # Two ASCII sibling names out of order: cmlib compares compressed names only with UTF-16
    # ones (cmcheck.c, "checks for two compressed names not implemented yet").
    "msuhanov_yarp/hives_for_tests/DuplicateSubkeysHive": (True, "subkey-order"),
}


def _primaries(corpus: Path) -> list[str]:
    """Every primary hive file of the corpus, once per distinct content."""
    seen: set[str] = set()
    out = []
    with open(corpus / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            path = corpus / row["relpath"]
            if row["sha256"] in seen or not path.is_file():
                continue
            with open(path, "rb") as f:
                head = f.read(512)
            if head[:4] == b"regf" and struct.unpack_from("<I", head, 28)[0] == 0:
                seen.add(row["sha256"])
                out.append(row["relpath"])
    return out


def test_check_agrees_with_hivecheck_on_the_corpus(
        corpus: Path, hivecheck: Callable[..., tuple[bool, str]]) -> None:
    table: Counter[str] = Counter()
    disagree = {}
    for rel in _primaries(corpus):
        accepted, _verdict = hivecheck(corpus / rel)
        try:
            with winmigrate.open(corpus / rel, logs="ignore") as hive:
                report = hive.check()
            ok, rules = report.ok, [p.rule for p in report.problems]
        except HiveFormatError:  # too short to open: truncated files
            ok, rules = False, ["open"]
        if accepted and ok:
            table["both ok"] += 1
        elif not accepted and not ok:
            dirty = "base-sequence" in rules or "base-checksum" in rules
            table["both refuse: dirty" if dirty else "both refuse: damaged"] += 1
        else:
            disagree[rel] = (accepted, rules[0] if rules else "")
    assert disagree == DISAGREE
    assert table == {"both ok": 110, "both refuse: dirty": 38, "both refuse: damaged": 18}
