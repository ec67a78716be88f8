"""Readers for each record type (nk, vk, sk, li/lf/lh/ri, db, class names), over a checked
``.image.Image``. Each returns plain tuples (the layout's field order) so that the hot paths
of the hive model allocate nothing else; every size and count is checked against its cell first.
"""

from __future__ import annotations

from . import layout as L
from .image import Image

_I32 = L.I32.unpack_from
_NK = L.NK.unpack_from
# A cell's size and its record in one unpack (the hot readers below).
_CELL_NK = L.NK_CELL.unpack_from
_CELL_VK = L.VK_CELL.unpack_from
_SK = L.SK.unpack_from
_DB = L.DB.unpack_from
_LIST = L.LIST_HEADER.unpack_from
_CELL_LIST = L.LIST_CELL.unpack_from
_u32s = L.u32_array
_PACK_U32 = L.U32.pack
_UTF16LE = L.UTF16LE

# The page rule. The readers a walk calls per key or per value (``read_children``,
# ``read_values``, ``subkey_offsets``, ``value_offsets``) accept a cell without calling
# ``Image.cell`` when the cell lies wholly inside one 4 KiB page, starts at least 32 bytes past
# the page's start, and the page lies before ``img.end & ~0xFFF``. Hive bins are 4 KiB-aligned
# multiples of 4 KiB, each with its 32-byte header at a page start, so such a cell is inside the
# hive bins and inside one bin and overlaps no bin header; with the 8-byte alignment of offset
# and size and a negative (allocated) size field, that is every check of ``Image.cell``. ``p``
# is the offset in the page. Any other cell goes to their checked twins (``read_nk_named``,
# ``read_vk_named``, ``_checked_subkey_offsets``, ``_checked_value_offsets``), which read only
# through ``Image.cell``, hold the error messages, and are what the tests compare the fast
# paths with (``tests/regf/test_page_rule.py``). A buffer filled on demand (``Image.pages`` not
# ``None``) is asked for the page first, when that page is not there yet.

TYPE_CHECKING = False  # (not typing's: importing typing would cost every start-up ~9 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    _Owner = TypeVar("_Owner")
    _Made = TypeVar("_Made")
    _Parent = TypeVar("_Parent")


def read_nk(img: Image, off: int) -> tuple:  # type: ignore[type-arg]
    """The fields of the key node at ``off`` (signature and name length checked)."""
    start, length = img.cell(off, "key node")
    if length < L.NK_FIXED_SIZE:
        raise img.error(f"key node cell too small ({length} bytes)", off)
    nk = _NK(img.buf, start)
    if nk[0] != b"nk":
        raise img.error(f"expected a key node (nk), found signature {bytes(nk[0])!r}", off)
    if L.NK_FIXED_SIZE + nk[L.NK_NAME_LENGTH] > length:
        raise img.error(f"key name ({nk[L.NK_NAME_LENGTH]} bytes) does not fit its cell", off)
    return nk


def read_nk_named(img: Image, off: int) -> tuple[tuple, str]:  # type: ignore[type-arg]
    """``(fields, name)`` of the key node at ``off``."""
    buf = img.buf
    start, length = img.cell(off, "key node")
    if length < L.NK_FIXED_SIZE:
        raise img.error(f"key node cell too small ({length} bytes)", off)
    nk = _NK(buf, start)
    n = nk[18]  # NK_NAME_LENGTH
    if nk[0] != b"nk" or 76 + n > length:
        if nk[0] != b"nk":
            raise img.error(f"expected a key node (nk), found signature {bytes(nk[0])!r}", off)
        raise img.error(f"key name ({n} bytes) does not fit its cell", off)
    raw = buf[start + 76:start + 76 + n]
    if nk[1] & 0x20:  # KEY_COMP_NAME
        return nk, raw.decode("latin-1")
    try:
        return nk, _UTF16LE(raw, "surrogatepass", True)[0]
    except UnicodeDecodeError:
        raise img.error("key name is not valid UTF-16 (odd length)", off) from None


