"""``Hive``: the public hive object -- a hive opened from a file or from bytes, with its
transaction logs replayed, its writer's lock, Windows' checks, edits in transactions and atomic
saves -- and ``open`` and ``create``.

Each of those is implemented in its own module below this one (``files``, ``logs``, ``check``,
``edit``, ``save``); this class ties them to one object. Reading is ``HiveModel``'s.
"""

from __future__ import annotations

import os

from ..errors import (
    DirtyHiveError,
    HiveFileError,
    NotWritableError,
    ReadOnlyHiveError,
    UsageError,
)
from .files import FilePager, lock_exclusive, read_all, remove_stale_temporaries
from .model import HiveModel

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any, Literal

    from .check import CheckReport
    from .edit.editor import Editor
    from .logs.report import RecoveryReport

__all__ = ["Hive", "Transaction", "create", "open"]

# Smaller read-only files are simply read whole; larger ones are read as they are used.
_PAGER_THRESHOLD = 1 << 20
_LOGS_WORDS = ("auto", "ignore", "require")


class Hive(HiveModel):
    """An open registry hive. Use ``winmigrate.open``, ``from_bytes`` or
    ``winmigrate.create`` to get one; use it as a context manager to release the file."""

    def __init__(self, buf: bytes | bytearray | mmap.mmap, *, path: str | None = None,
                 writable: bool = False, strict: bool = True, _fd: int | None = None,
                 _pager: FilePager | None = None) -> None:
        super().__init__(buf, path=path, writable=writable, strict=strict, _fd=_fd,
                         _pager=_pager)
        self.recovery: RecoveryReport | None = None
        self._dirty_unreplayed = False
        self._file_dirty = False

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, writable: bool = False,
             logs: Literal["auto", "ignore", "require"] | list[str] = "auto",
             strict: bool = True, lock: bool = True, force: bool = False) -> Hive:
        """Open the hive file at ``path`` (see ``winmigrate.open``)."""
        fspath = _check_open_arguments(path, writable, logs, strict, lock, force)
        if writable and not force:
            refuse_read_only(fspath)
        try:
            fd = os.open(fspath, os.O_RDWR if writable else os.O_RDONLY)
        except OSError as e:
            raise HiveFileError(e.errno, f"cannot open hive: {e.strerror}", fspath) from None
        pager: FilePager | None = None
        try:
            import stat

            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise HiveFileError(21, "cannot open hive: it is a directory", fspath)
            if writable:
                if lock:
                    # Held until close: saves write the file in place through its descriptor.
                    lock_exclusive(fd, fspath)
                    remove_stale_temporaries(os.path.realpath(fspath))
                buf: bytes | bytearray | mmap.mmap = read_all(fd, st.st_size, fspath)
            elif st.st_size >= _PAGER_THRESHOLD and hasattr(os, "pread"):
                pager = FilePager(fd, fspath, st)
                buf = pager.buf
            else:
                buf = bytes(read_all(fd, st.st_size, fspath))
                os.close(fd)
                fd = -1
            recovery = None
            floor = 0
            if logs != "ignore":
                from .logs.paths import find_logs, needs_recovery

                if not needs_recovery(buf, logs):
                    # Stale logs beside a clean primary: a later save numbers itself past them.
                    # (A clean hive with no logs, the common case, never loads the replay.)
                    stale = find_logs(os.path.realpath(fspath)) if writable else []
                    if stale:
                        from .logs.replay import log_sequence_floor

                        floor = log_sequence_floor(fspath, stale)
                else:
                    from .logs.replay import recover

                    if pager is not None:
                        pager.fill_all()  # the replay reads every page of the primary
                    recovered, recovery = recover(buf, os.path.realpath(fspath), logs,
                                                  writable=writable)
                    buf = recovered  # type: ignore[assignment]
                    if recovery.replaced_image and pager is not None:
                        pager.close()
                        pager = None
                        os.close(fd)
                        fd = -1
            hive = cls(buf, path=fspath, writable=writable, strict=strict,
                       _fd=fd if fd >= 0 else None, _pager=pager)
        except BaseException:
            if pager is not None:
                pager.close()
            if fd >= 0:
                os.close(fd)
            raise
        hive._after_open(recovery, ignored=logs == "ignore")
        hive._sequence_floor = max(hive._sequence_floor, floor)
        return hive

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, *, writable: bool = False,
                   strict: bool = True) -> Hive:
        """A hive read from memory (the bytes are copied when ``writable``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"data must be bytes, not {type(data).__name__}")
        if writable and not strict:
            raise UsageError("a tolerant read (strict=False) cannot be writable")
        buf: bytes | bytearray = bytearray(data) if writable else bytes(data)
        hive = cls(buf, writable=writable, strict=strict)
        hive._after_open(None, ignored=True)
        return hive

    def _after_open(self, recovery: RecoveryReport | None, *, ignored: bool) -> None:
        """Record what log recovery did; a dirty image that no log brought up to date can be
        read but not changed or saved."""
        self.recovery = recovery
        self._file_dirty = recovery.primary_dirty if recovery is not None else self._bb.dirty
        if recovery is not None:
            self._sequence_floor = recovery.sequence_floor
        if self._bb.dirty and (recovery is None or not recovery.applied):
            self._dirty_unreplayed = True

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the file (and its lock). Keys and values of a closed hive cannot be read."""
        if self._closed:
            return
        self._closed = True
        self._img.buf = b""
        self._img.end = 0
        self._img.bins_size = 0
        self._img.pages = None
        if self._pager is not None:
            self._pager.close()
            self._pager = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Hive:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path or "<memory>"
        return f"<Hive {where} v{self.version[0]}.{self.version[1]} root={self.root.name!r}>"

    @property
    def dirty(self) -> bool:
        """The primary file was not cleanly written: bad checksum or sequence numbers that
        differ (as found on disk, before any log replay; see ``recovery``)."""
        return bool(self._file_dirty)

    def check(self, *, progress: Callable[[int], None] | None = None) -> CheckReport:
        """Windows' load-time checks over the whole hive, as a report (see ``.check``);
        ``progress`` is called now and then with the number of keys checked."""
        from .check import check_hive

        return check_hive(self, self._editor, progress=progress)

    def _edit(self) -> Editor:
        where = f"{self._source}: " if self._source else ""
        if self._closed:
            raise UsageError(f"{where}the hive is closed")
        if not self.strict:
            raise NotWritableError(f"{where}a tolerant read (strict=False) cannot be changed; "
                                   "open it with writable=True (strict) to change it")
        if not self._writable:
            raise NotWritableError(f"{where}the hive was opened read-only (open it with "
                                   "writable=True)")
        if self._dirty_unreplayed:
            raise DirtyHiveError(
                f"{where}the hive is dirty and its transaction logs were not replayed; changing "
                "or saving it would lose the changes they hold (open it with logs='auto' next to "
                "its .LOG1/.LOG2 files, or name them with logs=[...])")
        if self._editor is None:
            from .edit.editor import Editor

            self._editor = Editor(self)
        return self._editor  # type: ignore[no-any-return]


    # -- transactions and saving (see ``edit`` and ``save``) ---------------------------------

    def transaction(self) -> Transaction:
        """``with hive.transaction(): ...`` -- the changes inside commit together, or, if the
        block raises, none of them remain (the exception propagates)."""
        return Transaction(self)

    def to_bytes(self, *, compact: bool = False) -> bytes:
        """The hive as a file would hold it after ``save`` (sequence numbers advanced, time
        and checksum updated). With ``compact`` the content is laid out afresh, defragmented.
        Like ``save``, it needs a writable hive (``NotWritableError`` otherwise)."""
        from .save import serialize

        base, bins = serialize(self, self._edit(), compact=compact)
        return base + bins

    def save(self, path: str | os.PathLike[str] | None = None, *, compact: bool = False,
             backup: bool = False) -> None:
        """Write the hive, crash-safely and keeping the file's identity: an existing hive file is
        updated in place, journalled through its transaction log as Windows does (a crash leaves
        the old hive or one its log recovers to the new); a new file is written aside and
        renamed into place. ``path=None`` writes the file the hive was opened from (through the
        descriptor that holds its lock, whatever path names it); another path writes a copy
        (the hive stays tied to its own file), refused with ``HiveLockedError`` when another
        process holds that file open for writing. ``backup`` keeps the previous file (and its
        logs) as ``NAME.bak`` (``NAME.LOG1.bak``...). See ``docs/tasks/edit.md``."""
        from .save import save_hive

        if save_hive(self, self._edit(), path, compact=compact, backup=backup):
            self._file_dirty = False  # the file on disk is now this clean hive

    @property
    def modified(self) -> bool:
        """Whether changes were made since the hive was opened or last saved."""
        return bool(self._editor is not None and self._editor.modified)


