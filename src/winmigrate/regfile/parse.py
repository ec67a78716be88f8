"""Parsing .reg files (both formats, every encoding regedit writes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from ..regf.values import REG_BINARY, REG_DWORD, REG_SZ
from .common import (
    ANSI_STRING_TYPES,
    HEADER_4,
    HEADER_5,
    RegFileError,
    codepage_tables,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class KeyLine:
    """``[PATH]`` (open or create the key) or ``[-PATH]`` (delete its tree), as written."""

    line: int
    path: str
    delete: bool = False


@dataclass(frozen=True)
class ValueLine:
    """``"name"=data``: set value ``name`` of the key ``key`` (as written) to ``raw``."""

    line: int
    key: str
    name: str
    type: int
    raw: bytes


@dataclass(frozen=True)
class ValueDelete:
    """``"name"=-``: delete value ``name`` of the key ``key``."""

    line: int
    key: str
    name: str


RegOp: TypeAlias = "KeyLine | ValueLine | ValueDelete"


@dataclass(frozen=True)
class RegFile:
    """A parsed ``.reg`` file: its format (``"5.00"`` or ``"REGEDIT4"``), the encoding it was
    read in, and its operations in file order."""

    format: str
    encoding: str
    ops: tuple[RegOp, ...]
    source: str | None = None

    @property
    def first_key(self) -> str | None:
        for op in self.ops:
            if isinstance(op, KeyLine):
                return op.path
        return None


_SPLIT_LINES = re.compile(r"\r\n|\r|\n")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_HEX_FAST = re.compile(r"(?:[0-9a-fA-F]{2},)*[0-9a-fA-F]{2},?")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]{1,8}")
_TYPE_TAG = re.compile(r"(hex|str)(?:\(([0-9a-fA-F]+)\))?:", re.IGNORECASE)
_DWORD = re.compile(r"dword:", re.IGNORECASE)


def _unescape_match(m: re.Match[str]) -> str:
    ch = m.group(1)
    if ch == "n":
        return "\n"
    if ch == "r":
        return "\r"
    if ch == "0":
        raise ValueError("the escape \\0 is not allowed (regedit rejects it)")
    return ch  # \\ and \" -- and, as regedit does, any other escaped character as itself


def _unescape(text: str) -> str:
    return _ESCAPE.sub(_unescape_match, text) if "\\" in text else text


def _decode(data: bytes, codepage: str) -> tuple[str, str]:
    """The text of a ``.reg`` file and the name of the encoding it was read in."""
    if data[:2] == b"\xff\xfe":
        return data[2:].decode("utf-16-le", "surrogatepass"), "utf-16-le"
    if data[:2] == b"\xfe\xff":
        return data[2:].decode("utf-16-be", "surrogatepass"), "utf-16-be"
    if data[:3] == b"\xef\xbb\xbf":
        return _decode_lines_utf8(data[3:]), "utf-8"
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        return data.decode("utf-16-le", "surrogatepass"), "utf-16-le"  # a lost BOM
    if data.lstrip(b" \t").startswith(HEADER_4.encode()):
        return _from_codepage(data, codepage), codepage
    return _decode_lines_utf8(data), "utf-8"


def _from_codepage(data: bytes, codepage: str) -> str:
    if data.isascii():
        return data.decode("ascii")
    table = codepage_tables(codepage)[0]
    return data.decode("latin-1").translate({i: table[i] for i in range(128, 256)})


def _decode_lines_utf8(data: bytes) -> str:
    """UTF-8, line by line falling back to Latin-1: hivexregedit (Perl) prints a name whose
    characters all fit in Latin-1 as Latin-1 bytes and any other as UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    out = []
    for line in data.split(b"\n"):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode("latin-1"))
    return "\n".join(out)


def _parse_hex(text: str) -> bytes:
    """Comma-separated hex bytes (one or two digits each, spaces allowed around them)."""
    text = text.strip()
    if not text:
        return b""
    if _HEX_FAST.fullmatch(text):
        return bytes.fromhex(text.replace(",", ""))
    out = bytearray()
    items = text.split(",")
    if items[-1].strip() == "":
        items.pop()  # a trailing comma
    for item in items:
        item = item.strip()
        if not item or len(item) > 2 or not all(c in "0123456789abcdefABCDEF" for c in item):
            raise ValueError(f"bad hex byte {item!r}")
        out.append(int(item, 16))
    return bytes(out)


def _strip_comment(text: str) -> str:
    cut = text.find(";")
    return text if cut < 0 else text[:cut]


