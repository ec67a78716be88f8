"""Key and value names: decoding, encoding, Windows' collation order and the ``lh``/``lf`` hints.

Windows compares registry names code unit by code unit after upcasing each UTF-16 code unit with
its own table (``.upcase``); subkey lists are kept in that order and looked up by binary
search, so a writer that sorts differently hides keys from Windows.
"""

from __future__ import annotations

from .layout import UTF16LE
from .upcase import upcase

__all__ = [
    "collation_key",
    "decode_name",
    "encode_name",
    "lf_hint",
    "lf_hint_matches",
    "lh_hash",
    "names_equal",
    "upcase",
]


def decode_name(raw: bytes, compressed: bool) -> str:
    """A stored name as text. "Compressed" names hold one byte per UTF-16 code unit (Latin-1);
    the others are UTF-16LE, where lone surrogates are kept (``surrogatepass``) rather than lost.
    Raises ``ValueError`` on an odd-length UTF-16 name."""
    if compressed:
        return raw.decode("latin-1")
    return UTF16LE(raw, "surrogatepass", True)[0]


def encode_name(name: str) -> tuple[bytes, bool]:
    """The bytes Windows stores for ``name`` and whether they are compressed: a name whose code
    units all fit in one byte is stored as Latin-1 (as ``CmpCopyName`` does), else as UTF-16LE."""
    try:
        return name.encode("latin-1"), True
    except UnicodeEncodeError:
        return name.encode("utf-16-le", "surrogatepass"), False


def utf16_length(name: str) -> int:
    """Length of ``name`` in UTF-16 code units (characters outside the BMP count twice)."""
    if name.isascii():
        return len(name)
    return len(name.encode("utf-16-le", "surrogatepass")) // 2


def collation_key(name: str) -> str:
    """Sort key matching Windows' order of subkeys: upcased, compared as UTF-16 code units.

    Python compares code points, which agrees with UTF-16 code-unit order except for characters
    outside the BMP (stored as surrogates 0xD800-0xDFFF, below 0xE000-0xFFFF); those rare names
    are spelled out as surrogate code points so that plain string comparison stays exact."""
    up = upcase(name)
    if up.isascii() or max(up) <= "\uffff":
        return up
    units = up.encode("utf-16-le", "surrogatepass")
    return "".join(chr(units[i] | units[i + 1] << 8) for i in range(0, len(units), 2))


def names_equal(a: str, b: str) -> bool:
    """Case-insensitive equality as Windows sees it."""
    return a == b or upcase(a) == upcase(b)


def lh_hash(name: str) -> int:
    """The ``lh`` element hash: h = 37*h + upcase(code unit), modulo 2**32."""
    h = 0
    up = upcase(name)
    if up.isascii():
        for ch in up:
            h = (h * 37 + ord(ch)) & 0xFFFFFFFF
        return h
    units = up.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(units), 2):
        h = (h * 37 + (units[i] | units[i + 1] << 8)) & 0xFFFFFFFF
    return h


def lf_hint(name: str) -> bytes:
    """The 4-byte ``lf`` name hint, filled as Windows fills it (``CmpAddToLeaf``): the first
    four UTF-16 code units as single bytes, copied from the fourth backwards and stopping at the
    first unit above 0xFF, whose byte and all before it stay zero. Lookups compare only the
    leading non-zero bytes of a hint (upcased), so a zero byte just ends the fast comparison."""
    units = name.encode("utf-16-le", "surrogatepass")[:8]
    out = bytearray(4)
    for j in range(len(units) // 2 - 1, -1, -1):
        code = units[2 * j] | units[2 * j + 1] << 8
        if code > 0xFF:
            break
        out[j] = code
    return bytes(out)


def lf_hint_matches(hint: bytes, name: str) -> bool:
    """Whether a stored hint is consistent with ``name`` the way Windows' lookup reads it: each
    leading non-zero hint byte, upcased, equals the name's code unit there, upcased. Bytes
    0x80-0xFF are not compared: Windows is seen to store other values there (yarp's CompHive
    holds 0x81 for a name whose unit is 0x9F), so only ASCII hint bytes are held to the rule."""
    units = name.encode("utf-16-le", "surrogatepass")
    for i in range(4):
        byte = hint[i]
        if byte == 0:
            return True
        if 2 * i + 1 >= len(units):
            return False
        unit = units[2 * i] | units[2 * i + 1] << 8
        if byte < 0x80 and upcase(chr(byte)) != upcase(chr(unit)):
            return False
    return True
