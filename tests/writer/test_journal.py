"""The journalled in-place save (``winmigrate.hive.journal``): killed at every step, the file is
the old hive or one its log recovers to the new; the log is in the format the guest's Windows
reads; a save keeps the file's identity (symlink, owner, mode, hard links)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import winmigrate
from tests.fuzz.seeds import build_dirty_new, build_dirty_old, build_system
from tests.helpers import FIXTURES
from winmigrate.hive import journal
from winmigrate.regf.logfile import FORMAT_NEW, FORMAT_OLD, parse_log_header

DIE_AT = r"""
import os, sys, winmigrate
from winmigrate.hive import journal

def die(step):
    if step == sys.argv[2]:
        os._exit(9)  # the process dies here, as under SIGKILL

journal._after_step = die
with winmigrate.open(sys.argv[1], writable=True) as hive:
    key = hive.root.create_key("Journalled")
    key.set_value("small", "x")
    key.set_value("big", bytes(range(256)) * 300)  # grows the hive: new bins
    hive.save()
print("saved")
"""


def _case(tmp_path: Path, case: str) -> Path:
    """A folder holding SYSTEM (and logs) in the starting state ``case``."""
    folder = tmp_path / case
    folder.mkdir()
    if case == "clean-1.5":
        (folder / "SYSTEM").write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    elif case == "clean-1.3":
        (folder / "SYSTEM").write_bytes((FIXTURES / "types_1_3.hiv").read_bytes())
    else:
        clean = build_system((1, 5), sets=(1,), extras=False)
        primary, logs = (build_dirty_new if case == "dirty-new" else build_dirty_old)(clean)
        (folder / "SYSTEM").write_bytes(primary)
        for role, content in logs.items():
            (folder / f"SYSTEM.{role}").write_bytes(content)
    return folder / "SYSTEM"


def _content(hive: winmigrate.Hive) -> list[tuple[str, tuple[tuple[str, int, bytes], ...]]]:
    return [(key.path, tuple((v.name, v.type_number, v.raw) for v in key.values()))
            for key in hive.walk()]


CASES = ["clean-1.5", "clean-1.3", "dirty-new", "dirty-old"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("step", journal.STEPS)
def test_killed_at_every_step(tmp_path: Path, case: str, step: str) -> None:
    target = _case(tmp_path, case)
    with winmigrate.open(target) as before:  # the old hive, its logs replayed
        old = _content(before)
    env = dict(os.environ, PYTHONPATH=str(Path(winmigrate.__file__).parents[1]))
    proc = subprocess.run([sys.executable, "-c", DIE_AT, str(target), step], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    with winmigrate.open(target) as after:
        report = after.check()
        assert report.ok, report
        got = _content(after)
        journalled = after.get_key("Journalled")
        if journalled is None:
            assert got == old
        else:
            assert journalled.get("big") == bytes(range(256)) * 300
            assert [row for row in got if not row[0].startswith("Journalled")] == old
        # The steps before the primary is touched leave the old hive; those after, the new.
        assert (journalled is not None) == (journal.STEPS.index(step)
                                             >= journal.STEPS.index("primary-dirty"))
    # And the next save, from the state the crash left, completes and leaves a clean file.
    with winmigrate.open(target, writable=True) as hive:
        hive.root.create_key("Again")
        hive.save()
    with winmigrate.open(target) as final:
        assert not final.dirty and final.recovery is None and final.get_key("Again")


@pytest.mark.parametrize(("case", "fmt", "log"), [("clean-1.5", FORMAT_NEW, "SYSTEM.LOG1"),
                                                  ("clean-1.3", FORMAT_OLD, "SYSTEM.LOG"),
                                                  ("dirty-new", FORMAT_NEW, "SYSTEM.LOG1"),
                                                  ("dirty-old", FORMAT_OLD, "SYSTEM.LOG1")])
def test_the_journal_speaks_the_guests_format(tmp_path: Path, case: str, fmt: str,
                                              log: str) -> None:
    """New format where the logs beside the hive are new (Windows 8.1+) or the hive is 1.5
    with none; old format where they are old (XP to 8.0) or the hive is older than 1.5."""
    target = _case(tmp_path, case)
    env = dict(os.environ, PYTHONPATH=str(Path(winmigrate.__file__).parents[1]))
    proc = subprocess.run([sys.executable, "-c", DIE_AT, str(target), "log-written"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    head = (target.parent / log).read_bytes()[:512]
    assert parse_log_header(head, source=log).format == fmt


def test_a_save_keeps_the_file_identity(tmp_path: Path) -> None:
    """Through a symlink the real file is updated and the link stays a link; owner, group,
    mode, inode and hard links are kept."""
    real = tmp_path / "real" / "SYSTEM"
    real.parent.mkdir()
    real.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    os.chmod(real, 0o640)
    if os.geteuid() == 0:
        os.chown(real, 1234, 4321)
    hard = tmp_path / "real" / "hardlink"
    os.link(real, hard)
    link = tmp_path / "SYSTEM"
    link.symlink_to(real)
    before = os.stat(real)
    with winmigrate.open(link, writable=True) as hive:
        hive.root.create_key("ThroughTheLink").set_value("v", b"z" * 50_000)
        hive.save()
    after = os.stat(real)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert (after.st_ino, after.st_mode, after.st_uid, after.st_gid, after.st_nlink) == (
        before.st_ino, before.st_mode, before.st_uid, before.st_gid, 2)
    with winmigrate.open(hard) as hive:
        assert hive.key("ThroughTheLink").get("v") == b"z" * 50_000
    assert sorted(p.name for p in real.parent.iterdir()) == ["SYSTEM", "hardlink"]


def test_a_save_through_a_symlinked_folder_is_the_own_file(tmp_path: Path) -> None:
    """The hive's own file reached through another path (a symlinked folder) is written through
    the descriptor that holds the lock, not re-opened."""
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "SYSTEM").write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    alias = tmp_path / "alias"
    alias.symlink_to(folder, target_is_directory=True)
    with winmigrate.open(folder / "SYSTEM", writable=True) as hive:
        hive.root.create_key("ViaAlias")
        hive.save(alias / "SYSTEM")  # no HiveLockedError: it is our own file
    with winmigrate.open(folder / "SYSTEM") as hive:
        assert hive.get_key("ViaAlias") is not None
