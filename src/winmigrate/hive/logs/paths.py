"""Whether a hive needs its transaction logs, and finding them on disk: the sibling
``NAME.LOG``, ``NAME.LOG1`` and ``NAME.LOG2`` files. Kept apart from ``logs`` (the replay, with
its dataclasses) so that opening a clean hive, or saving next to no logs at all -- the common
cases -- reads 512 bytes and lists one directory, and imports nothing more."""

from __future__ import annotations

import os

from ...regf import layout as L
from ...regf.baseblock import checksum

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap

#: The roles of a primary's logs, in the order they are reported.
LOG_ROLES = ("LOG", "LOG1", "LOG2")


def find_logs(primary_path: str | os.PathLike[str]) -> list[str]:
    """The primary's sibling transaction logs that exist, in the order ``.LOG``, ``.LOG1``,
    ``.LOG2``, matched in any letter case (Windows' file names are case-insensitive: a hive copied
    from NTFS may be ``SYSTEM`` next to ``system.LOG1``)."""
    path = os.fspath(primary_path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path).lower()
    wanted = {base + "." + role.lower(): role for role in LOG_ROLES}
    found: dict[str, str] = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    for name in names:
        role = wanted.get(name.lower())
        if role is not None and role not in found:
            full = os.path.join(folder, name)
            if os.path.isfile(full):
                found[role] = full
    return [found[role] for role in LOG_ROLES if role in found]


def needs_recovery(buf: bytes | bytearray | memoryview | mmap.mmap, logs: object) -> bool:
    """Whether ``logs.recover`` has work to do: the primary's base block is dirty (wrong
    signature or checksum, or sequence numbers that differ: spec, "Dirty state of a hive"), or
    the caller asked for logs explicitly (``"require"`` or a list). Reads only the first 512
    bytes."""
    if logs == "require" or isinstance(logs, (list, tuple)):
        return True
    if len(buf) < 512:
        return False  # too short to be a hive at all: let the reader say so
    head = bytes(buf[:512])
    if head[:4] != L.REGF_SIGNATURE:
        return True  # an invalid base block: a log may hold a valid copy (yarp's BadBaseBlockHive)
    s1, s2 = L.U32.unpack_from(head, 4)[0], L.U32.unpack_from(head, 8)[0]
    return bool(s1 != s2 or L.U32.unpack_from(head, L.CHECKSUM_OFFSET)[0] != checksum(head))