class Transaction:
    """Context manager returned by ``Hive.transaction`` (nestable: each level rolls back to
    where it began)."""

    __slots__ = ("_hive", "_snapshot")

    def __init__(self, hive: Hive) -> None:
        self._hive = hive
        self._snapshot: Any = None

    def __enter__(self) -> Hive:
        editor = self._hive._edit()
        self._snapshot = editor.snapshot()
        return self._hive

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None and self._snapshot is not None:
            self._hive._editor.restore(self._snapshot)
        self._snapshot = None


def open(path: str | os.PathLike[str], *, writable: bool = False,
         logs: Literal["auto", "ignore", "require"] | list[str] = "auto", strict: bool = True,
         lock: bool = True, force: bool = False) -> Hive:
    """Open a hive file.

    ``writable`` reads the file into memory and takes an exclusive advisory lock; changes are
    written by ``Hive.save``. ``logs`` says what to do with transaction logs when the hive is
    dirty: ``"auto"`` replays the sibling ``.LOG``/``.LOG1``/``.LOG2`` files, ``"ignore"`` reads
    the primary file as it is (a dirty hive then cannot be saved), ``"require"`` fails when no log
    can be applied, and a list names the log files to use. ``strict=False`` reads what can be read
    and lists what was skipped in ``Hive.problems`` (such a hive is never writable).

    A writable open of a file without any write permission bit (``chmod a-w``) raises
    ``ReadOnlyHiveError``, even for root, whom the system would let write it: a read-only file
    means "do not change it". ``force=True`` opens it anyway.
    """
    return Hive.open(path, writable=writable, logs=logs, strict=strict, lock=lock, force=force)


