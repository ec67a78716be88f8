"""Parsing .reg files (both formats, every encoding regedit writes)."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TypeAlias

from ..errors import UsageError
from ..regf.values import REG_BINARY, REG_DWORD, REG_SZ
from .common import (
    ANSI_STRING_TYPES,
    HEADER_4,
    HEADER_5,
    RegFileError,
    codepage_tables,
)


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


#: How much of the file is read (and decoded) at a time: the reader's memory is a few times this.
_CHUNK = 1 << 18


def _head(stream: BinaryIO) -> bytes:
    """The first chunk of ``stream`` (a pipe may hand it over in several reads)."""
    head = b""
    while len(head) < 64:
        more = stream.read(_CHUNK)
        if not more:
            break
        head += more
    return head


def _encoding(head: bytes) -> tuple[str, int]:
    """The encoding a ``.reg`` file starting with ``head`` is read in, and its BOM's length:
    UTF-16 with its BOM, or without one (a lost BOM shows as NULs in every other byte);
    REGEDIT4 in the code page; anything else UTF-8, line by line falling back to Latin-1."""
    if head[:2] == b"\xff\xfe":
        return "utf-16-le", 2
    if head[:2] == b"\xfe\xff":
        return "utf-16-be", 2
    if head[:3] == b"\xef\xbb\xbf":
        return "utf-8", 3
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le", 0
    if head.lstrip(b" \t").startswith(HEADER_4.encode()):
        return "codepage", 0
    return "utf-8", 0


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


def _split_lines(pieces: Iterable[str]) -> Iterator[str]:
    """The lines of the text ``pieces`` make up, split at CRLF, CR or LF even where a piece ends
    between the CR and the LF of one line end."""
    rest = ""
    for piece in pieces:
        if not piece:
            continue
        text = rest + piece if rest else piece
        held = ""
        if text[-1] == "\r":  # perhaps the first half of a CRLF: decide with the next piece
            text, held = text[:-1], "\r"
        parts = _SPLIT_LINES.split(text)
        rest = parts.pop() + held
        yield from parts
        del parts  # before the next piece is split: one piece's lines held at a time
    yield from _SPLIT_LINES.split(rest)


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


class RegReader:
    """A ``.reg`` file read one operation at a time: from a binary stream (read a megabyte at a
    time), its bytes, or decoded text. The header is read at once (``format``, ``encoding``;
    ``RegFileError`` if it is not a ``.reg`` file); iterating yields the operations in file
    order, once, raising ``RegFileError`` at the line of the first problem. Memory stays
    bounded by the longest line, whatever the file's size. ``position`` is how many bytes of the
    stream have been read (for progress)."""

    def __init__(self, data: BinaryIO | bytes | bytearray | memoryview | str, *,
                 source: str | None = None, codepage: str = "cp1252") -> None:
        self.source = source
        self.position = 0
        self._codepage = codepage
        if isinstance(data, str):
            self.encoding = "text"
            lines = _split_lines([data[1:] if data.startswith("\ufeff") else data])
        else:
            stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) \
                else data
            head = _head(stream)
            self.encoding, bom = _encoding(head)
            if self.encoding == "codepage":
                self.encoding = codepage
                lines = _split_lines(self._pieces(stream, head, bom, "codepage"))
            else:
                lines = _split_lines(self._pieces(stream, head, bom, self.encoding))
        self._lines = lines
        first = next(lines, "").strip(" \t")
        if first == HEADER_5:
            self.format = "5.00"
        elif first == HEADER_4:
            self.format = "REGEDIT4"
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
        self._used = False

    def __iter__(self) -> Iterator[RegOp]:
        if self._used:
            raise UsageError("a RegReader yields its operations once (read the file again)")
        self._used = True
        return _operations(self._lines, self.format == "REGEDIT4", self._codepage,
                           self.source)

    def _pieces(self, stream: BinaryIO, head: bytes, bom: int, encoding: str) -> Iterator[str]:
        """The file's text, a chunk at a time."""
        decoder = None
        if encoding.startswith("utf-16"):
            decoder = codecs.getincrementaldecoder(encoding)("surrogatepass")
        offset = bom  # of ``data`` in the file, for decoding errors
        data = head[bom:]
        self.position = len(head)
        carry = b""  # UTF-8: the part of the last line a chunk cuts
        while True:
            final = not data
            try:
                if decoder is not None:
                    yield decoder.decode(data, final)
                elif encoding == "codepage":
                    yield _from_codepage(data, self._codepage)
                else:
                    data = carry + data
                    cut = len(data) if final else data.rfind(b"\n") + 1
                    carry = data[cut:]
                    yield _decode_lines_utf8(data[:cut])
            except UnicodeDecodeError as e:
                raise RegFileError(f"cannot decode the file as {e.encoding}: {e.reason} at byte "
                                   f"{offset + e.start}", source=self.source) from None
            if final:
                return
            offset += len(data) - len(carry)
            data = stream.read(_CHUNK)
            self.position += len(data)


