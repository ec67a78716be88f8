"""Windows' subkey order, as stored in every real hive, is exactly winmigrate's collation."""

from __future__ import annotations

import pytest

import winmigrate
from tests.helpers import hivex_readable_hives, require_corpus
from winmigrate.regf.names import collation_key

pytestmark = pytest.mark.corpus

# Hives that are deliberately (or by their writer's bug) out of order.
MISORDERED = {"msuhanov_yarp/hives_for_tests/WrongOrderHive",
              "msuhanov_yarp/hives_for_tests/DuplicateSubkeysHive"}


def test_every_stored_list_is_in_collation_order() -> None:
    corpus = require_corpus()
    pairs = non_ascii = 0
    bad: list[str] = []
    for rel in hivex_readable_hives():
        with winmigrate.open(corpus / rel, logs="ignore") as hive:
            for key in hive.walk():
                names = [k.name for k in key.subkeys()]
                for a, b in zip(names, names[1:]):
                    pairs += 1
                    if not (a.isascii() and b.isascii()):
                        non_ascii += 1
                    if not collation_key(a) < collation_key(b):
                        bad.append(f"{rel}: {key.path}: {a!r} before {b!r}")
    unexpected = [b for b in bad if b.split(":")[0] not in MISORDERED]
    assert unexpected == []
    assert any(b.startswith("msuhanov_yarp/hives_for_tests/WrongOrderHive") for b in bad)
    assert pairs > 100_000 and non_ascii > 20
