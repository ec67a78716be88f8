"""A save that cannot complete (read-only location, full disk, a rename across filesystems)
fails with a HiveFileError naming the file, leaves the original byte for byte as it was and no
temporary file behind, and the same hive saves fine once the cause is gone. ``backup=True`` keeps
the previous file and its logs as ``.bak``.

A save over a hive writes it in place (``winmigrate.hive.journal``); the only writes that need
new space on the disk -- the journal, and a hive's growth, written past its old end -- come
before the primary is touched, so a full disk leaves it as it was."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import winmigrate
from tests.fuzz.seeds import build_dirty_new, build_system

SMALL = build_system((1, 5), sets=(1,), extras=False)


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _changed_hive(path: Path) -> winmigrate.Hive:
    hive = winmigrate.open(path, writable=True)
    key = hive.root.create_key("Changed")
    key.set_value("big", raw=bytes(range(256)) * 200)  # big data: several segments
    key.set_value("v", "new")
    return hive


def _assert_saved_later(hive: winmigrate.Hive, path: Path) -> None:
    """Once the cause is gone, the same hive object saves, and the file holds the change."""
    hive.save()
    hive.close()
    with winmigrate.open(path) as again:
        assert again.key("Changed").get("v") == "new"
        assert again.key("Changed").get("big") == bytes(range(256)) * 200
        assert again.check().ok


@pytest.fixture
def target(tmp_path: Path) -> Path:
    folder = tmp_path / "disk"
    folder.mkdir()
    path = folder / "SYSTEM"
    path.write_bytes(SMALL)
    return path


# -- full disk ---------------------------------------------------------------------------------


def _enospc_after(budget: int) -> tuple[Callable[[int, object], int],
                                        Callable[[int, object, int], int]]:
    """``os.write`` and ``os.pwrite`` that take ``budget`` bytes of new space on the disk in all
    (the last call short), then fail with ENOSPC, the way a filling disk does. Space is taken by
    bytes past a file's end; overwriting a file's own bytes takes none."""
    real_write, real_pwrite = os.write, os.pwrite
    state = {"left": budget}

    def allowed(fd: int, offset: int, length: int) -> int:
        new = max(0, offset + length - max(os.fstat(fd).st_size, offset))
        if new <= state["left"]:
            state["left"] -= new
            return length
        if state["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        grant = length - new + state["left"]
        state["left"] = 0
        return grant

    def write(fd: int, data: object) -> int:
        view = memoryview(data)  # type: ignore[arg-type]
        return real_write(fd, view[:allowed(fd, os.lseek(fd, 0, os.SEEK_CUR), len(view))])

    def pwrite(fd: int, data: object, offset: int) -> int:
        view = memoryview(data)  # type: ignore[arg-type]
        return real_pwrite(fd, view[:allowed(fd, offset, len(view))], offset)

    return write, pwrite


@pytest.mark.parametrize("budget", [0, 1, 511, 4096, 4097, 40_000, 10**9])
def test_full_disk(target: Path, monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    before = _listing(target.parent)
    hive = _changed_hive(target)
    size = len(hive.to_bytes())
    write, pwrite = _enospc_after(min(budget, size - 1))
    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "pwrite", pwrite)
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save()
    monkeypatch.undo()
    assert e.value.errno == errno.ENOSPC
    assert e.value.filename == str(target)
    assert "No space left on device" in str(e.value)
    assert _listing(target.parent) == before, "the original changed or a temporary file stayed"
    _assert_saved_later(hive, target)


def test_full_disk_while_writing_the_backup(target: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    before = _listing(target.parent)
    hive = _changed_hive(target)
    write, pwrite = _enospc_after(1000)  # the backup copy is written first
    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "pwrite", pwrite)
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save(backup=True)
    monkeypatch.undo()
    assert e.value.errno == errno.ENOSPC
    assert _listing(target.parent) == before
    hive.save(backup=True)
    hive.close()
    assert (target.parent / "SYSTEM.bak").read_bytes() == SMALL


# -- another filesystem ----------------------------------------------------------------------------


def test_rename_across_filesystems(target: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy to a new file is made beside it and renamed, so a rename never crosses
    filesystems; if one did anyway (EXDEV), the save fails cleanly. (A save over an existing
    hive renames nothing.)"""
    copy = target.parent / "COPY"
    before = _listing(target.parent)
    hive = _changed_hive(target)

    def exdev(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "replace", exdev)
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save(copy)
    monkeypatch.undo()
    assert e.value.errno == errno.EXDEV and e.value.filename == str(copy)
    assert _listing(target.parent) == before
    _assert_saved_later(hive, target)


