"""Exporting a hive or a subtree as a .reg file (regedit's formats)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import UsageError
from ..regf.values import REG_BINARY, REG_DWORD, REG_SZ
from .common import (
    ANSI_STRING_TYPES,
    CRLF,
    HEADER_4,
    HEADER_5,
    HKLM_HIVES,
    ansi_fits,
    codepage_tables,
    to_ansi,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..hive import Hive, Key


@dataclass(frozen=True)
class Skipped:
    """A key or value an export could not carry faithfully. ``name`` is ``None`` for a key."""

    path: str
    name: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class ExportReport:
    """What ``export_reg`` wrote. ``hex_fallbacks`` counts the values written as hex because
    their text form would have lost bytes; ``lossy`` lists what a REGEDIT4 export changed (a
    character outside the code page); ``skipped`` what no ``.reg`` file can hold (written not
    at all: a key name with a line break, NUL or backslash -- with its subtree -- or a value name
    with a NUL)."""

    format: str
    prefix: str
    keys: int
    values: int
    hex_fallbacks: int
    lossy: tuple[Skipped, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def exact(self) -> bool:
        """Whether an import of this export reproduces the exported content exactly."""
        return not self.lossy and not self.skipped

    def to_dict(self) -> dict[str, object]:
        return {"format": self.format, "prefix": self.prefix, "keys": self.keys,
                "values": self.values, "hex_fallbacks": self.hex_fallbacks,
                "exact": self.exact, "lossy": [s.to_dict() for s in self.lossy],
                "skipped": [s.to_dict() for s in self.skipped]}


# Hive files whose regedit mount point is well known (the names under HKLM).



# regedit wraps hex data once a line has reached this many characters (Wine: MAX_HEX_CHARS).
_WRAP_AT = 77
_CONTINUATION = ",\\" + CRLF + "  "
_CONTINUATION_BYTES = (_WRAP_AT - 2 + 2) // 3  # 25: a continuation line starts at column 2


def default_prefix(hive: Hive) -> str:
    """The key path an export gives the hive's root when the caller names none: where regedit
    shows the hive. ``HKEY_LOCAL_MACHINE\\SYSTEM`` for a file called ``SYSTEM`` or
    ``SYSTEM.<anything>`` (likewise SOFTWARE, SAM, SECURITY, COMPONENTS, DRIVERS, BCD00000000,
    ELAM, DEFAULT...), ``HKEY_CURRENT_USER`` for ``NTUSER.DAT``, otherwise
    ``HKEY_LOCAL_MACHINE\\<file name without its extension>`` (``Amcache.hve`` ->
    ``HKEY_LOCAL_MACHINE\\Amcache``) -- the name one would give it in regedit's *Load Hive*
    -- or, for a hive with no file, ``HKEY_LOCAL_MACHINE\\<root key name>``."""
    return _prefix_for(hive.path, hive.root.name)


def _prefix_for(path: str | None, root_name: str) -> str:
    base = os.path.basename(path) if path else ""
    upper = base.upper()
    if upper.startswith("NTUSER.DAT"):
        return "HKEY_CURRENT_USER"
    stem = upper.split(".")[0]  # SYSTEM.sav, SYSTEM.bak, SOFTWARE.orig: still those hives
    if stem in HKLM_HIVES:
        return "HKEY_LOCAL_MACHINE\\" + stem
    name = os.path.splitext(base)[0] or base or root_name or "HIVE"
    name = "".join(ch for ch in name if ch not in "\\\r\n\0[]") or "HIVE"
    return "HKEY_LOCAL_MACHINE\\" + name


def header(*, regedit4: bool = False) -> str:
    """The header line with its CRLF (regedit starts each key with a blank line, so the blank
    line after the header belongs to the first key)."""
    return (HEADER_4 if regedit4 else HEADER_5) + CRLF


def _escape(text: str) -> str:
    # Only what regedit escapes; line breaks get Wine's escapes (Windows has none for them).
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if '"' in text:
        text = text.replace('"', '\\"')
    if "\r" in text or "\n" in text:
        text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text


def _u16len(text: str) -> int:
    """Length in UTF-16 code units (regedit counts columns in WCHARs)."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _hex_body(lead: int, data: bytes) -> str:
    """``data`` as regedit's comma-separated hex, wrapped after the line (which already holds
    ``lead`` characters) reaches 77 characters."""
    n = len(data)
    if n == 0:
        return ""
    text = data.hex(",")  # byte i is text[3i:3i+2], followed by its comma
    take = max(1, -(-(_WRAP_AT - lead) // 3))
    if n <= take:
        return text
    parts = []
    i = 0
    while n - i > take:  # more bytes follow this line: it ends with ",\"
        parts.append(text[3 * i:3 * (i + take) - 1])
        i += take
        take = _CONTINUATION_BYTES
    parts.append(text[3 * i:])
    return _CONTINUATION.join(parts)


def _sz_text(raw: bytes) -> str | None:
    """The text of a REG_SZ whose quoted form gives back exactly ``raw``, else ``None``."""
    n = len(raw)
    if n < 2 or n & 1 or raw[-2:] != b"\0\0":
        return None
    try:
        text = raw[:-2].decode("utf-16-le")  # strict: a lone surrogate is not text
    except UnicodeDecodeError:
        return None
    # A NUL would end the string; a line break is not escaped by Windows' regedit (Wine's
    # escapes are not understood there), so such strings go out as hex.
    if "\0" in text or "\r" in text or "\n" in text:
        return None
    return text


def _units_to_ansi(raw: bytes, enc: dict[str, int]) -> tuple[bytes, bool]:
    """UTF-16LE string data as code-page bytes, and whether that was exact."""
    exact = not len(raw) & 1
    text = raw[:len(raw) & ~1].decode("utf-16-le", "surrogatepass")
    if text.isascii():
        return text.encode("ascii"), exact
    out = bytearray()
    for ch in text:
        b = enc.get(ch)
        if b is None:
            exact = False
            b = 0x3F  # '?', as WideCharToMultiByte's default character
        out.append(b)
    return bytes(out), exact


def format_value_line(name: str, type_number: int, raw: bytes, *, regedit4: bool = False,
                      codepage: str = "cp1252") -> tuple[str, str | None]:
    """One value as regedit writes it (wrapped, without the final CRLF), and ``None`` -- or, if
    the REGEDIT4 form changed something, the reason. Raises ``UsageError`` for a value
    name no ``.reg`` file can hold (one with a NUL)."""
    enc = codepage_tables(codepage)[1] if regedit4 else None
    line, lossy, _fallback = _format_value(name, type_number, raw, enc, codepage)
    return line, lossy


def _format_value(name: str, type_number: int, raw: bytes, enc: dict[str, int] | None,
                  codepage: str) -> tuple[str, str | None, bool]:
    """``(line, lossy reason, whether regedit's text form was given up for hex)``; ``enc`` is
    the code page's encoding table for REGEDIT4, ``None`` for 5.00."""
    if "\0" in name:
        raise UsageError("a value name with a NUL character cannot be written to a .reg file")
    lossy: str | None = None
    if enc is not None and not ansi_fits(name, enc):
        lossy = f"the value name has characters outside {codepage}"
        name = to_ansi(name, enc)
    lead = "@=" if name == "" else '"' + _escape(name) + '"='
    fallback = False
    if type_number == REG_SZ:
        text = _sz_text(raw)
        if text is not None and (enc is None or ansi_fits(text, enc)):
            return lead + '"' + _escape_data(text) + '"', lossy, False
        fallback = True
    elif type_number == REG_DWORD:
        if len(raw) == 4:
            return f"{lead}dword:{int.from_bytes(raw, 'little'):08x}", lossy, False
        fallback = True
    tag = "hex:" if type_number == REG_BINARY else f"hex({type_number:x}):"
    data = raw
    if enc is not None and type_number in ANSI_STRING_TYPES:
        data, exact = _units_to_ansi(raw, enc)
        if not exact:
            lossy = lossy or f"the string data has characters outside {codepage} or an odd length"
    return lead + tag + _hex_body(_u16len(lead) + len(tag), data), lossy, fallback


def _escape_data(text: str) -> str:
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if '"' in text:
        text = text.replace('"', '\\"')
    return text


def format_value_delete(name: str) -> str:
    """The line that deletes value ``name``: ``"name"=-`` (``@=-`` for the default value)."""
    return ("@" if name == "" else '"' + _escape(name) + '"') + "=-"


def format_key_line(prefix: str, path: str, *, delete: bool = False) -> str:
    """``[PREFIX\\PATH]`` (or ``[-...]``), without line ends; ``path`` ``""`` is the root."""
    full = prefix + "\\" + path if path else prefix
    return ("[-" if delete else "[") + full + "]"


_BAD_KEY_CHARS = re.compile(r"[\r\n\0\\]")


def _check_prefix(prefix: str) -> str:
    prefix = prefix.rstrip("\\")
    if not prefix or _BAD_KEY_CHARS.search(prefix.replace("\\", "")):
        raise UsageError(f"bad .reg key prefix {prefix!r}: give e.g. HKEY_LOCAL_MACHINE\\SYSTEM")
    return prefix


#: Text a key's lines are gathered into before they are handed on: a key holding big values
#: (hundreds of kB of hex each) is written as it is read, not held whole, so the export's memory
#: is bounded by its largest value, not by its largest key or the hive.
_PIECE = 1 << 16


def iter_export(source: Hive | Key, *, prefix: str | None = None, regedit4: bool = False,
                codepage: str = "cp1252", progress: Callable[[int], None] | None = None,
                report: list[ExportReport] | None = None) -> Iterator[str]:
    """The text of the export, in pieces (see ``export_reg``). When ``report`` is a list,
    the ``ExportReport`` is appended to it once the text is complete."""
    from ..hive import Hive, WalkGuard

    top = source.root if isinstance(source, Hive) else source
    if prefix is None:
        root = top
        while root.parent is not None:
            root = root.parent
        prefix = _prefix_for(top.hive.path, root.name)
    prefix = _check_prefix(prefix)
    enc = codepage_tables(codepage)[1] if regedit4 else None
    lossy: list[Skipped] = []
    skipped: list[Skipped] = []
    keys = values = fallbacks = 0
    yield header(regedit4=regedit4)
    top_path = top.path
    guard = WalkGuard(top)  # the bounds of Key.walk: a cyclic or shared tree cannot run away
    stack = [(top, top_path)]
    while stack:
        key, path = stack.pop()
        keys += 1
        if progress is not None and not keys & 0x3FF:
            progress(keys)
        shown = path
        if enc is not None and not ansi_fits(path, enc):
            lossy.append(Skipped(path, None, f"the key path has characters outside {codepage}"))
            shown = to_ansi(path, enc)
        out = [CRLF, format_key_line(prefix, shown), CRLF]
        size = 0
        for value in key.values():
            name = value.name
            if "\0" in name:
                skipped.append(Skipped(path, name, "a value name with a NUL character"))
                continue
            line, why, fallback = _format_value(name, value.type_number, value.raw, enc,
                                                codepage)
            if why is not None:
                lossy.append(Skipped(path, name, why))
            fallbacks += fallback
            out.append(line)
            out.append(CRLF)
            values += 1
            size += len(line)
            if size >= _PIECE:  # a key with big values: hand them on as they come
                yield "".join(out)
                out = []
                size = 0
        if out:
            yield "".join(out)
        children = guard.children(key)
        for child in reversed(children):
            cname = child.name
            cpath = path + "\\" + cname if path else cname
            if not cname or _BAD_KEY_CHARS.search(cname):
                skipped.append(Skipped(cpath, None, "a key name with a line break, NUL or "
                                                    "backslash (skipped with its subtree)"))
                continue
            stack.append((child, cpath))
    yield CRLF
    if report is not None:
        report.append(ExportReport("REGEDIT4" if regedit4 else "5.00", prefix, keys, values,
                                   fallbacks, tuple(lossy), tuple(skipped)))


def encode_text(pieces: Iterable[str], out: BinaryIO, *, regedit4: bool = False,
                codepage: str = "cp1252", chunk: int = 1 << 20) -> None:
    """Write text pieces as a ``.reg`` file's bytes: UTF-16LE with BOM, or the code page."""
    if regedit4:
        enc = codepage_tables(codepage)[1]

        def encode(text: str) -> bytes:
            if text.isascii():
                return text.encode("ascii")
            return bytes(enc.get(ch, 0x3F) for ch in text)
    else:
        out.write(b"\xff\xfe")

        def encode(text: str) -> bytes:
            return text.encode("utf-16-le", "surrogatepass")
    buf: list[str] = []
    size = 0
    for piece in pieces:
        if len(piece) >= chunk:  # a big piece goes out alone, never copied into a bigger one
            if buf:
                out.write(encode("".join(buf)))
                buf = []
                size = 0
            out.write(encode(piece))
            continue
        buf.append(piece)
        size += len(piece)
        if size >= chunk:
            out.write(encode("".join(buf)))
            buf = []
            size = 0
    if buf:
        out.write(encode("".join(buf)))


def export_reg(source: Hive | Key, out: BinaryIO, *, prefix: str | None = None,
               regedit4: bool = False, codepage: str = "cp1252",
               progress: Callable[[int], None] | None = None) -> ExportReport:
    """Write ``source`` (a hive, or a key and everything below it) to the binary stream ``out``
    as a ``.reg`` file. ``prefix`` is the path the hive's root takes in the file (default:
    ``default_prefix``); ``regedit4`` picks the ANSI format in ``codepage``. ``progress`` is
    called now and then with the number of keys written. Returns an ``ExportReport``."""
    reports: list[ExportReport] = []
    encode_text(iter_export(source, prefix=prefix, regedit4=regedit4, codepage=codepage,
                            progress=progress, report=reports),
                out, regedit4=regedit4, codepage=codepage)
    return reports[0]


def dumps(source: Hive | Key, *, prefix: str | None = None, regedit4: bool = False,
          codepage: str = "cp1252") -> bytes:
    """The ``.reg`` file's bytes (see ``export_reg``)."""
    import io

    out = io.BytesIO()
    export_reg(source, out, prefix=prefix, regedit4=regedit4, codepage=codepage)
    return out.getvalue()

