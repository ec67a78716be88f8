"""Serialising a hive and writing it to disk atomically.

A save never modifies the target in place: the new image goes to a temporary file in the same
folder, which is fsynced, renamed over the target (``os.replace`` is atomic on POSIX and Windows),
and the folder is fsynced so that the rename itself survives a crash. A failure at any point leaves
the old file as it was and removes the temporary file.
"""

from __future__ import annotations

import os

from ..errors import HiveFileError, UsageError
from ..regf.layout import BASE_BLOCK_SIZE as L_BASE
from ..regf.timestamps import now_filetime
from .files import atomic_write, lock_exclusive
from .logs.paths import find_logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .edit.editor import Editor
    from .model import HiveModel

__all__ = ["make_backup", "next_sequence", "save_hive", "serialize"]


def next_sequence(hive: HiveModel, target: str | None = None,
                  target_logs: list[str] | None = None) -> int:
    """The sequence number of the next write: past both of the primary's, and past every log
    entry that was replayed or found -- beside the hive's own file, and beside ``target`` when
    saving elsewhere (``target_logs``: its logs, when the caller has already looked) -- so that
    stale logs can never look newer than our save."""
    bb = hive._bb
    floor = max(bb.primary_sequence, bb.secondary_sequence, hive._sequence_floor)
    if target is not None and os.path.exists(target):
        logs = find_logs(target) if target_logs is None else target_logs
        if logs:
            from .logs.replay import log_sequence_floor

            floor = max(floor, log_sequence_floor(target, logs))
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
              compact: bool = False, backup: bool = False) -> None:
    """Save ``hive`` (whose writer is ``editor``) to ``path``, or over its own file."""
    if path is None:
        if hive.path is None:
            raise UsageError("this hive has no file yet: give save() a path")
        target = hive.path
    else:
        target = os.fspath(path)
    if os.path.isdir(target):
        raise HiveFileError(21, "cannot save hive: the target is a directory", target)
    # The logs beside the target, looked up once: they number the save and are emptied after.
    target_logs = find_logs(target)
    if compact:
        base, bins = serialize(hive, editor, compact=True, target=target, target_logs=target_logs)
        if backup and os.path.exists(target):
            make_backup(target)
        atomic_write(target, (base, bins))
    else:
        # Written straight from the image (no copy of a 100 MB hive in memory).
        sequence = next_sequence(hive, target, target_logs)
        editor.finalize()
        base = editor.stamped_base_block(sequence, now_filetime())
        if backup and os.path.exists(target):
            make_backup(target)
        with memoryview(editor.buf) as view, \
                view[L_BASE:L_BASE + editor.img.bins_size] as bins_view:
            atomic_write(target, (base, bins_view))
    replaced_own = hive.path is not None and os.path.abspath(target) == os.path.abspath(hive.path)
    if compact:
        # The hive now *is* the compacted image (so further saves continue from it).
        from .model import HiveModel

        _adopt(hive, HiveModel(bytearray(base + bins), writable=True))
    else:
        from ..regf.baseblock import BaseBlock

        hive._bb = BaseBlock(base)
        if hive._editor is not None:
            hive._editor.modified = False
    if replaced_own:
        _relock(hive, target)
    # Whatever file was replaced, the logs beside it describe older content: empty them.
    if target_logs:
        from .logs.reset import after_save

        after_save(target)


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


def _relock(hive: HiveModel, target: str) -> None:
    """After replacing our own file, hold the lock on the new file (the old inode is gone)."""
    if hive._fd is None:
        return
    try:
        fd = os.open(target, os.O_RDWR)
    except OSError:
        return
    try:
        lock_exclusive(fd, target)
    except Exception:
        os.close(fd)
        raise
    os.close(hive._fd)
    hive._fd = fd


def make_backup(target: str) -> list[str]:
    """Copy ``target`` and its transaction logs to ``*.bak`` beside them (atomically each);
    returns the backup paths.

    Order matters for a crash in the middle: the old ``NAME.bak`` goes first, the logs' copies
    next and ``NAME.bak`` last, so a ``NAME.bak`` that exists always comes with the logs it may
    need (a dirty primary backed up without its logs would replay to an older state)."""
    primary = target + ".bak"
    try:
        os.unlink(primary)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot replace the backup: {e.strerror}", primary) from None
    made = []
    for src in [*find_logs(target), target]:
        dst = src + ".bak"
        with open(src, "rb") as f:
            data = f.read()
        atomic_write(dst, (data,), mode_from=src)
        made.append(dst)
    return made
