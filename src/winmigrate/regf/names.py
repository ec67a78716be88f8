"""Key and value names: decoding, encoding, Windows' collation order and the ``lh``/``lf`` hints.

Windows compares registry names code unit by code unit after upcasing each UTF-16 code unit with
its own table (:mod:`.upcase`); subkey lists are kept in that order and looked up by binary
search, so a writer that sorts differently hides keys from Windows.
"""

from __future__ import annotations

from .upcase import upcase

__all__ = [
    "collation_key",
    "decode_name",
    "encode_name",
    "lf_hint",
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
    return raw.decode("utf-16-le", "surrogatepass")


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
    """The 4-byte ``lf`` name hint: the first four characters as single bytes, zero-padded.
    Characters beyond Latin-1 cannot be represented in a byte; Windows then stores a zero,
    which only disables the fast comparison for that element."""
    out = bytearray(4)
    for i, ch in enumerate(name[:4]):
        code = ord(ch)
        out[i] = code if code <= 0xFF else 0
    return bytes(out)
