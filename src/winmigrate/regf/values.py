"""Value data codecs: raw bytes <-> Python objects, for every ``REG_*`` type.

Decoding never loses information: the raw bytes stay available on every ``Value``; ``decode``
returns the natural Python form when the bytes have it, and the raw ``bytes`` otherwise (a
``REG_DWORD`` that is not 4 bytes long, an unknown type). Strings are decoded the way Windows
programs see them: up to the first NUL code unit, an odd trailing byte ignored. Encoding follows
regedit: strings are UTF-16LE with their terminator, multi-strings end with an empty string.
Type numbers are plain ints here so that this module needs no ``enum`` import.
"""

from __future__ import annotations

from .layout import UTF16LE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    ValueData: TypeAlias = "str | int | list[str] | bytes"

REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_RESOURCE_LIST = 8
REG_FULL_RESOURCE_DESCRIPTOR = 9
REG_RESOURCE_REQUIREMENTS_LIST = 10
REG_QWORD = 11

STRING_TYPES = frozenset((REG_SZ, REG_EXPAND_SZ, REG_LINK))


def decode_string(raw: bytes) -> str:
    """UTF-16LE text up to the first NUL code unit (an odd last byte is ignored)."""
    if len(raw) & 1:
        raw = raw[:-1]
    return UTF16LE(raw, "surrogatepass", True)[0].partition("\0")[0]


def decode_multi_string(raw: bytes) -> list[str]:
    """The strings of a ``REG_MULTI_SZ``: the final terminator(s) dropped, empty strings inside
    the list kept (Windows stops at the first one, but the bytes after it are data too)."""
    if len(raw) & 1:
        raw = raw[:-1]
    text = UTF16LE(raw, "surrogatepass", True)[0]
    if text.endswith("\0\0"):
        text = text[:-2]
    elif text.endswith("\0"):
        text = text[:-1]
    if not text:
        return []
    return text.split("\0")


def decode(type_: int, raw: bytes) -> str | int | list[str] | bytes:
    """The Python form of ``raw`` for a value of type ``type_`` (most common types first)."""
    if type_ in (REG_SZ, REG_EXPAND_SZ, REG_LINK):
        return decode_string(raw)
    if type_ == REG_DWORD:
        return int.from_bytes(raw, "little") if len(raw) == 4 else raw
    if type_ == REG_MULTI_SZ:
        return decode_multi_string(raw)
    if type_ == REG_QWORD:
        return int.from_bytes(raw, "little") if len(raw) == 8 else raw
    if type_ == REG_DWORD_BIG_ENDIAN:
        return int.from_bytes(raw, "big") if len(raw) == 4 else raw
    return raw


def parse_decimal(text: str) -> int | None:
    """The number in ``text`` when it is a decimal integer in ASCII digits (sign and surrounding
    blanks allowed), else ``None``. (``str.isdigit`` also accepts superscripts such as ``²``,
    which ``int`` refuses: registry strings come from anywhere.)"""
    t = text.strip()
    body = t[1:] if t[:1] in ("+", "-") else t
    if body and body.isascii() and body.isdigit():
        return int(t)
    return None


def encode_string(text: str) -> bytes:
    """UTF-16LE with the terminating NUL, as ``RegSetValueEx`` callers and regedit store it."""
    return (text + "\0").encode("utf-16-le", "surrogatepass")


def encode_multi_string(items: list[str] | tuple[str, ...]) -> bytes:
    """Each string NUL-terminated, then the empty string that ends the list (regedit's layout).
    An empty list is a lone terminator."""
    for item in items:
        if "\0" in item:
            raise ValueError("a REG_MULTI_SZ element cannot contain a NUL character")
        if item == "":
            raise ValueError("a REG_MULTI_SZ element cannot be empty (it would end the list); "
                             "use raw= to store such bytes")
    return ("".join(s + "\0" for s in items) + "\0").encode("utf-16-le", "surrogatepass")


def infer_type(data: object) -> int:
    """The type ``set_value`` uses when none is given: str -> SZ, int -> DWORD (QWORD is never
    inferred: pass it explicitly), list[str] -> MULTI_SZ, bytes -> BINARY."""
    if isinstance(data, str):
        return REG_SZ
    if isinstance(data, bool):
        raise TypeError("bool is not a registry value; use an int")
    if isinstance(data, int):
        return REG_DWORD
    if isinstance(data, (bytes, bytearray, memoryview)):
        return REG_BINARY
    if isinstance(data, (list, tuple)) and all(isinstance(s, str) for s in data):
        return REG_MULTI_SZ
    raise TypeError(f"cannot infer a registry type for {type(data).__name__}; pass type=")


def encode(type_: int, data: object) -> bytes:
    """Raw bytes of ``data`` stored as ``type_``. Raises ``TypeError``/``ValueError`` (the hive
    model turns them into ``UsageError``) when the data does not fit the type."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)  # bytes are stored as they are, whatever the type
    if type_ in STRING_TYPES:
        if not isinstance(data, str):
            raise TypeError(f"type {type_} takes a str, not {type(data).__name__}")
        if type_ == REG_LINK:
            # A symbolic link's target (SymbolicLinkValue) is a counted string: the kernel takes
            # the data length as the path length, so a terminating NUL would be part of the path.
            return data.encode("utf-16-le", "surrogatepass")
        return encode_string(data)
    if type_ == REG_MULTI_SZ:
        if isinstance(data, str) or not all(isinstance(s, str) for s in data):  # type: ignore[attr-defined]
            raise TypeError("REG_MULTI_SZ takes a list of str")
        return encode_multi_string(list(data))  # type: ignore[call-overload]
    if type_ in (REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_QWORD):
        if not isinstance(data, int) or isinstance(data, bool):
            raise TypeError(f"type {type_} takes an int, not {type(data).__name__}")
        width = 8 if type_ == REG_QWORD else 4
        if data < 0:
            if data < -(1 << (width * 8 - 1)):
                raise ValueError(f"{data} does not fit in {width * 8} bits")
            data += 1 << (width * 8)  # signed values are stored in two's complement
        if data >= 1 << (width * 8):
            raise ValueError(f"{data} does not fit in {width * 8} bits"
                             + ("; pass type=RegType.QWORD" if width == 4 else ""))
        return data.to_bytes(width, "big" if type_ == REG_DWORD_BIG_ENDIAN else "little")
    raise TypeError(f"type {type_} takes bytes")