def read_children(img: Image, offsets: list[int],
                  make: Callable[[_Owner, int, tuple, str, _Parent, int], _Made],  # type: ignore[type-arg]
                  owner: _Owner, parent: _Parent, depth: int) -> list[_Made]:
    """``make(owner, offset, fields, name, parent, depth)`` for each key node of a subkey list,
    in one pass (the caller's objects built here, as in ``read_values``; the per-node checks of
    ``read_nk_named``, which raises the precise error for a bad node)."""
    buf = img.buf
    page_end = img.end & ~0xFFF  # (the page rule)
    pages = img.pages
    out = []
    for off in offsets:
        a = off + 4096
        p = a & 0xFFF
        if 32 <= p <= 4016 and a < page_end:  # (room for the cell size and the record)
            if pages is not None and not pages[a >> 12]:
                img.fetch(a, 8)
            cell = _CELL_NK(buf, a)
            size = -cell[0]
            n = cell[19]
            if (cell[1] == b"nk" and 80 + n <= size <= 4096 - p and not (p | size) & 7
                    and cell[2] & 0x20):
                # Compressed (Latin-1) name: the common case, read here in one go.
                out.append(make(owner, off, cell[1:], buf[a + 80:a + 80 + n].decode("latin-1"),
                                parent, depth))
                continue
        nk, name = read_nk_named(img, off)
        out.append(make(owner, off, nk, name, parent, depth))
    return out


def subkey_offsets(img: Image, list_off: int, expected: int) -> list[int]:
    """Offsets of the key nodes in the subkey list at ``list_off``, leaves of an ``ri`` expanded
    in order. The total must equal ``expected`` (the parent's subkey count)."""
    if expected == 0:
        return []
    buf = img.buf
    a = list_off + 4096
    p = a & 0xFFF
    # Inline common case: one lf/lh leaf in a cell inside one page (the page rule).
    if 32 <= p <= 4088 and a < img.end & ~0xFFF:
        if img.pages is not None and not img.pages[a >> 12]:
            img.fetch(a, 8)
        size, sig, count = _CELL_LIST(buf, a)
        size = -size
        if ((sig == b"lh" or sig == b"lf") and count == expected
                and 8 + 8 * count <= size <= 4096 - p and not (p | size) & 7):
            return list(_u32s(2 * count).unpack_from(buf, a + 8)[::2])
    return _checked_subkey_offsets(img, list_off, expected)


def _checked_subkey_offsets(img: Image, list_off: int, expected: int) -> list[int]:
    """``subkey_offsets`` through ``Image.cell`` only (every list shape, every error)."""
    out = _list_elements(img, list_off, top=True, expected=expected)
    if len(out) != expected:
        raise img.error(f"subkey list holds {len(out)} keys but the key says {expected}", list_off)
    return out


def _list_elements(img: Image, list_off: int, *, top: bool, expected: int) -> list[int]:
    start, length = img.cell(list_off, "subkey list")
    if length < 4:
        raise img.error("subkey list cell too small", list_off)
    buf = img.buf
    sig, count = _LIST(buf, start)
    if sig == b"lh" or sig == b"lf":
        if 4 + 8 * count > length:
            raise img.error(f"{sig.decode()} list of {count} elements does not fit its cell",
                            list_off)
        return list(_u32s(2 * count).unpack_from(buf, start + 4)[::2])
    if sig == b"li":
        if 4 + 4 * count > length:
            raise img.error(f"li list of {count} elements does not fit its cell", list_off)
        return list(_u32s(count).unpack_from(buf, start + 4))
    if sig == b"ri":
        if not top:
            raise img.error("an ri list points to another ri list (not allowed)", list_off)
        if 4 + 4 * count > length:
            raise img.error(f"ri list of {count} leaves does not fit its cell", list_off)
        out: list[int] = []
        leaves = _u32s(count).unpack_from(buf, start + 4)
        if len(set(leaves)) != count:  # a leaf listed twice would multiply the keys
            raise img.error("an ri list names the same leaf more than once", list_off)
        for leaf in leaves:
            out.extend(_list_elements(img, leaf, top=False, expected=expected))
            if len(out) > expected:  # stop before a crafted ri builds more than the key holds
                raise img.error(f"subkey list holds more than the {expected} keys the key "
                                "says", list_off)
        return out
    raise img.error(f"unknown subkey list signature {bytes(sig)!r}", list_off)


def list_leaves(img: Image, list_off: int) -> list[tuple[int, bytes, list[int], list[int]]]:
    """The leaves of a subkey list as ``(leaf offset, signature, element offsets, hints)`` (one
    leaf unless the list is an ``ri``). Hints are the ``lh`` hashes or ``lf`` name hints."""
    start, length = img.cell(list_off, "subkey list")
    sig, count = _LIST(img.buf, start)
    if sig == b"ri":
        if 4 + 4 * count > length:
            raise img.error(f"ri list of {count} leaves does not fit its cell", list_off)
        return [_leaf(img, leaf) for leaf in _u32s(count).unpack_from(img.buf, start + 4)]
    return [_leaf(img, list_off)]