def create(root_name: str = "ROOT", version: tuple[int, int] = (1, 5)) -> Hive:
    """A new, empty, writable hive in memory (like offreg's ``ORCreateHive``)."""
    from .edit.blank import new_hive_bytes

    return Hive.from_bytes(new_hive_bytes(root_name, version), writable=True)


def _check_open_arguments(path: object, writable: object, logs: object, strict: object,
                          lock: object, force: object) -> str:
    """The file system path to open, once every argument is known to be of its kind
    (``UsageError`` naming the argument otherwise)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise UsageError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    for name, flag in (("writable", writable), ("strict", strict), ("lock", lock),
                       ("force", force)):
        if not isinstance(flag, bool):
            raise UsageError(f"{name} must be True or False, not {flag!r}")
    if isinstance(logs, str):
        if logs not in _LOGS_WORDS:
            raise UsageError(f"logs must be 'auto', 'ignore', 'require' or a list of log "
                             f"files, not {logs!r}")
    elif not isinstance(logs, (list, tuple)) or not all(
            isinstance(p, (str, os.PathLike)) for p in logs):
        raise UsageError(f"logs must be 'auto', 'ignore', 'require' or a list of log files, "
                         f"not {logs!r}")
    if writable and not strict:
        raise UsageError("a tolerant read (strict=False) cannot be writable")
    fspath = os.fspath(path)
    if isinstance(fspath, bytes):
        fspath = os.fsdecode(fspath)
    if not fspath:
        raise UsageError("path is empty")
    return fspath


def refuse_read_only(fspath: str) -> None:
    """``ReadOnlyHiveError`` when the file has no write permission bit at all (what a writable
    ``open`` checks first; for callers that must know before they start writing other files)."""
    import stat

    try:
        st = os.stat(fspath)
    except OSError:
        return  # opening it reports the problem
    if stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222:
        raise ReadOnlyHiveError(
            f"{fspath} is read-only (mode {stat.S_IMODE(st.st_mode):04o}): make it writable "
            "(chmod u+w) to change it, or open it with force=True", fspath)
