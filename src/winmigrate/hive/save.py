"""Serialising a hive and writing it to disk, crash-safe and keeping the file's identity.

A save over an existing hive writes it in place, journalled through its transaction log
(``journal``): a crash at any point leaves the old hive or one its log recovers to the new, and
the file stays the file it was -- the symlink it is reached through, its owner, group and mode,
its hard links, and on an ntfs-3g mount the security descriptor and attributes Windows gave it.
A save to a path where no file is yet creates it atomically (a temporary file in the same
folder, fsynced, renamed, the folder fsynced).

The writer's lock covers the whole life of a writable hive: its own file is written through the
descriptor that holds the lock, whatever path names it; another existing file is locked before
it is written, and a save to one that another process holds open for writing is refused
(``HiveLockedError``).
"""

from __future__ import annotations

import os

from ..errors import HiveFileError, UsageError
from ..regf import layout as L
from ..regf.timestamps import now_filetime
from .files import atomic_write, create_temporary, fsync_folder, lock_exclusive
from .journal import _step, write_in_place
from .logs.paths import find_logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .edit.editor import Editor
    from .model import HiveModel

__all__ = ["make_backup", "next_sequence", "save_hive", "serialize"]

_BASE = L.BASE_BLOCK_SIZE


def next_sequence(hive: HiveModel, target: str | None = None,
                  target_logs: list[str] | None = None) -> int:
    """The sequence number of the next write: past both of the primary's, past every log entry
    that was replayed or found -- beside the hive's own file, and beside ``target`` when saving
    elsewhere (``target_logs``: its logs, when the caller has already looked) -- and past the
    sequence numbers of the file at ``target`` itself, so that no stale log can look newer than
    the save and a journalled write over another hive replays."""
    bb = hive._bb
    floor = max(bb.primary_sequence, bb.secondary_sequence, hive._sequence_floor)
    if target is not None and os.path.exists(target):
        logs = find_logs(target) if target_logs is None else target_logs
        if logs:
            from .logs.replay import log_sequence_floor

            floor = max(floor, log_sequence_floor(target, logs))
        try:
            with open(target, "rb") as f:
                head = f.read(12)
        except OSError:
            head = b""
        if len(head) == 12 and head[:4] == L.REGF_SIGNATURE:
            floor = max(floor, L.U32.unpack_from(head, 4)[0], L.U32.unpack_from(head, 8)[0])
    return (floor + 1) & 0xFFFFFFFF or 1


def serialize(hive: HiveModel, editor: Editor, *, compact: bool = False,
              target: str | None = None,
              target_logs: list[str] | None = None) -> tuple[bytes, bytes]:
    """``(base block, hive bins)`` as the next save (to ``target``) would write them."""
    sequence = next_sequence(hive, target, target_logs)
    if compact:
        from .compact import compact_hive

        editor = compact_hive(hive)[1]
    return editor.serialize(sequence, now_filetime())


def save_hive(hive: HiveModel, editor: Editor, path: str | os.PathLike[str] | None, *,
              compact: bool = False, backup: bool = False) -> bool:
    """Save ``hive`` (whose writer is ``editor``) to ``path``, or over its own file (see the
    module docstring). Returns whether the hive's own file was written."""
    if path is None:
        if hive.path is None:
            raise UsageError("this hive has no file yet: give save() a path")
        target = hive.path
    elif isinstance(path, (str, os.PathLike)):
        target = os.fspath(path)
    else:
        raise UsageError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    if not isinstance(compact, bool) or not isinstance(backup, bool):
        raise UsageError("compact and backup must be True or False")
    real = os.path.realpath(target)
    if os.path.isdir(real):
        raise HiveFileError(21, "cannot save hive: the target is a directory", target)
    own = hive._fd if hive._fd is not None and _same_file(hive._fd, real) else None
    # The logs beside the target, looked up once: they number the save and journal it.
    target_logs = find_logs(real)
    sequence = next_sequence(hive, real, target_logs)
    if compact:
        from .compact import compact_hive

        editor = compact_hive(hive)[1]
    editor.finalize()
    base = editor.stamped_base_block(sequence, now_filetime())
    bins_size = editor.img.bins_size
    with memoryview(editor.buf) as view, view[_BASE:_BASE + bins_size] as bins:
        if backup and os.path.exists(real):
            make_backup(real)
        if own is not None:
            write_in_place(own, real, base, bins, minor=editor.minor)
        elif os.path.exists(real):
            _save_over_another(real, target, base, bins, editor.minor)
        else:
            atomic_write(real, (base, bins))
            if target_logs:  # stale logs beside a new file: they describe something else
                from .logs.reset import after_save

                after_save(real)
        fresh = bytes(base) + bytes(bins) if compact else None
    if fresh is not None:
        # The hive now *is* the compacted image (so further saves continue from it).
        from .model import HiveModel

        _adopt(hive, HiveModel(bytearray(fresh), writable=True))
    else:
        from ..regf.baseblock import BaseBlock

        hive._bb = BaseBlock(base)
        if hive._editor is not None:
            hive._editor.modified = False
    return own is not None


