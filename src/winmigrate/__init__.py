"""winmigrate: read and rewrite Windows registry hive files (REGF) in pure Python.

    import winmigrate
    with winmigrate.open("SYSTEM") as hive:
        print(hive.current_control_set)
        services = hive.key(r"CurrentControlSet\\Services")
        print(services.subkey("Tcpip").get("ImagePath"))

The public face: ``open``, ``create``, ``Hive``, ``Key``, ``Value``, ``RegType`` and the errors.
The package is layered, each layer importing only those below it (``docs/architecture.md``)::

    cli/          the command line                      testing/   Hypothesis strategies
    convert/      the Xen -> KVM conversion
    windows/      what SYSTEM and SOFTWARE mean         regfile/   .reg import and export
    hive/         one hive as objects: read, edit, check, save, logs
    regf/         the on-disk format, no policy
    errors, version
"""

from __future__ import annotations

from .errors import (
    DirtyHiveError,
    HiveFileError,
    HiveFormatError,
    HiveLockedError,
    KeyExistsError,
    KeyNotFoundError,
    LogReplayError,
    NotWritableError,
    ReadOnlyHiveError,
    UsageError,
    ValueNotFoundError,
    WinmigrateError,
    WrongHiveError,
)
from .hive import Hive, Key, Value, create, open
from .version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .regf.regtype import RegType


__all__ = [
    "DirtyHiveError",
    "Hive",
    "HiveFileError",
    "HiveFormatError",
    "HiveLockedError",
    "Key",
    "KeyExistsError",
    "KeyNotFoundError",
    "LogReplayError",
    "NotWritableError",
    "ReadOnlyHiveError",
    "RegType",
    "UsageError",
    "Value",
    "ValueNotFoundError",
    "WinmigrateError",
    "WrongHiveError",
    "__version__",
    "create",
    "open",
]


def __getattr__(name: str) -> object:
    # RegType needs ``enum``; importing it only when asked keeps a point lookup fast.
    if name == "RegType":
        from .regf.regtype import RegType

        return RegType
    raise AttributeError(f"module 'winmigrate' has no attribute {name!r}")
