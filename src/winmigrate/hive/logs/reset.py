"""After a save: empty the logs beside the saved file, so no reader replays older data over it."""

from __future__ import annotations

import os

from ..files import fsync_folder
from .paths import find_logs

__all__ = ["after_save", "reset_logs"]

def reset_logs(primary_path: str | os.PathLike[str]) -> list[str]:
    """Empty the sibling logs of ``primary_path`` (what a cleanly unloaded hive leaves); returns
    the paths emptied. Each is truncated in place: one metadata operation, so a crash leaves the
    old log or an empty one, and the file keeps its identity (NTFS attributes such as hidden and
    system, ACLs and owner on an ntfs-3g or ntfs3 mount), which replacing it would not."""
    done = []
    for log in find_logs(primary_path):
        if os.path.getsize(log) == 0:
            continue
        fd = os.open(log, os.O_WRONLY)
        try:
            os.ftruncate(fd, 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        done.append(log)
    if done:
        fsync_folder(os.path.dirname(os.path.abspath(os.fspath(primary_path))))
    return done


def after_save(target: str) -> None:
    """Called once ``target`` was atomically replaced by a clean save: empty the sibling logs,
    so that Windows (or any tool) reopening the saved primary next to them finds nothing to
    replay. Backups of the logs, when asked for, were made before the primary was replaced.

    The save itself is already safe without this step: it is clean (Windows ignores the logs of a
    clean hive), its sequence number is past every log entry found when the hive was opened
    (``RecoveryReport.sequence_floor``), and its new last-written time no longer matches any
    old-format log. Emptying the logs makes that true for every reader. A log that cannot be
    emptied is reported as a warning, not an error: the save has succeeded."""
    try:
        reset_logs(target)
    except OSError as e:
        import warnings

        warnings.warn(f"{target}: the hive was saved, but a transaction log next to it could not "
                      f"be emptied ({e.strerror}: {e.filename}); its entries are older than the "
                      f"save and will not be replayed", RuntimeWarning, stacklevel=3)