def _leaf(img: Image, off: int) -> tuple[int, bytes, list[int], list[int]]:
    start, length = img.cell(off, "subkey list")
    if length < 4:
        raise img.error("subkey list cell too small", off)
    sig, count = _LIST(img.buf, start)
    sig = bytes(sig)
    if sig in (b"lh", b"lf"):
        if 4 + 8 * count > length:
            raise img.error(f"{sig.decode()} list of {count} elements does not fit its cell", off)
        pairs = _u32s(2 * count).unpack_from(img.buf, start + 4)
        return off, sig, list(pairs[::2]), list(pairs[1::2])
    if sig == b"li":
        if 4 + 4 * count > length:
            raise img.error(f"li list of {count} elements does not fit its cell", off)
        return off, sig, list(_u32s(count).unpack_from(img.buf, start + 4)), []
    if sig == b"ri":
        raise img.error("an ri list points to another ri list (not allowed)", off)
    raise img.error(f"unknown subkey list signature {sig!r}", off)


def value_offsets(img: Image, list_off: int, count: int) -> tuple[int, ...]:
    """Offsets of the ``count`` values in the value list at ``list_off`` (stored order)."""
    if count == 0:
        return ()
    buf = img.buf
    a = list_off + 4096
    p = a & 0xFFF
    if 32 <= p <= 4088 and a < img.end & ~0xFFF:  # the common case, inline (the page rule)
        if img.pages is not None and not img.pages[a >> 12]:
            img.fetch(a, 8)
        size = -_I32(buf, a)[0]
        if 4 + 4 * count <= size <= 4096 - p and not (p | size) & 7:
            return _u32s(count).unpack_from(buf, a + 4)
    return _checked_value_offsets(img, list_off, count)


def _checked_value_offsets(img: Image, list_off: int, count: int) -> tuple[int, ...]:
    """``value_offsets`` through ``Image.cell`` only."""
    start, length = img.cell(list_off, "value list")
    if 4 * count > length:
        raise img.error(f"value list of {count} entries does not fit its cell ({length} bytes)",
                        list_off)
    return _u32s(count).unpack_from(img.buf, start)


def read_vk_named(img: Image, off: int) -> tuple[tuple, str]:  # type: ignore[type-arg]
    """``(fields, name)`` of the value at ``off`` (``""`` for the default value)."""
    buf = img.buf
    start, length = img.cell(off, "value")
    if length < L.VK_FIXED_SIZE:
        raise img.error(f"value cell too small ({length} bytes)", off)
    vk = _CELL_VK(buf, start - 4)
    n = vk[2]  # VK_NAME_LENGTH
    if vk[1] != b"vk" or 20 + n > length:
        if vk[1] != b"vk":
            raise img.error(f"expected a value (vk), found signature {bytes(vk[1])!r}", off)
        raise img.error(f"value name ({n} bytes) does not fit its cell", off)
    if not n:
        return vk, ""
    raw = buf[start + 20:start + 20 + n]
    if vk[6] & 1:  # VK_FLAGS & VALUE_COMP_NAME
        return vk, raw.decode("latin-1")
    try:
        return vk, _UTF16LE(raw, "surrogatepass", True)[0]
    except UnicodeDecodeError:
        raise img.error("value name is not valid UTF-16 (odd length)", off) from None


def read_values(img: Image, offsets: tuple[int, ...] | list[int],
                make: Callable[[_Owner, int, str, tuple, bytes | None], _Made],  # type: ignore[type-arg]
                owner: _Owner) -> list[_Made]:
    """``make(owner, offset, name, fields, data)`` for each value of a value list, in one pass
    (the caller's objects built here: no intermediate tuple per value on this hot path).

    The data of resident and single-cell values is read here too (``None`` for big data, and for
    anything the fast path does not vouch for: those are read, and their errors raised, by
    ``value_data`` when asked for). A record that fails the inline checks goes through
    ``read_vk_named``, which raises the precise error."""
    buf = img.buf
    page_end = img.end & ~0xFFF  # (the page rule)
    mutable = isinstance(buf, bytearray)
    pages = img.pages
    out = []
    for off in offsets:
        a = off + 4096
        p = a & 0xFFF
        if 32 <= p <= 4072 and a < page_end:  # (room for the cell size and the record)
            if pages is not None and not pages[a >> 12]:
                img.fetch(a, 8)
            vk = _CELL_VK(buf, a)
            size = -vk[0]
            n = vk[2]
            if (vk[1] == b"vk" and 24 + n <= size <= 4096 - p and not (p | size) & 7
                    and (vk[6] & 1 or not n)):  # VALUE_COMP_NAME, or the default value
                name = buf[a + 24:a + 24 + n].decode("latin-1")
            else:
                vk, name = read_vk_named(img, off)
        else:
            vk, name = read_vk_named(img, off)
        data: bytes | None = None
        length = vk[3]  # VK_DATA_SIZE
        if length & 0x80000000:
            if length <= 0x80000004:
                data = _PACK_U32(vk[4])[:length & 7]  # VK_DATA_OFFSET
        elif length == 0:
            data = b""
        elif length <= 16344:  # one data cell (the same rule)
            b = vk[4] + 4096
            p = b & 0xFFF
            if 32 <= p <= 4088 and b < page_end:
                if pages is not None and not pages[b >> 12]:
                    img.fetch(b, 8)
                csize = -_I32(buf, b)[0]
                if length + 4 <= csize <= 4096 - p and not (p | csize) & 7:
                    piece = buf[b + 4:b + 4 + length]
                    # (A slice of a bytearray is a mutable bytearray: copy it to bytes.)
                    data = bytes(piece) if mutable else piece  # type: ignore[assignment]
        out.append(make(owner, off, name, vk, data))
    return out


