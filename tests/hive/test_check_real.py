"""check() on Windows' own hives: no false alarms, and the known damage is found."""

from __future__ import annotations

import pytest

import winmigrate
from tests.helpers import hivex_readable_hives, require_corpus
from winmigrate.regf.names import lf_hint
from winmigrate.regf.records import list_leaves, read_nk_named

pytestmark = pytest.mark.corpus

# Damage each of these hives carries on purpose (yarp's test hives), as check() words it.
KNOWN = {
    "msuhanov_yarp/hives_for_tests/DuplicateSubkeysHive": "subkeys out of order",
    "msuhanov_yarp/hives_for_tests/InvalidParentHive": "parent field is 0x20",
    "msuhanov_yarp/hives_for_tests/WrongOrderHive": "subkeys out of order",
}
# What Windows tolerates in them (notes: the hive stays ok). HealedHive is a hive Windows itself
# self-healed: it dropped four keys and left their security record's count as it was.
KNOWN_NOTES = {
    "msuhanov_yarp/hives_for_tests/HealedHive": "security record says 8 keys use it, 4 do",
}


def test_check_reports_only_real_damage() -> None:
    corpus = require_corpus()
    found: dict[str, list[str]] = {}
    noted: dict[str, list[str]] = {}
    for rel in hivex_readable_hives():
        with winmigrate.open(corpus / rel, logs="ignore") as hive:
            report = hive.check()
            problems = [p.message for p in report.problems
                        if p.rule not in ("base-sequence", "base-checksum")]  # dirty: logs
            if problems:
                found[rel] = problems
            if report.notes:
                noted[rel] = [p.message for p in report.notes]
    for rel, why in KNOWN.items():
        if rel in found:
            assert any(why in m for m in found.pop(rel)), rel
    assert found == {}
    assert noted == {rel: [why] for rel, why in KNOWN_NOTES.items()}


def test_lf_hints_as_windows_writes_them() -> None:
    corpus = require_corpus()
    compared = 0
    odd = []
    for rel in hivex_readable_hives():
        with winmigrate.open(corpus / rel, logs="ignore") as hive:
            for key in hive.walk():
                if not key.subkey_count:
                    continue
                for _leaf, sig, elements, hints in list_leaves(hive._img, key._fields()[7]):
                    if sig != b"lf":
                        continue
                    for element, hint in zip(elements, hints):
                        name = read_nk_named(hive._img, element)[1]
                        compared += 1
                        if lf_hint(name) != hint.to_bytes(4, "little"):
                            odd.append((rel, name))
    # yarp's CompHive holds 0x81 for a compressed name 0x9F: the one hint whose rule is unknown.
    assert odd == [("msuhanov_yarp/hives_for_tests/CompHive", "\x9f")]
    assert compared > 50_000
