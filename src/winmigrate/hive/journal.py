"""Writing a hive file in place, journalled through its transaction log, the way Windows does.

Replacing the file with a renamed copy would be crash-safe too, but a new file loses the old one's
identity: the symlink it was reached through, its owner and group, its hard links and, on an NTFS
volume mounted by ntfs-3g, the security descriptor, attributes and streams Windows gave
``System32\\config\\SYSTEM``. So the changed pages are written into the file itself, and the log
makes that safe:

1. the logs beside the file are emptied (the primary on disk is clean, so nothing in them is
   needed: a dirty primary is first *consolidated* -- its own logs replayed into it, which is
   the recovery write Windows does, repeatable after a crash);
2. the pages that differ go to a log file as one entry (the format the guest's Windows uses:
   new for Windows 8.1+ hives, old for XP to 8; see ``choose_log``), fsynced;
3. a hive that grows gets its new bins written past its old end first, fsynced: slack to the old
   hive, and the one write that needs new space on the disk -- so a full disk stops the save
   here, and the file is cut back to what it was;
4. the primary's base block is marked dirty (sequence numbers differ), fsynced;
5. the other pages are written into the primary, fsynced;
6. the base block is written clean, the file cut to its new size, fsynced;
7. the log is emptied (or removed when the save created it).

A failure before 4 leaves the old file as it was (a log the save created is removed); a crash
at any point leaves either the old hive, or a dirty primary whose log replays to the new one --
for Windows and for winmigrate alike (``logs.replay``). ``STEPS`` names the points between the
steps; tests stop the process at each (``_after_step``).
"""

from __future__ import annotations

import os

from ..errors import HiveFileError, HiveFormatError
from ..regf import layout as L
from .files import fsync_folder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["STEPS", "LogChoice", "choose_log", "write_in_place"]

_BASE = L.BASE_BLOCK_SIZE
_PAGE = 4096
_READ_BLOCK = 1 << 20
#: The points between the steps of an in-place write, in order (see the module docstring).
STEPS = ("consolidated", "logs-emptied", "log-written", "grown", "primary-dirty",
         "pages-written", "primary-clean", "log-emptied")
#: Tests set this to a callable taking the step name, called after each step: to stop the
#: process there (crash tests) or to act between two steps (race tests). ``None`` in use.
_after_step: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if _after_step is not None:
        _after_step(name)


class LogChoice:
    """Which log file journals a write, in which format, and whether the save creates it."""

    __slots__ = ("created", "format", "path")

    def __init__(self, path: str, fmt: str, created: bool) -> None:
        self.path = path
        self.format = fmt
        self.created = created

    def __repr__(self) -> str:
        return f"LogChoice({self.path!r}, {self.format!r}, created={self.created})"


def choose_log(target: str, minor: int, existing: list[str]) -> LogChoice:
    """The log to journal a write of ``target`` with.

    The format is the one the guest's Windows reads: that of a valid log already beside the file
    (Windows 8.1 and later write the new format, XP to 8.0 the old one); with no valid log to go
    by, the new format for hive version 1.5 and later, the old one before. The file: an existing
    ``.LOG1`` (or ``.LOG2``), else for the old format an existing ``.LOG`` (XP's single log),
    else a new ``.LOG1`` (``.LOG`` for versions before 1.5), removed again after the save."""
    from ..regf.logwrite import FORMAT_NEW, FORMAT_OLD

    formats: list[str] = []
    by_role: dict[str, str] = {}
    for path in existing:
        from ..regf.logfile import parse_log_header  # only with logs to read (import cost)

        role = path.rsplit(".", 1)[-1].upper()
        by_role.setdefault(role, path)
        try:
            with open(path, "rb") as f:
                head = f.read(512)
            formats.append(parse_log_header(head, source=os.path.basename(path)).format)
        except (OSError, HiveFormatError):  # an unreadable or invalid log is no evidence
            continue
    if FORMAT_NEW in formats:
        fmt = FORMAT_NEW
    elif FORMAT_OLD in formats:
        fmt = FORMAT_OLD
    else:
        fmt = FORMAT_NEW if minor >= 5 else FORMAT_OLD
    for role in ("LOG1", "LOG2") if fmt == FORMAT_NEW else ("LOG1", "LOG2", "LOG"):
        if role in by_role:
            return LogChoice(by_role[role], fmt, False)
    suffix = "LOG1" if minor >= 5 else "LOG"
    return LogChoice(f"{target}.{suffix}", fmt, True)


