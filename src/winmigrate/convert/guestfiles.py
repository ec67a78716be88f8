"""The files a conversion places in the guest: planned against what is there, then written one by
one, each atomically, never overwriting a file that differs without keeping the old one.

A ``FileAction`` says where a file goes (a guest path, resolved case-insensitively on the
volume), what it holds (its bytes and SHA-256), where it comes from and why, and what it finds
there: nothing (``create``), the same bytes (``same``: nothing to do), or other bytes
(``replace``: the old file is first copied to ``backup`` under ``Windows\\KvmConv\\backup``).
Writing goes through a temporary file in the same folder, fsynced, renamed into place, and the
folder fsynced: a crash leaves the old file or the new one, never half of it.
"""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..hive.files import fsync_folder, replace_file
from .volume import GuestFileError, guest_parent

if TYPE_CHECKING:
    from collections.abc import Callable

    from .volume import Volume

__all__ = ["FileAction", "FileState", "plan_file", "write_file"]


class FileState(enum.Enum):
    CREATE = "create"  # nothing there yet
    SAME = "same"  # already there, byte for byte
    REPLACE = "replace"  # another file there: kept in ``backup``, then replaced


@dataclass(frozen=True)
class FileAction:
    """One file of the conversion (see the module docstring). ``guest_path`` is relative to the
    volume root, with backslashes, spelled as it is (or will be) on disk."""

    guest_path: str
    sha256: str
    size: int
    state: FileState
    source: str
    reason: str
    backup: str | None = None
    data: bytes = field(default=b"", repr=False, compare=False)

    def describe(self) -> str:
        verb = {FileState.CREATE: "create", FileState.SAME: "keep (already there)",
                FileState.REPLACE: f"replace (the old file kept as {self.backup})"}[self.state]
        origin = self.source if self.source.startswith("generated") else f"from {self.source}"
        return f"{verb} {self.guest_path} ({self.size:,} bytes, {origin}): {self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.guest_path, "state": self.state.value, "sha256": self.sha256,
                "size": self.size, "source": self.source, "reason": self.reason,
                "backup": self.backup}


def sha256_of_file(path: str) -> str | None:
    """The SHA-256 of the file at ``path``, or ``None`` when there is no such file."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise GuestFileError(21, "a folder is where a file should go", path) from None
    return digest.hexdigest()


def plan_file(volume: Volume, guest_path: str, data: bytes, *, source: str, reason: str,
              backup_root: str, ours: bool = False) -> FileAction:
    """Compare ``data`` with what the guest holds at ``guest_path``. ``ours``: the file there
    was written by an earlier run of this conversion (the manifest says so), so it is replaced
    without a backup -- undoing removes it either way."""
    host = volume.path(guest_path)
    spelled = volume.relative(host)
    digest = hashlib.sha256(data).hexdigest()
    there = sha256_of_file(host)
    if there is None:
        state, backup = FileState.CREATE, None
    elif there == digest:
        state, backup = FileState.SAME, None
    else:
        state = FileState.REPLACE
        backup = None if ours else f"{backup_root}\\files\\{spelled}"
    return FileAction(spelled, digest, len(data), state, source, reason, backup, data)


def _keep(host: str, backup: str) -> None:
    """Keep the file at ``host`` as ``backup`` before it is replaced: a second name for the
    same file (a hard link: the file keeps its identity, and undo renames it back), or a copy
    where the file system has no hard links."""
    try:
        os.link(host, backup)
    except OSError:
        with open(host, "rb") as f:
            replace_file(backup, (f.read(),))
        return
    fsync_folder(os.path.dirname(backup))


def make_folders(volume: Volume, guest_folder: str, created: list[str]) -> str:
    """Create the missing folders of ``guest_folder`` (case-insensitively: an existing
    ``system32`` is used, never doubled); their guest paths are appended to ``created``."""
    host = volume.path(guest_folder)
    missing = []
    probe = host
    while not os.path.isdir(probe):
        missing.append(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    for folder in reversed(missing):
        os.mkdir(folder)
        fsync_folder(os.path.dirname(folder))
        volume.forget(os.path.dirname(folder))
        created.append(volume.relative(folder))
    return host


def write_file(volume: Volume, action: FileAction, created_folders: list[str],
               progress: Callable[[int], None] | None = None) -> None:
    """Carry ``action`` out (nothing for ``SAME``); ``progress`` gets the bytes written."""
    if action.state is FileState.SAME:
        return
    host = volume.path(action.guest_path)
    try:
        if action.state is FileState.REPLACE and action.backup is not None:
            backup = volume.path(action.backup)
            if sha256_of_file(backup) is None:  # a re-run keeps the first (original) copy
                make_folders(volume, guest_parent(action.backup), created_folders)
                _keep(host, backup)
        make_folders(volume, guest_parent(action.guest_path), created_folders)
        replace_file(host, (action.data,))
        volume.forget(os.path.dirname(host))
    except OSError as e:
        if isinstance(e, GuestFileError):
            raise
        raise GuestFileError(e.errno, f"cannot write {action.guest_path}: {e.strerror}",
                             host) from None
    if progress is not None:
        progress(action.size)