def test_saving_a_copy_on_another_filesystem(target: Path) -> None:
    """A real second filesystem (tmpfs) when there is one: the copy is written there through a
    temporary file beside it, and the original stays tied to its own file."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(target.parent).st_dev:
        pytest.skip("no second filesystem at /dev/shm")
    copy = shm / f"winmigrate-test-{os.getpid()}.hiv"
    try:
        with winmigrate.open(target, writable=True) as hive:
            hive.root.create_key("Copied")
            hive.save(copy)
        assert target.read_bytes() == SMALL
        with winmigrate.open(copy) as saved:
            assert saved.get_key("Copied") is not None
        assert not [p for p in shm.iterdir() if p.name.startswith(f".{copy.name}.")]
    finally:
        copy.unlink(missing_ok=True)


# -- read-only locations ------------------------------------------------------------------------


def test_read_only_folder(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hive's folder became read-only after it was opened (a remounted disk): creating the
    temporary file fails. Root ignores permission bits, so as root the refusal is simulated at
    the system call; otherwise the folder is really made read-only."""
    before = _listing(target.parent)
    hive = _changed_hive(target)
    if os.geteuid() == 0:
        real_open = os.open
        folder = str(target.parent)

        def ro_open(path: str, flags: int, *args: object, **kwargs: object) -> int:
            if flags & os.O_CREAT and os.path.dirname(os.path.abspath(path)) == folder:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
            return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", ro_open)
    else:
        target.parent.chmod(0o555)
    try:
        with pytest.raises(winmigrate.HiveFileError) as e:
            hive.save()
    finally:
        monkeypatch.undo()
        target.parent.chmod(0o755)
    assert e.value.errno in (errno.EROFS, errno.EACCES)
    assert e.value.filename == str(target)
    assert _listing(target.parent) == before
    _assert_saved_later(hive, target)


@pytest.mark.parametrize("where", ["/sys/winmigrate-test-hive", "/proc/winmigrate-test-hive"])
def test_saving_a_copy_to_a_read_only_filesystem(target: Path, where: str) -> None:
    if not os.path.isdir(os.path.dirname(where)):
        pytest.skip(f"no {os.path.dirname(where)}")
    hive = _changed_hive(target)
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save(where)
    assert e.value.filename == where
    assert "cannot save hive" in str(e.value)
    assert target.read_bytes() == SMALL
    _assert_saved_later(hive, target)


def test_saving_over_a_directory(target: Path) -> None:
    hive = _changed_hive(target)
    folder = target.parent / "adir"
    folder.mkdir()
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save(folder)
    assert e.value.errno == errno.EISDIR and "directory" in str(e.value)
    assert folder.is_dir() and not list(folder.iterdir())
    _assert_saved_later(hive, target)


# -- backups --------------------------------------------------------------------------------------


def test_backup_keeps_the_previous_file_and_its_logs(tmp_path: Path) -> None:
    primary, logs = build_dirty_new(SMALL)
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "SYSTEM").write_bytes(primary)
    for role, content in logs.items():
        (folder / f"SYSTEM.{role}").write_bytes(content)
    with winmigrate.open(folder / "SYSTEM", writable=True) as hive:
        assert hive.recovery is not None and hive.recovery.applied
        replayed = {k.path for k in hive.walk()}
        hive.root.create_key("AfterBackup")
        hive.save(backup=True)
    files = _listing(folder)
    assert files["SYSTEM.bak"] == primary
    for role, content in logs.items():
        assert files[f"SYSTEM.{role}.bak"] == content
        assert files[f"SYSTEM.{role}"] == b""  # the logs of the saved hive are emptied
    with winmigrate.open(folder / "SYSTEM") as saved:
        assert not saved.dirty and saved.get_key("AfterBackup") is not None
    # Restoring is renaming the .bak files back: the dirty primary replays to what it held.
    restore = tmp_path / "restore"
    restore.mkdir()
    for name in files:
        if name.endswith(".bak"):
            shutil.copy(folder / name, restore / name[:-4])
    with winmigrate.open(restore / "SYSTEM") as old:
        assert old.recovery is not None and old.recovery.applied
        assert {k.path for k in old.walk()} == replayed
    # In place, the backup's logs have to be named (find_logs looks for SYSTEM.bak.LOG1).
    bak_logs = [str(folder / f"SYSTEM.{role}.bak") for role in sorted(logs)]
    with winmigrate.open(folder / "SYSTEM.bak", logs=bak_logs) as old:
        assert {k.path for k in old.walk()} == replayed


def test_backup_of_a_copy_target(target: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.hiv"
    other.write_bytes(build_system((1, 3), sets=(1,), extras=False))
    previous = other.read_bytes()
    with winmigrate.open(target, writable=True) as hive:
        hive.root.create_key("X")
        hive.save(other, backup=True)
    assert (tmp_path / "other.hiv.bak").read_bytes() == previous
    assert target.read_bytes() == SMALL


def test_backup_without_a_previous_file(tmp_path: Path) -> None:
    hive = winmigrate.create()
    hive.save(tmp_path / "NEW", backup=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["NEW"]
