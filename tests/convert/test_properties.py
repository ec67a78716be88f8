"""Hypothesis: any casing of a guest's folder and file names, any subset of the driver source.
The conversion finds every path whatever its case, never creates a second spelling of a
folder, picks the best build the source has (or says what is missing), and undo restores the
tree exactly."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.convert.tools import differences, make_guest, make_virtio, snapshot
from winmigrate.convert import ConvertConfig, DriverNotFoundError, plan_conversion, undo
from winmigrate.convert.options import AgentOptions
from winmigrate.convert.virtio import OS_FOLDERS, os_folder_candidates

RELEASES = [r.folder for r in OS_FOLDERS]
GUESTS = {"xp": (5, 1, 2600, False), "win7": (6, 1, 7601, False),
          "2008r2": (6, 1, 7601, True), "win10": (10, 0, 19045, False),
          "2019": (10, 0, 17763, True)}


def _casing(flips: list[bool]):  # type: ignore[no-untyped-def]
    def respell(name: str) -> str:
        key = sum(map(ord, name))
        mode = key % 3 if flips[key % len(flips)] else 3
        return (name.upper(), name.lower(), name.swapcase(), name)[mode]
    return respell


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(list(GUESTS)),
       flips=st.lists(st.booleans(), min_size=1, max_size=8),
       releases=st.sets(st.sampled_from(RELEASES), min_size=1, max_size=6),
       storage=st.sampled_from(["viostor", "vioscsi"]))
def test_any_casing_any_source(family: str, flips: list[bool], releases: set[str],
                               storage: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="wm-prop-"))
    try:
        root = make_guest(work / "g", family, _casing(flips))
        virtio = make_virtio(work / "vw", releases=sorted(releases))
        agent = work / "agent.exe"
        agent.write_bytes(b"MZ stand-in")
        original = snapshot(root)
        major, minor, build, server = GUESTS[family]
        usable = [r for r in os_folder_candidates(major, minor, build, server) if r in releases
                  and not (storage == "vioscsi" and r in ("xp", "2k3"))]
        arch = "x86" if family == "xp" else "amd64"
        from tests.convert.tools import script

        arches = script("make_virtio_win").RELEASES
        usable_net = [r for r in os_folder_candidates(major, minor, build, server)
                      if r in releases and arch in arches[r]]
        usable = [r for r in usable if arch in arches[r]]
        config = ConvertConfig(drivers=str(virtio), storage_driver=storage,
                               agent=AgentOptions(program=str(agent)))
        if not usable or not usable_net:
            try:
                plan_conversion(root, config)
            except DriverNotFoundError as e:
                assert "looked for" in str(e)
            else:
                raise AssertionError("a source without a usable build was accepted")
            assert snapshot(root) == original
            return
        plan = plan_conversion(root, config)
        assert plan.drivers[0].os_folder == usable[0]
        assert plan.drivers[0].exact == (usable[0] == os_folder_candidates(
            major, minor, build, server)[0])
        plan.apply()
        for folder, dirs, files in os.walk(root):
            names = [n.lower() for n in dirs + files]
            assert len(names) == len(set(names)), folder
        assert plan_conversion(root, config).nothing_to_do
        undo(root)
        assert differences(original, snapshot(root)) == []
    finally:
        shutil.rmtree(work)
