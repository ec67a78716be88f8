"""A new, empty hive: the bytes ``winmigrate.create`` starts from."""

from __future__ import annotations

from ...errors import UsageError
from ...regf import layout as L
from ...regf.build import build_nk, build_sk
from ...regf.timestamps import now_filetime
from .naming import check_key_name

__all__ = ["new_hive_bytes"]

_U32 = L.U32


def new_hive_bytes(root_name: str, version: tuple[int, int]) -> bytes:
    """The bytes of a new hive: a base block and one bin holding the root key and its security
    record (the default descriptor Windows gives a new hive's root)."""
    from ...regf.baseblock import checksum
    from ...regf.security import DEFAULT_ROOT_DESCRIPTOR

    major, minor = version
    if major != 1 or minor not in (3, 4, 5, 6):
        raise UsageError(f"cannot create a hive of version {major}.{minor} (1.3 to 1.6)")
    check_key_name(root_name)
    now = now_filetime()
    bin_ = bytearray(L.BIN_ALIGN)
    L.HBIN_HEADER.pack_into(bin_, 0, L.HBIN_SIGNATURE, 0, L.BIN_ALIGN, 0, 0, now, 0)
    root_off = L.HBIN_HEADER_SIZE
    root = build_nk(name=root_name, flags=L.KEY_HIVE_ENTRY | L.KEY_NO_DELETE, timestamp=now,
                    parent=L.NIL, security=0)
    root_size = (len(root) + 4 + 7) & ~7
    sk_off = root_off + root_size
    root = build_nk(name=root_name, flags=L.KEY_HIVE_ENTRY | L.KEY_NO_DELETE, timestamp=now,
                    parent=L.NIL, security=sk_off)
    sk = build_sk(flink=sk_off, blink=sk_off, reference_count=1,
                  descriptor=DEFAULT_ROOT_DESCRIPTOR)
    sk_size = (len(sk) + 4 + 7) & ~7
    L.I32.pack_into(bin_, root_off, -root_size)
    bin_[root_off + 4:root_off + 4 + len(root)] = root
    L.I32.pack_into(bin_, sk_off, -sk_size)
    bin_[sk_off + 4:sk_off + 4 + len(sk)] = sk
    free_off = sk_off + sk_size
    L.I32.pack_into(bin_, free_off, L.BIN_ALIGN - free_off)
    base = bytearray(L.BASE_BLOCK_SIZE)
    L.BASE_BLOCK_HEAD.pack_into(base, 0, L.REGF_SIGNATURE, 1, 1, now, major, minor,
                                L.FILE_TYPE_PRIMARY, L.FILE_FORMAT_DIRECT_MEMORY_LOAD, root_off,
                                L.BIN_ALIGN)
    _U32.pack_into(base, L.CLUSTERING_OFFSET, 1)
    name = root_name.encode("utf-16-le", "surrogatepass")[:L.FILE_NAME_SIZE - 2]
    base[L.FILE_NAME_OFFSET:L.FILE_NAME_OFFSET + len(name)] = name
    _U32.pack_into(base, L.CHECKSUM_OFFSET, checksum(base))
    return bytes(base) + bytes(bin_)
