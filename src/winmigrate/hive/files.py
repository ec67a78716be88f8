"""The file-system primitives a hive needs, and nothing about hives: reading a whole file into one
buffer, the writer's advisory lock, private temporary files, atomic replacement and making
renames durable. Imports only ``os`` (the rest on first use), so a point lookup pays nothing."""

from __future__ import annotations

import os

from ..errors import HiveFileError, HiveLockedError

__all__ = [
    "FilePager",
    "atomic_write",
    "create_temporary",
    "fsync_folder",
    "lock_exclusive",
    "read_all",
    "remove_stale_temporaries",
    "replace_file",
]


def read_all(fd: int, size: int, path: str) -> bytearray:
    """The whole file, read straight into one buffer (no intermediate copies)."""
    buf = bytearray(size)
    got = 0
    try:
        with memoryview(buf) as view:
            while got < size:
                n = os.readv(fd, [view[got:]])
                if n == 0:
                    break
                got += n
            extra = os.read(fd, 1 << 16)  # the file grew since fstat: take the rest too
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot read hive: {e.strerror}", path) from None
    if got < size:
        del buf[got:]
    elif extra:
        buf += extra + _read_rest(fd)
    return buf


def _read_rest(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def lock_exclusive(fd: int, path: str) -> None:
    """Advisory exclusive lock for writers (readers are not blocked)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise HiveLockedError(f"{path}: another process has this hive open for writing (close it "
                              "there, or open it read-only: readers are not blocked)") from None
    except OSError:  # locking unsupported on this filesystem: go on without it
        pass


def atomic_write(target: str, parts: tuple[bytes | memoryview, ...], *,
                 mode_from: str | None = None) -> None:
    """Replace the hive file ``target`` with ``parts`` (``replace_file``), the new file taking
    the mode of ``mode_from`` (default: the target's); a failure is a ``HiveFileError`` saying
    the file on disk is unchanged."""
    import stat

    try:
        mode = stat.S_IMODE(os.stat(mode_from or target).st_mode)
    except OSError:
        mode = 0o644
    try:
        replace_file(target, parts, mode)
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot save hive: {e.strerror}; the file on disk is "
                            "unchanged", target) from None


def replace_file(target: str, parts: tuple[bytes | memoryview, ...], mode: int = 0o644) -> None:
    """Replace ``target`` with ``parts``, crash-safely: a temporary file in the same folder,
    written and fsynced, renamed over the target (atomic on POSIX), then the folder fsynced so
    the rename itself is durable. A failure (``OSError``, or an interruption) leaves the old file
    and removes the temporary one."""
    folder = os.path.dirname(os.path.abspath(target))
    fd, tmp = create_temporary(folder, os.path.basename(target))
    try:
        try:
            for part in parts:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_folder(folder)


def create_temporary(folder: str, name: str) -> tuple[int, str]:
    """A new, empty, private file ``.NAME.<random>.tmp`` in ``folder`` (what ``tempfile.mkstemp``
    does, without importing ``tempfile`` and its dependencies on every save)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(
        os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(17, "no free temporary file name", folder)


def remove_stale_temporaries(target: str) -> list[str]:
    """Remove the temporary files a killed save of ``target`` left beside it (``create_temporary``
    names: ``.NAME.<12 hex>.tmp``, and those of its backups and their logs' backups); returns
    their paths. Call it only while holding ``target``'s write lock: no live save of this hive
    can then own one of them."""
    import re

    folder, name = os.path.split(target)
    pattern = re.compile(r"\." + re.escape(name) + r"(?:\.LOG[12]?)?(?:\.bak)?\.[0-9a-f]{12}\.tmp",
                         re.IGNORECASE)
    removed = []
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    for entry in names:
        if pattern.fullmatch(entry) and entry[1:1 + len(name)] == name:
            path = os.path.join(folder, entry)
            try:
                os.unlink(path)
            except OSError:
                continue
            removed.append(path)
    return removed


def fsync_folder(folder: str) -> None:
    """Make a rename or truncation in ``folder`` durable (POSIX: fsync the directory)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:  # some filesystems refuse fsync on a directory; the data is already safe
        pass
    finally:
        os.close(dfd)


class FilePager:
    """A read-only file brought into memory as it is read, never mapped.

    A mapping of the file itself is fast and cheap, but when another process truncates the file
    the next touch of a page past the new end kills the reader with ``SIGBUS`` -- no exception,
    no message, and a batch or a conversion dies with it. Instead the pages live in an anonymous
    mapping of the file's size (memory the kernel provides only when a page is first written),
    filled with ``pread`` a page (``CHUNK`` bytes) at a time when a reader needs it: a point
    lookup costs the pages it touches, whatever the file's size, as a mapping would. After
    ``ALL_AFTER`` reads, or once a quarter of the file is in, the rest follows in one read (a
    walk reads everything anyway; page by page it would pay a system call per page).

    Every read checks that the file is still the one opened (size and modification time): a file
    that shrinks or changes under the reader gives ``HiveFileError`` saying so, never a crash and
    never a mixture of old and new data read silently.
    """

    CHUNK = 4096
    ALL_AFTER = 256

    __slots__ = ("_identity", "_missing_bytes", "_reads", "buf", "complete", "fd", "pages",
                 "path", "size")

    def __init__(self, fd: int, path: str, st: os.stat_result) -> None:
        import mmap

        self.fd = fd
        self.path = path
        self.size = st.st_size
        self._identity = (st.st_size, st.st_mtime_ns)
        flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)
        self.buf = (mmap.mmap(-1, max(self.size, 1), flags=flags) if flags
                    else mmap.mmap(-1, max(self.size, 1)))
        #: One byte per page, non-zero once the page is present (what the readers test).
        self.pages = bytearray(-(-self.size // self.CHUNK))
        self._missing_bytes = self.size
        self._reads = 0
        self.complete = self.size == 0
        self.fill(0, min(self.size, 4096))  # the base block, always needed

    def fill(self, start: int, length: int) -> None:
        """Make bytes ``[start, start + length)`` present (clipped to the file)."""
        if self.complete:
            return
        end = min(start + max(length, 1), self.size)
        if start >= end:
            return
        first = start // self.CHUNK
        last = (end - 1) // self.CHUNK
        loaded = self.pages
        i = first
        while i <= last:
            if loaded[i]:
                i += 1
                continue
            j = i
            while j + 1 <= last and not loaded[j + 1]:
                j += 1
            self._read(i * self.CHUNK, min((j + 1) * self.CHUNK, self.size))
            loaded[i:j + 1] = b"\x01" * (j + 1 - i)
            i = j + 1
        if self._reads >= self.ALL_AFTER or self._missing_bytes * 4 < self.size * 3:
            self.fill_all()

    def fill_all(self) -> None:
        """Read every chunk not read yet (one read per run of missing chunks)."""
        if self.complete:
            return
        loaded = self.pages
        i, n = 0, len(loaded)
        while i < n:
            if loaded[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and not loaded[j + 1]:
                j += 1
            self._read(i * self.CHUNK, min((j + 1) * self.CHUNK, self.size))
            loaded[i:j + 1] = b"\x01" * (j + 1 - i)
            i = j + 1
        self.complete = True

    def _read(self, start: int, end: int) -> None:
        got = 0
        try:
            if hasattr(os, "preadv"):  # straight into the pages (Linux, the BSDs)
                with memoryview(self.buf) as view, view[start:end] as part:
                    while got < end - start:
                        n = os.preadv(self.fd, [part[got:]], start + got)
                        if n == 0:
                            break
                        got += n
            else:
                while got < end - start:
                    data = os.pread(self.fd, end - start - got, start + got)
                    if not data:
                        break
                    self.buf[start + got:start + got + len(data)] = data
                    got += len(data)
        except OSError as e:
            raise HiveFileError(e.errno, f"cannot read hive: {e.strerror}", self.path) from None
        if got < end - start:
            raise self._changed(f"it ended at 0x{start + got:x}, before 0x{end:x}")
        self._missing_bytes -= end - start
        self._reads += 1
        # After every read: a truncation shows as a short read, any other change (before or
        # during the read) as a new size or modification time.
        self._check_unchanged()

    def _check_unchanged(self) -> None:
        try:
            st = os.fstat(self.fd)
        except OSError as e:
            raise HiveFileError(e.errno, f"cannot read hive: {e.strerror}", self.path) from None
        if (st.st_size, st.st_mtime_ns) != self._identity:
            raise self._changed(f"size 0x{self._identity[0]:x} -> 0x{st.st_size:x}"
                                if st.st_size != self._identity[0] else "modified in place")

    def _changed(self, what: str) -> HiveFileError:
        import errno

        return HiveFileError(errno.ESTALE, "the hive file changed while it was being read "
                             f"({what}); another program is writing it: open it again once it "
                             "is done", self.path)

    def close(self) -> None:
        try:
            self.buf.close()
        except BufferError:  # a memoryview still refers to it; it goes with the last one
            pass