def parse(data: BinaryIO | bytes | bytearray | memoryview | str, *, source: str | None = None,
          codepage: str = "cp1252") -> RegFile:
    """Parse a whole ``.reg`` file (a binary stream, its bytes, or already-decoded text) into a
    ``RegFile``. Raises ``RegFileError`` naming the line of the first problem. ``RegReader``
    reads one operation at a time instead, for files of any size."""
    reader = RegReader(data, source=source, codepage=codepage)
    return RegFile(reader.format, reader.encoding, tuple(reader), source)


def _operations(lines: Iterator[str], ansi: bool, codepage: str,
                source: str | None) -> Iterator[RegOp]:
    """The operations of the lines after the header (line 2 on)."""
    key: str | None = None
    deleted: str | None = None  # the [-KEY] section we are in, for a clearer error
    at = 1  # the line read last; ``lineno`` is the line of the operation being read
    for line in lines:
        at += 1
        lineno = at
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
                    yield KeyLine(lineno, path, True)
                    key, deleted = None, path
                else:
                    if not inner.strip():
                        raise ValueError("[] names no key")
                    yield KeyLine(lineno, inner)
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
                yield ValueDelete(lineno, key, name)
                continue
            if data_text.startswith('"'):
                m = _QUOTED.match(data_text)
                if m is None:
                    raise ValueError("string data without its closing quote")
                tail = data_text[m.end():].strip(" \t")
                if tail and tail[0] != ";":
                    raise ValueError(f"unexpected text after the string: {tail[:30]!r}")
                yield ValueLine(lineno, key, name, REG_SZ,
                                     _encode_sz(_unescape(m.group(1))))
                continue
            m = _DWORD.match(data_text)
            if m is not None:
                digits = _strip_comment(data_text[m.end():]).strip(" \t")
                if not _HEX_DIGITS.fullmatch(digits):
                    raise ValueError(f"bad dword {digits!r} (1 to 8 hex digits)")
                yield ValueLine(lineno, key, name, REG_DWORD,
                                     int(digits, 16).to_bytes(4, "little"))
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
                yield ValueLine(lineno, key, name, t, _encode_sz(_unescape(q.group(1))))
                continue
            # Hex data may go on over continuation lines: ",\\" ends a line, the next one
            # goes on (after any blank or comment lines, as regedit allows).
            body = _strip_comment(body).rstrip(" \t")
            if body.endswith("\\"):
                # Each line's bytes are decoded as it is read (a value of megabytes is never
                # held as one string of hex); each piece normally ends with its comma, and one
                # missing or doubled is tolerated.
                data = bytearray()
                while body.endswith("\\"):
                    piece = body[:-1].strip(" \t").strip(",")
                    if piece:
                        data += _parse_hex(piece)
                    body = ""
                    for nxt in lines:
                        nxt = nxt.strip(" \t")
                        at += 1
                        if nxt and nxt[0] != ";":
                            if nxt[0] not in "0123456789abcdefABCDEF":
                                lineno = at
                                raise ValueError("expected more hex data after the line ending "
                                                 "with '\\'")
                            body = _strip_comment(nxt).rstrip(" \t")
                            break
                piece = body.strip(" \t").strip(",")
                if piece:
                    data += _parse_hex(piece)
                raw = bytes(data)
            else:
                raw = _parse_hex(body)
            if ansi and t in ANSI_STRING_TYPES:
                raw = _from_codepage(raw, codepage).encode("utf-16-le", "surrogatepass")
            yield ValueLine(lineno, key, name, t, raw)
        except ValueError as e:
            raise RegFileError(str(e), lineno, source=source) from None


def _encode_sz(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le", "surrogatepass")

