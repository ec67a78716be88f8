"""The file-system primitives a hive needs, and nothing about hives: reading a whole file into one
buffer, the writer's advisory lock, private temporary files, atomic replacement and making
renames durable. Imports only ``os`` (the rest on first use), so a point lookup pays nothing."""

from __future__ import annotations

import os

from ..errors import HiveFileError, HiveLockedError

__all__ = ["atomic_write", "create_temporary", "fsync_folder", "lock_exclusive", "read_all"]


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
    """Replace ``target`` with ``parts``, crash-safely: a temporary file in the same folder,
    written and fsynced, renamed over the target (atomic on POSIX), then the folder fsynced so
    the rename itself is durable. A failure leaves the old file and removes the temporary one.
    The new file takes the mode of ``mode_from`` (default: the target's)."""
    import stat

    folder = os.path.dirname(os.path.abspath(target))
    try:
        mode = stat.S_IMODE(os.stat(mode_from or target).st_mode)
    except OSError:
        mode = 0o644
    try:
        fd, tmp = create_temporary(folder, os.path.basename(target))
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot save hive: {e.strerror}; the file on disk is "
                            "unchanged", target) from None
    try:
        try:
            for part in parts:
                view = memoryview(part)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise HiveFileError(e.errno, f"cannot save hive: {e.strerror}; the file on disk is "
                            "unchanged", target) from None
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