def value_data(img: Image, vk_off: int, size_field: int, data_off: int) -> bytes:
    """The raw data of a value: resident (<= 4 bytes in the offset field), one data cell, or
    big-data segments (``db``, hive minor >= 4 and more than 16344 bytes)."""
    if size_field & L.DATA_RESIDENT:
        n = size_field & 0x7FFFFFFF
        if n > L.RESIDENT_MAX:
            raise img.error(f"resident value data claims {n} bytes (at most 4 fit)", vk_off)
        return _PACK_U32(data_off)[:n]
    n = size_field
    if n == 0:
        return b""
    if n > L.BIG_DATA_THRESHOLD and img.minor >= L.BIG_DATA_MIN_MINOR:
        return _big_data(img, data_off, n)
    start, length = img.cell(data_off, "value data")
    if n > length:
        raise img.error(f"value data size {n} exceeds its cell ({length} bytes)", data_off)
    return bytes(img.buf[start:start + n])


def _big_data(img: Image, db_off: int, n: int) -> bytes:
    start, length = img.cell(db_off, "big data")
    if length < 8:
        raise img.error("big data cell too small", db_off)
    sig, count, list_off = _DB(img.buf, start)
    if sig != b"db":
        raise img.error(f"value of {n} bytes needs a big data record (db), found {bytes(sig)!r}",
                        db_off)
    if n > img.bins_size:  # no data can be larger than the hive that holds it
        raise img.error(f"big data claims {n} bytes, more than the whole hive", db_off)
    needed = -(-n // L.BIG_DATA_SEGMENT)
    if count != needed:
        raise img.error(f"big data has {count} segments, {needed} are needed for {n} bytes",
                        db_off)
    lstart, llength = img.cell(list_off, "big data segment list")
    if 4 * count > llength:
        raise img.error("big data segment list does not fit its cell", list_off)
    segments = _u32s(count).unpack_from(img.buf, lstart)
    if len(set(segments)) != count:
        raise img.error("big data names the same segment more than once", list_off)
    parts = []
    remaining = n
    for seg in segments:
        sstart, slength = img.cell(seg, "big data segment")
        take = min(remaining, L.BIG_DATA_SEGMENT)
        if take > slength:
            raise img.error(f"big data segment holds {slength} bytes, {take} expected", seg)
        parts.append(img.buf[sstart:sstart + take])
        remaining -= take
    return b"".join(parts)


def class_name(img: Image, off: int, length: int) -> bytes:
    """Raw bytes of a key's class name (UTF-16LE)."""
    start, cell_length = img.cell(off, "class name")
    if length > cell_length:
        raise img.error(f"class name ({length} bytes) does not fit its cell", off)
    return bytes(img.buf[start:start + length])


def read_sk(img: Image, off: int) -> tuple[tuple, bytes]:  # type: ignore[type-arg]
    """``(fields, descriptor bytes)`` of the security record at ``off``."""
    start, length = img.cell(off, "security")
    if length < L.SK_FIXED_SIZE:
        raise img.error("security cell too small", off)
    sk = _SK(img.buf, start)
    if sk[0] != b"sk":
        raise img.error(f"expected a security record (sk), found {bytes(sk[0])!r}", off)
    if L.SK_FIXED_SIZE + sk[5] > length:
        raise img.error(f"security descriptor ({sk[5]} bytes) does not fit its cell", off)
    return sk, bytes(img.buf[start + L.SK_FIXED_SIZE:start + L.SK_FIXED_SIZE + sk[5]])