def _dirty_pages(fd: int, new_bins: memoryview, old_size: int) -> list[tuple[int, int]]:
    """Runs ``(offset, length)`` of the 4 KiB pages of ``new_bins`` that differ from what the
    file at ``fd`` holds after its base block (a page past the file's end differs)."""
    runs: list[tuple[int, int]] = []
    total = len(new_bins)
    old_bins = max(0, old_size - _BASE)
    pos = 0
    while pos < total:
        end = min(pos + _READ_BLOCK, total)
        have = os.pread(fd, min(end, old_bins) - pos, _BASE + pos) if pos < old_bins else b""
        # bytes against bytes: one memcmp (bytes against a memoryview compares item by item).
        new = new_bins[pos:end].tobytes()
        if have == new:
            pos = end
            continue
        for page in range(pos, end, _PAGE):
            stop = min(page + _PAGE, end)
            if have[page - pos:stop - pos] != new[page - pos:stop - pos]:
                if runs and runs[-1][0] + runs[-1][1] == page:
                    runs[-1] = (runs[-1][0], stop - runs[-1][0])
                else:
                    runs.append((page, stop - page))
        pos = end
    return runs


def _write_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        offset += written
        view = view[written:]


def _write_log(choice: LogChoice, content: bytes | list[bytes | memoryview], mode: int) -> None:
    flags = os.O_RDWR | (os.O_CREAT if choice.created else 0)
    fd = os.open(choice.path, flags, mode)
    try:
        offset = 0
        for part in [content] if isinstance(content, bytes) else content:
            _write_all(fd, part, offset)
            offset += len(part)
        os.ftruncate(fd, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    if choice.created:
        fsync_folder(os.path.dirname(os.path.abspath(choice.path)))


def _empty(path: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, 0)
        os.fsync(fd)
    finally:
        os.close(fd)


def _consolidate(fd: int, target: str) -> None:
    """The primary on disk is dirty: replay its logs into it (Windows' own recovery write), so
    that emptying them afterwards loses nothing. Interrupted, it is simply done again: the logs
    are still there and replay to the same image."""
    from ..errors import DirtyHiveError
    from .logs.replay import recover

    size = os.fstat(fd).st_size
    primary = os.pread(fd, size, 0)
    image, report = recover(primary, target, "auto", writable=True)
    if not report.applied:
        raise DirtyHiveError(f"{target}: the file on disk is dirty and its transaction logs no "
                             f"longer apply ({report.summary()}); it was not changed")
    recovered = memoryview(image)
    bins_size = L.U32.unpack_from(recovered, 40)[0]
    for off, length in _dirty_pages(fd, recovered[_BASE:_BASE + bins_size], size):
        _write_all(fd, recovered[_BASE + off:_BASE + off + length], _BASE + off)
    os.fsync(fd)
    _write_all(fd, recovered[:_BASE], 0)
    os.fsync(fd)


def write_in_place(fd: int, target: str, base: bytes, bins: memoryview, *, minor: int) -> None:
    """Make the file open at ``fd`` (``target``, its real path, locked by the caller) the hive
    whose base block is ``base`` (clean, stamped) and whose hive bins are ``bins``, in place and
    journalled (see the module docstring). Raises ``HiveFileError`` for an I/O failure, leaving
    the old hive or one that its log recovers to the new."""
    from ..regf.baseblock import BaseBlock, checksum
    from ..regf.logwrite import FORMAT_NEW, build_old_log, new_log_parts
    from .logs.paths import find_logs, needs_recovery

    choice: LogChoice | None = None
    touched = False  # the primary no longer holds the old hive by itself
    size = -1
    try:
        import stat

        st = os.fstat(fd)
        mode = stat.S_IMODE(st.st_mode)
        head = os.pread(fd, _BASE, 0).ljust(_BASE, b"\0")
        if needs_recovery(head, "auto"):
            _consolidate(fd, target)
            head = os.pread(fd, _BASE, 0)
        on_disk = BaseBlock(head)
        _step("consolidated")
        new_seq = L.U32.unpack_from(base, 4)[0]
        old_seq = on_disk.secondary_sequence if on_disk.checksum_ok else (new_seq - 1)
        if old_seq == new_seq:
            old_seq = (new_seq - 1) & 0xFFFFFFFF
        size = os.fstat(fd).st_size
        runs = _dirty_pages(fd, bins, size) or [(0, min(_PAGE, len(bins)))]
        pages = [(off, bins[off:off + length]) for off, length in runs]
        logs = find_logs(target)
        choice = choose_log(target, minor, logs)
        for log in logs:
            if log != choice.path and os.path.getsize(log):
                _empty(log)
        _step("logs-emptied")
        build = new_log_parts if choice.format == FORMAT_NEW else build_old_log
        _write_log(choice, build(base, new_seq, len(bins), pages), mode & 0o666 or 0o600)
        _step("log-written")
        old_end = size - _BASE
        beyond = [(off, data) for off, data in pages if off + len(data) > old_end]
        for off, data in beyond:  # new bins: slack to the old hive (step 3)
            start = max(off, old_end)
            _write_all(fd, data[start - off:], _BASE + start)
        if beyond:
            os.fsync(fd)
        _step("grown")
        dirty = bytearray(base)
        L.U32.pack_into(dirty, 8, old_seq)  # sequence numbers differ: a write is under way
        L.U32.pack_into(dirty, L.CHECKSUM_OFFSET, checksum(dirty))
        touched = True
        _write_all(fd, dirty, 0)
        os.fsync(fd)
        _step("primary-dirty")
        for off, data in pages:
            if off < old_end:
                _write_all(fd, data[:old_end - off], _BASE + off)
        os.fsync(fd)
        _step("pages-written")
        _write_all(fd, base, 0)
        if size > _BASE + len(bins):
            os.ftruncate(fd, _BASE + len(bins))
        os.fsync(fd)
        _step("primary-clean")
    except OSError as e:
        if not touched:
            _undo(fd, size, choice)
        if isinstance(e, HiveFileError):
            raise
        state = ("unchanged" if not touched else
                 "the old hive, or one its transaction log recovers to the new one")
        raise HiveFileError(e.errno, f"cannot save hive: {e.strerror}; the file on disk is "
                            f"{state}", target) from None
    # The new hive is on disk and clean: the journal is no longer needed. One that cannot be
    # emptied is harmless (Windows ignores the logs of a clean primary, and the next save is
    # numbered past it): a warning, not a failed save.
    try:
        if choice.created:
            os.unlink(choice.path)
            fsync_folder(os.path.dirname(os.path.abspath(choice.path)))
        else:
            _empty(choice.path)
    except OSError as e:
        import warnings

        warnings.warn(f"{target}: the hive was saved, but its log {choice.path} could not be "
                      f"emptied ({e.strerror}); Windows ignores the logs of a clean hive",
                      RuntimeWarning, stacklevel=3)
    _step("log-emptied")


def _undo(fd: int, size: int, choice: LogChoice | None) -> None:
    """After a failure before the primary was marked dirty: cut off what step 3 appended and
    remove a log the save created, so the folder is as it was (best effort: the old hive is
    intact whatever happens here)."""
    try:
        if size >= 0 and os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
    except OSError:
        pass
    if choice is not None and choice.created:
        try:
            os.unlink(choice.path)
        except OSError:
            pass