def _save_over_another(real: str, target: str, base: bytes, bins: memoryview, minor: int) -> None:
    """Write over an existing file that is not this hive's own: with its lock (refused when
    another process holds it), in place when it is a hive (keeping its identity), else replaced
    by a new file."""
    from .logs.paths import needs_recovery

    try:
        fd = os.open(real, os.O_RDWR)
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot save hive: {e.strerror}", target) from None
    try:
        lock_exclusive(fd, target)
        head = os.pread(fd, _BASE, 0)
        if len(head) == _BASE and head[:4] == L.REGF_SIGNATURE and (
                not needs_recovery(head, "auto") or find_logs(real)):
            write_in_place(fd, real, base, bins, minor=minor)
        else:
            atomic_write(real, (base, bins))
            from .logs.reset import after_save

            after_save(real)
    finally:
        os.close(fd)


def _same_file(fd: int, path: str) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _adopt(hive: HiveModel, fresh: HiveModel) -> None:
    """Make ``hive`` continue from the compacted image ``fresh`` (its keys are re-read)."""
    hive._bb = fresh._bb
    hive._img = fresh._img
    hive._root = fresh._root
    hive._root._hive = hive
    hive._keys = fresh._keys
    hive._sorted_lists = fresh._sorted_lists
    hive._editor = None
    hive._gen += 1
    for key in list(hive._keys.values()) if hive._keys is not None else []:
        key._hive = hive


def make_backup(target: str) -> list[str]:
    """Copy ``target`` and its transaction logs to ``*.bak`` beside them; returns the backup
    paths.

    Every copy is written aside first (a temporary file each, fsynced): a failure there -- a full
    disk -- leaves the previous backups as they were. Only then are they swapped in: the old
    ``NAME.bak`` removed, the logs' copies renamed into place, ``NAME.bak`` last, so a crash
    leaves either no ``NAME.bak`` or one that comes with the logs it may need (a dirty primary
    backed up without its logs would replay to an older state)."""
    import stat

    folder = os.path.dirname(os.path.abspath(target))
    logs = find_logs(target)
    made: list[tuple[str, str]] = []  # (temporary, backup), logs first, the primary last
    try:
        for src in [*logs, target]:
            dst = src + ".bak"
            fd, tmp = create_temporary(folder, os.path.basename(dst))
            made.append((tmp, dst))
            try:
                with open(src, "rb") as f:
                    while chunk := f.read(1 << 20):
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view):]
                os.fchmod(fd, stat.S_IMODE(os.stat(src).st_mode))
                os.fsync(fd)
            finally:
                os.close(fd)
            _step(f"backup-copied:{os.path.basename(dst)}")
    except OSError as e:
        for tmp, _dst in made:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise HiveFileError(e.errno, f"cannot write the backup: {e.strerror}; the hive and its "
                            "previous backups are unchanged", target) from None
    primary_bak = target + ".bak"
    try:
        if os.path.exists(primary_bak):
            os.unlink(primary_bak)
        wanted = {dst for _tmp, dst in made}
        base = os.path.basename(target).lower()
        for name in os.listdir(folder):  # backups of logs the hive no longer has
            lower = name.lower()
            if lower.startswith(base + ".log") and lower.endswith(".bak"):
                path = os.path.join(folder, name)
                if path not in wanted:
                    os.unlink(path)
        for tmp, dst in made:
            os.replace(tmp, dst)
            _step(f"backup-renamed:{os.path.basename(dst)}")
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot put the backup in place: {e.strerror}",
                            primary_bak) from None
    fsync_folder(folder)
    _step("backup-swapped")
    return [dst for _tmp, dst in made]