def parse(data: bytes | str, *, source: str | None = None,
          codepage: str = "cp1252") -> RegFile:
    """Parse a ``.reg`` file (its bytes, or already-decoded text). Raises ``RegFileError``
    naming the line of the first problem."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text, encoding = _decode(bytes(data), codepage)
        except UnicodeDecodeError as e:
            raise RegFileError(f"cannot decode the file as {e.encoding}: {e.reason} at byte "
                               f"{e.start}", source=source) from None
    else:
        text, encoding = data, "text"
        if text.startswith("\ufeff"):
            text = text[1:]
    lines = _SPLIT_LINES.split(text)
    first = lines[0].strip(" \t") if lines else ""
    if first == HEADER_5:
        fmt = "5.00"
    elif first == HEADER_4:
        fmt = "REGEDIT4"
    elif first.startswith("regf") or any(ch < " " and ch != "\t" for ch in first[:512]):
        # Binary data is described, not echoed: its bytes mean nothing on a terminal.
        what = "a registry hive (it starts with 'regf')" if first.startswith("regf") else \
            "binary data"
        raise RegFileError(f"not a .reg file: it holds {what}, not text starting with "
                           f"{HEADER_5!r} or {HEADER_4!r}", 1, source=source)
    else:
        shown = first[:40] + ("..." if len(first) > 40 else "")
        raise RegFileError(f"not a .reg file: the first line is {shown!r}, not "
                           f"{HEADER_5!r} or {HEADER_4!r}", 1, source=source)
    ansi = fmt == "REGEDIT4"
    ops: list[RegOp] = []
    key: str | None = None
    deleted: str | None = None  # the [-KEY] section we are in, for a clearer error
    i = 1
    n = len(lines)
    while i < n:
        line = lines[i]
        i += 1
        lineno = i
        s = line.lstrip(" \t")
        if not s or s[0] == ";":
            continue
        c = s[0]
        try:
            if c == "[":
                end = s.rfind("]")
                if end < 0:
                    raise ValueError("a key line without its closing ']'")
                rest = s[end + 1:].strip(" \t")
                if rest and rest[0] != ";":
                    raise ValueError(f"unexpected text after the key name: {rest[:30]!r}")
                inner = s[1:end]
                if inner.startswith("-"):
                    path = inner[1:]
                    if not path.strip():
                        raise ValueError("[-] names no key")
                    ops.append(KeyLine(lineno, path, True))
                    key, deleted = None, path
                else:
                    if not inner.strip():
                        raise ValueError("[] names no key")
                    ops.append(KeyLine(lineno, inner))
                    key, deleted = inner, None
                continue
            if c == "@":
                name = ""
                after = s[1:]
            elif c == '"':
                m = _QUOTED.match(s)
                if m is None:
                    raise ValueError("a value name without its closing quote")
                name = _unescape(m.group(1))
                after = s[m.end():]
            else:
                raise ValueError(f"expected [KEY], \"name\"=..., @=... or a ; comment, not "
                                 f"{s[:30]!r}")
            after = after.lstrip(" \t")
            if not after.startswith("="):
                raise ValueError("expected '=' after the value name")
            if key is None:
                if deleted is not None:
                    raise ValueError(f"a value after [-{deleted}], which deletes its key")
                raise ValueError("a value before any [KEY] line")
            data_text = after[1:].strip(" \t")
            if data_text.startswith("-") and not _strip_comment(data_text[1:]).strip(" \t"):
                ops.append(ValueDelete(lineno, key, name))
                continue
            if data_text.startswith('"'):
                m = _QUOTED.match(data_text)
                if m is None:
                    raise ValueError("string data without its closing quote")
                tail = data_text[m.end():].strip(" \t")
                if tail and tail[0] != ";":
                    raise ValueError(f"unexpected text after the string: {tail[:30]!r}")
                ops.append(ValueLine(lineno, key, name, REG_SZ,
                                     _encode_sz(_unescape(m.group(1)))))
                continue
            m = _DWORD.match(data_text)
            if m is not None:
                digits = _strip_comment(data_text[m.end():]).strip(" \t")
                if not _HEX_DIGITS.fullmatch(digits):
                    raise ValueError(f"bad dword {digits!r} (1 to 8 hex digits)")
                ops.append(ValueLine(lineno, key, name, REG_DWORD,
                                     int(digits, 16).to_bytes(4, "little")))
                continue
            m = _TYPE_TAG.match(data_text)
            if m is None:
                raise ValueError(f"unknown data format {data_text[:20]!r} (expected \"...\", "
                                 "dword:, hex:, hex(N): or -)")
            kind = m.group(1).lower()
            if m.group(2) is not None:
                if len(m.group(2).lstrip("0")) > 8:
                    raise ValueError(f"type number {m.group(2)} does not fit in 32 bits")
                t = int(m.group(2), 16)
            else:
                t = REG_BINARY if kind == "hex" else REG_SZ
            body = data_text[m.end():]
            if kind == "str":  # hivexregedit --unsafe-printable-strings, Wine
                q = _QUOTED.match(body.strip(" \t"))
                if q is None:
                    raise ValueError("str: data without its quoted string")
                ops.append(ValueLine(lineno, key, name, t, _encode_sz(_unescape(q.group(1)))))
                continue
            # Hex data may go on over continuation lines: ",\\" ends a line, the next one
            # goes on (after any blank or comment lines, as regedit allows).
            chunks = []
            body = _strip_comment(body).rstrip(" \t")
            while body.endswith("\\"):
                chunks.append(body[:-1])
                body = ""
                while i < n:
                    nxt = lines[i].strip(" \t")
                    i += 1
                    if nxt and nxt[0] != ";":
                        if nxt[0] not in "0123456789abcdefABCDEF":
                            lineno = i
                            raise ValueError("expected more hex data after the line ending "
                                             "with '\\'")
                        body = _strip_comment(nxt).rstrip(" \t")
                        break
            if chunks:
                chunks.append(body)
                # Each piece normally ends with its comma; tolerate one missing or doubled.
                body = ",".join(p for p in (c.strip(" \t").strip(",") for c in chunks) if p)
            raw = _parse_hex(body)
            if ansi and t in ANSI_STRING_TYPES:
                raw = _from_codepage(raw, codepage).encode("utf-16-le", "surrogatepass")
            ops.append(ValueLine(lineno, key, name, t, raw))
        except ValueError as e:
            raise RegFileError(str(e), lineno, source=source) from None
    return RegFile(fmt, encoding, tuple(ops), source)


def _encode_sz(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le", "surrogatepass")

