"""The exceptions winmigrate raises.

Two families hang under ``WinmigrateError``: problems with the *input* (a malformed hive, a
dirty hive, a missing key) and problems with *how the API was used* (``UsageError``, e.g.
saving a hive opened read-only). Low-level failures (``struct.error``, ``IndexError``,
``UnicodeDecodeError``, ``RecursionError``) never escape: the format layer turns them into
``HiveFormatError`` with the file offset where the bad bytes are.
"""

from __future__ import annotations

__all__ = [
    "DirtyHiveError",
    "HiveFileError",
    "HiveFormatError",
    "HiveLockedError",
    "KeyExistsError",
    "KeyNotFoundError",
    "LogReplayError",
    "NotWritableError",
    "ReadOnlyHiveError",
    "UsageError",
    "ValueNotFoundError",
    "WinmigrateError",
    "WrongHiveError",
]


class WinmigrateError(Exception):
    """Root of every error winmigrate raises on purpose."""


class HiveFormatError(WinmigrateError):
    """The bytes do not form a valid hive.

    ``offset`` is the absolute file offset of the offending structure (``None`` when the problem is
    not tied to one place, e.g. a file that is too short); ``path`` is the key path being read, when
    known.
    """

    def __init__(self, message: str, offset: int | None = None, *, path: str | None = None,
                 source: str | None = None) -> None:
        self.message = message
        self.offset = offset
        self.path = path
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.offset is not None:
            parts.append(f"offset 0x{self.offset:x}")
        if self.path is not None:
            parts.append(f"key {self.path or '(root)'!s}")
        where = ", ".join(parts)
        return f"{where}: {self.message}" if where else self.message

    def with_context(self, *, path: str | None = None, source: str | None = None,
                     offset: int | None = None) -> HiveFormatError:
        """Fill in the key path, file name or offset if they are not known yet (returns
        ``self``). A reference that points outside the file has no offset of its own: the offset
        of the record holding it is the useful one."""
        if path is not None and self.path is None:
            self.path = path
        if offset is not None and self.offset is None:
            self.offset = offset
        if source is not None and self.source is None:
            self.source = source
        self.args = (self._render(),)
        return self


class HiveFileError(WinmigrateError, OSError):
    """The hive file cannot be opened, read or written (missing, a directory, no permission, disk
    full...). Also an ``OSError``, with ``errno`` and ``filename`` set."""


class DirtyHiveError(WinmigrateError):
    """The hive was not cleanly written (bad checksum or sequence numbers differ) and the
    transaction logs needed to bring it up to date were not replayed, so it cannot be saved."""


class LogReplayError(WinmigrateError):
    """Transaction logs were required but none could be applied."""


class KeyNotFoundError(WinmigrateError, LookupError):
    """No key at the given path (lookups are case-insensitive, as in Windows)."""

    def __init__(self, path: str, missing: str | None = None) -> None:
        self.path = path
        self.missing = missing
        detail = ""
        if missing is not None and missing != path:
            parent, _, name = missing.rpartition("\\")
            detail = f" ({parent or '(root)'} has no subkey {name})"
        super().__init__(f"key not found: {path}{detail}")


class ValueNotFoundError(WinmigrateError, LookupError):
    """The key has no value of that name (``""`` is the default value)."""

    def __init__(self, key_path: str, name: str) -> None:
        self.key_path = key_path
        self.name = name
        shown = "(default)" if name == "" else repr(name)
        super().__init__(f"value {shown} not found in key {key_path or '(root)'}")


class UsageError(WinmigrateError, ValueError):
    """The API was called in a way that cannot work (bad argument, wrong state)."""


class NotWritableError(UsageError):
    """A change or save was asked of a hive that cannot be written (opened read-only, read
    tolerantly, or dirty without its logs replayed)."""


class ReadOnlyHiveError(NotWritableError):
    """A writable open of a hive file that has no write permission bit (mode 0444...): its
    owner said "do not change it". Refused even when the process could write it anyway (root);
    ``open(..., writable=True, force=True)`` overrides. ``path`` is the path as given."""

    def __init__(self, message: str, path: str) -> None:
        self.path = path
        super().__init__(message)


class WrongHiveError(UsageError):
    """The operation does not apply to this hive: another kind of hive or Windows release (the
    CriticalDeviceDatabase of a Windows 10 SYSTEM hive), or two hives that do not belong
    together. A problem of the input, not of the call."""


class KeyExistsError(UsageError):
    """A key of that name already exists (and ``exist_ok`` was false)."""


class HiveLockedError(WinmigrateError):
    """Another process holds the write lock on this hive file."""
