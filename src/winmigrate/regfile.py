"""``.reg`` files: export a hive (or a subtree) in regedit's formats, and import (merge) them.

Formats
-------
``"Windows Registry Editor Version 5.00"`` (the default) is what regedit writes today: UTF-16LE
with a byte order mark, CRLF line ends. ``"REGEDIT4"`` is the older ANSI format (one byte per
character, in the system code page; cp1252 here unless the caller picks another).

What regedit writes, and so what ``export_reg`` writes (from Wine's ``regedit`` export code,
checked against lines of real Windows exports):

* the header line, then for every key a blank line and ``[FULL\\KEY\\PATH]``, then its values in
  stored order, one per line, then the subkeys (depth first, in stored order), and a final blank
  line;
* value names in double quotes with ``\\`` and ``"`` escaped (``\\\\``, ``\\"``), ``@`` for the
  default value; a name holding a line break is written with Wine's ``\\r``/``\\n`` escapes (Windows
  regedit cannot represent it at all);
* ``REG_SZ`` as a quoted string (same escaping), ``REG_DWORD`` as ``dword:%08x``, ``REG_BINARY`` as
  ``hex:``, every other type as ``hex(N):`` with ``N`` in lower-case hex, whatever its size
  (``hex(2)`` expandable strings, ``hex(7)`` multi-strings, ``hex(b)`` QWORDs, ``hex(ffff0012)``
  for the device-property types); the bytes as two lower-case hex digits joined by commas;
* hex data wrapped the way regedit wraps it: after each byte but the last, if the line (counted
  in UTF-16 code units, from the start of the value name) has reached 77 characters, the line
  ends with ``,\\`` and the next one starts with two spaces. The first line of a value so holds
  ``ceil((77 - len('"name"=hex:')) / 3)`` bytes (at least one) and each continuation line 25, for
  lines of at most 79 characters.

Lossless export. Where regedit's text form would lose bytes, the value is written as hex of its
own type instead (``hex(1):`` for a ``REG_SZ``, ``hex(4):`` for a ``REG_DWORD``): a ``REG_SZ``
without its terminating NUL, with data after the first NUL, of odd length, holding invalid
UTF-16 (a lone surrogate) or a line break; a ``REG_DWORD`` that is not 4 bytes. Expandable and
multi-strings are hex in regedit's own format already, so their bytes are always kept. An
import then stores every value's type and bytes exactly: export -> import into an empty hive
reproduces the content, and export -> import -> export gives the same text.

What a ``.reg`` file cannot hold: key timestamps, class names, security descriptors and flags
(regedit's format has no place for them; an import leaves them at the new keys' defaults); key
names holding CR, LF, NUL or a backslash, and value names holding NUL (no escape exists for them
-- such keys and values are *skipped* and listed in ``ExportReport.skipped``).

REGEDIT4 is ANSI: names and strings are written in the code page. ``REG_SZ``, ``REG_EXPAND_SZ``
and ``REG_MULTI_SZ`` data in ``hex(1)``/``hex(2)``/``hex(7)`` form is in the code page too (one byte
per character, as ``RegSetValueExA`` takes it; regedit converts back to UTF-16 on import).
A character the code page cannot hold is written as ``?`` -- regedit does the same through
``WideCharToMultiByte`` (it may pick a "best fit" look-alike, e.g. ``a`` for ``ā``, instead) --
and the value or key is listed in ``ExportReport.lossy``. Use the 5.00 format when the
content must survive.

Import. ``parse`` reads either format (BOM-detected UTF-16LE/BE or UTF-8; without a BOM, a
REGEDIT4 file is read in the code page and a 5.00 file as UTF-8, line by line falling back to
Latin-1, which is what ``hivexregedit --export`` writes), CRLF or LF, comments (``;``) and blank
lines, continuation lines, ``[-KEY]`` (delete a key tree), ``"name"=-`` (delete a value), and
hivex/Wine's ``str:"..."``/``str(N):"..."`` forms. Hex data is stored exactly as written (Wine's
regedit appends a NUL to string data that lacks one; winmigrate does not, so that the ``hex(1)``
fallback round-trips). Whether ``hex(1)``/``hex(2)``/``hex(7)`` bytes are ANSI is decided by the
header (REGEDIT4), not by the file's encoding (Wine looks at the BOM; hivexregedit writes 5.00
files without one whose hex data is UTF-16). ``apply`` merges the parsed file into a hive:
the key path ``PREFIX\\A\\B`` is the hive's ``A\\B``; keys outside the prefix are refused with
the line that names them; by default the prefix is read off the first key line
(``detect_prefix``). Parse errors raise ``RegFileError`` with the line number.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal, TypeAlias

from .errors import UsageError, WinmigrateError
from .regf.names import collation_key
from .regf.values import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .hive import Hive, Key

__all__ = [
    "HEADER_4",
    "HEADER_5",
    "ExportReport",
    "ImportChange",
    "ImportReport",
    "KeyLine",
    "RegFile",
    "RegFileError",
    "Skipped",
    "ValueDelete",
    "ValueLine",
    "apply",
    "default_prefix",
    "detect_prefix",
    "dumps",
    "encode_text",
    "export_reg",
    "format_key_line",
    "format_value_delete",
    "format_value_line",
    "header",
    "import_reg",
    "iter_export",
    "parse",
]

HEADER_5 = "Windows Registry Editor Version 5.00"
HEADER_4 = "REGEDIT4"
CRLF = "\r\n"

# The string types RegSetValueExA converts from the code page (REGEDIT4 hex data is ANSI).
_ANSI_STRING_TYPES = frozenset((REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ))

# regedit wraps hex data once a line has reached this many characters (Wine: MAX_HEX_CHARS).
_WRAP_AT = 77
_CONTINUATION = ",\\" + CRLF + "  "
_CONTINUATION_BYTES = (_WRAP_AT - 2 + 2) // 3  # 25: a continuation line starts at column 2


class RegFileError(WinmigrateError):
    """A ``.reg`` file that cannot be parsed or applied; ``line`` is the 1-based line number
    (``None`` when the problem is not tied to a line) and ``source`` the file name, if known."""

    def __init__(self, message: str, line: int | None = None, *,
                 source: str | None = None) -> None:
        self.message = message
        self.line = line
        self.source = source
        where = [w for w in (source, f"line {line}" if line is not None else None) if w]
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


# -- code pages (REGEDIT4) ---------------------------------------------------------------------

def _codepage_tables(codepage: str) -> tuple[str, dict[str, int]]:
    """``(decode, encode)`` for a single-byte code page. Bytes the Python codec leaves undefined
    (0x81, 0x8D, 0x8F, 0x90, 0x9D in cp1252) map to the code point of the same number, as
    Windows' ``MultiByteToWideChar`` maps them, so every byte string round-trips."""
    chars = []
    for b in range(256):
        try:
            ch = bytes((b,)).decode(codepage)
        except UnicodeDecodeError:
            ch = chr(b)
        if len(ch) != 1:
            raise UsageError(f"{codepage} is not a single-byte code page")
        chars.append(ch)
    table = "".join(chars)
    return table, {ch: i for i, ch in enumerate(table)}


_TABLES: dict[str, tuple[str, dict[str, int]]] = {}


def _tables(codepage: str) -> tuple[str, dict[str, int]]:
    found = _TABLES.get(codepage)
    if found is None:
        try:
            found = _TABLES[codepage] = _codepage_tables(codepage)
        except LookupError:
            raise UsageError(f"unknown code page {codepage!r}") from None
    return found


def _ansi_fits(text: str, enc: dict[str, int]) -> bool:
    return text.isascii() or all(ch in enc for ch in text)


def _to_ansi(text: str, enc: dict[str, int]) -> str:
    """``text`` as it reads back from the code page: unmappable characters become ``?``."""
    if text.isascii():
        return text
    return "".join(ch if ch in enc else "?" for ch in text)


# -- export --------------------------------------------------------------------------------------

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
_HKLM_HIVES = frozenset(("SYSTEM", "SOFTWARE", "SAM", "SECURITY", "COMPONENTS", "DRIVERS",
                         "BCD00000000", "ELAM", "SCHEMA", "BBI", "DEFAULT"))
_ROOT_ALIASES = {
    "HKLM": "HKEY_LOCAL_MACHINE", "HKU": "HKEY_USERS", "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT", "HKCC": "HKEY_CURRENT_CONFIG", "HKDD": "HKEY_DYN_DATA",
}
_ROOTS = frozenset(_ROOT_ALIASES.values())
# Roots under which a hive is mounted one level down (HKLM\SYSTEM, HKU\S-1-5-...); the others
# are a hive themselves (HKCU is the user's NTUSER.DAT).
_TWO_LEVEL_ROOTS = frozenset(("HKEY_LOCAL_MACHINE", "HKEY_USERS"))


def default_prefix(hive: Hive) -> str:
    """The key path an export gives the hive's root when the caller names none: where regedit
    shows the hive. ``HKEY_LOCAL_MACHINE\\SYSTEM`` for a file called ``SYSTEM`` or
    ``SYSTEM.<anything>`` (likewise SOFTWARE, SAM, SECURITY, COMPONENTS, DRIVERS, BCD00000000,
    ELAM, DEFAULT...), ``HKEY_CURRENT_USER`` for ``NTUSER.DAT``, otherwise
    ``HKEY_LOCAL_MACHINE\\<file name>`` -- the name one would give it in regedit's *Load Hive*
    -- or, for a hive with no file, ``HKEY_LOCAL_MACHINE\\<root key name>``."""
    base = os.path.basename(hive.path) if hive.path else ""
    upper = base.upper()
    if upper.startswith("NTUSER.DAT"):
        return "HKEY_CURRENT_USER"
    stem = upper.split(".")[0]  # SYSTEM.sav, SYSTEM.bak, SOFTWARE.orig: still those hives
    if stem in _HKLM_HIVES:
        return "HKEY_LOCAL_MACHINE\\" + stem
    name = base or hive.root.name or "HIVE"
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
    enc = _tables(codepage)[1] if regedit4 else None
    line, lossy, _fallback = _format_value(name, type_number, raw, enc, codepage)
    return line, lossy


def _format_value(name: str, type_number: int, raw: bytes, enc: dict[str, int] | None,
                  codepage: str) -> tuple[str, str | None, bool]:
    """``(line, lossy reason, whether regedit's text form was given up for hex)``; ``enc`` is
    the code page's encoding table for REGEDIT4, ``None`` for 5.00."""
    if "\0" in name:
        raise UsageError("a value name with a NUL character cannot be written to a .reg file")
    lossy: str | None = None
    if enc is not None and not _ansi_fits(name, enc):
        lossy = f"the value name has characters outside {codepage}"
        name = _to_ansi(name, enc)
    lead = "@=" if name == "" else '"' + _escape(name) + '"='
    fallback = False
    if type_number == REG_SZ:
        text = _sz_text(raw)
        if text is not None and (enc is None or _ansi_fits(text, enc)):
            return lead + '"' + _escape_data(text) + '"', lossy, False
        fallback = True
    elif type_number == REG_DWORD:
        if len(raw) == 4:
            return f"{lead}dword:{int.from_bytes(raw, 'little'):08x}", lossy, False
        fallback = True
    tag = "hex:" if type_number == REG_BINARY else f"hex({type_number:x}):"
    data = raw
    if enc is not None and type_number in _ANSI_STRING_TYPES:
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


def iter_export(source: Hive | Key, *, prefix: str | None = None, regedit4: bool = False,
                codepage: str = "cp1252", progress: Callable[[int], None] | None = None,
                report: list[ExportReport] | None = None) -> Iterator[str]:
    """The text of the export, in pieces (see ``export_reg``). When ``report`` is a list,
    the ``ExportReport`` is appended to it once the text is complete."""
    from .hive import Hive, WalkGuard

    if isinstance(source, Hive):
        hive, top = source, source.root
    else:
        hive, top = source.hive, source
    prefix = _check_prefix(default_prefix(hive) if prefix is None else prefix)
    enc = _tables(codepage)[1] if regedit4 else None
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
        if enc is not None and not _ansi_fits(path, enc):
            lossy.append(Skipped(path, None, f"the key path has characters outside {codepage}"))
            shown = _to_ansi(path, enc)
        out = [CRLF, format_key_line(prefix, shown), CRLF]
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
        enc = _tables(codepage)[1]

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


# -- parsing -------------------------------------------------------------------------------------

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
    table = _tables(codepage)[0]
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
            if ansi and t in _ANSI_STRING_TYPES:
                raw = _from_codepage(raw, codepage).encode("utf-16-le", "surrogatepass")
            ops.append(ValueLine(lineno, key, name, t, raw))
        except ValueError as e:
            raise RegFileError(str(e), lineno, source=source) from None
    return RegFile(fmt, encoding, tuple(ops), source)


def _encode_sz(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le", "surrogatepass")


# -- import --------------------------------------------------------------------------------------

ChangeKind = Literal["key_created", "key_deleted", "value_added", "value_changed",
                     "value_deleted"]


@dataclass(frozen=True)
class ImportChange:
    """One change an import made (or, in a dry run, would make). ``path`` is the key's path in
    the hive, ``name`` the value's (``None`` for key changes), ``type`` the new value's type."""

    line: int
    kind: ChangeKind
    path: str
    name: str | None = None
    type: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "change": self.kind, "path": self.path, "name": self.name,
                "type": self.type}


@dataclass(frozen=True)
class ImportReport:
    """What ``apply`` did: the changes in file order, and how many lines changed nothing
    (a value set to what it already was; a deletion of something absent)."""

    prefix: str
    changes: tuple[ImportChange, ...]
    unchanged: int = 0
    absent: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"prefix": self.prefix, "counts": self.counts, "unchanged": self.unchanged,
                "absent": self.absent, "changes": [c.to_dict() for c in self.changes]}


def _split_key_path(path: str) -> list[str]:
    """Components of a key path; a trailing backslash (hivexregedit writes ``PREFIX\\`` for the
    root) and empty components are dropped, but a leading one is kept as ``""``: hivexregedit
    without ``--prefix`` writes root-relative paths (``[\\]``, ``[\\Select]``)."""
    parts = path.split("\\")
    return [parts[0], *(p for p in parts[1:] if p)]


def _canon_root(part: str) -> str:
    up = part.upper()
    return _ROOT_ALIASES.get(up, up)


def _prefix_parts(prefix: str) -> list[str]:
    parts = _split_key_path(prefix.rstrip("\\") if prefix.strip("\\") else prefix)
    if parts == ["", ""] or parts == [""]:
        return [""]
    return parts


def detect_prefix(path: str) -> str | None:
    """The prefix a key path implies: ``HKEY_LOCAL_MACHINE\\X`` and ``HKEY_USERS\\X`` (two
    components), ``HKEY_CURRENT_USER`` and the other roots (one), ``\\`` for hivexregedit's
    root-relative paths; ``None`` when the path starts with none of them."""
    parts = _split_key_path(path)
    if parts[0] == "":
        return "\\"
    root = _canon_root(parts[0])
    if root not in _ROOTS:
        return None
    if root in _TWO_LEVEL_ROOTS:
        return "\\".join(parts[:2]) if len(parts) >= 2 else None
    return parts[0]


class _Tree:
    """The keys an import has seen, so that each lookup is a dict probe: a writable hive looks a
    missing name up with a linear scan, which makes naive imports quadratic."""

    __slots__ = ("children", "fresh", "key")

    def __init__(self, key: Key, *, new: bool = False) -> None:
        self.key = key
        self.children: dict[str, _Tree] | None = {} if new else None
        # For a key this import created: the (collation keys of the) values set so far, so
        # that a value's first setting needs no lookup (a linear scan of the key's values).
        self.fresh: set[str] | None = set() if new else None

    def kids(self) -> dict[str, _Tree]:
        if self.children is None:
            self.children = {collation_key(k.name): _Tree(k) for k in self.key.subkeys()}
        return self.children


def _create_child(parent: Key, name: str) -> Key:
    """A new subkey of ``parent`` called exactly ``name`` (``create_subkey`` takes the name
    literally: ``/`` is legal in key names, e.g. Amcache's ``acpi/pnp0a03``)."""
    return parent.create_subkey(name, exist_ok=False)


def apply(target: Hive | Key, reg: RegFile, *, prefix: str | None = None,
          progress: Callable[[int], None] | None = None) -> ImportReport:
    """Merge the parsed file ``reg`` into ``target`` (a writable hive, or a key standing for the
    prefix). ``prefix`` (e.g. ``HKEY_LOCAL_MACHINE\\SYSTEM``, case-insensitive, ``HKLM``-style
    abbreviations allowed) is the file's path of the target; by default it is read off the first
    key line (see ``detect_prefix``). Keys outside it raise ``RegFileError`` naming the
    line. Not atomic by itself: ``import_reg`` runs it in a transaction."""
    from .hive import Hive

    root = target.root if isinstance(target, Hive) else target
    src = reg.source
    if prefix is None:
        first = reg.first_key
        if first is None:
            prefix = "\\"
        else:
            prefix = detect_prefix(first)
            if prefix is None:
                line = next(op.line for op in reg.ops if isinstance(op, KeyLine))
                raise RegFileError(f"cannot tell which part of {first!r} is the hive: it does "
                                   "not start with HKEY_LOCAL_MACHINE\\<hive>, HKEY_USERS\\<hive>"
                                   ", HKEY_CURRENT_USER or another root; give the prefix",
                                   line, source=src)
    pparts = _prefix_parts(prefix)
    pkey = [_canon_root(pparts[0]), *(collation_key(p) for p in pparts[1:])]
    plen = len(pparts)
    shown_prefix = "\\".join(pparts) if pparts != [""] else "\\"
    tree = _Tree(root)
    changes: list[ImportChange] = []
    unchanged = absent = 0
    resolved: dict[str, tuple[list[str], str]] = {}

    def relative(path: str, line: int) -> tuple[list[str], str]:
        found = resolved.get(path)
        if found is not None:
            return found
        parts = _split_key_path(path)
        head = [_canon_root(parts[0]), *(collation_key(p) for p in parts[1:plen])]
        if len(parts) < plen or head != pkey:
            raise RegFileError(f"key {path!r} is outside {shown_prefix}, the part of the file "
                               "this hive holds (give another prefix?)", line, source=src)
        rel = parts[plen:]
        base = root.path
        result = (rel, "\\".join([base, *rel]) if base else "\\".join(rel))
        if len(resolved) < 4096:
            resolved[path] = result
        return result

    current: _Tree | None = None
    current_path = ""
    for index, op in enumerate(reg.ops):
        if progress is not None and not index & 0x3FF:
            progress(index)
        try:
            if isinstance(op, KeyLine):
                rel, full = relative(op.path, op.line)
                current = None
                if op.delete:
                    if not rel:
                        raise RegFileError("the hive's root cannot be deleted", op.line,
                                           source=src)
                    node = tree
                    for part in rel[:-1]:
                        nxt = node.kids().get(collation_key(part))
                        if nxt is None:
                            break
                        node = nxt
                    else:
                        ck = collation_key(rel[-1])
                        victim = node.kids().get(ck)
                        if victim is not None:
                            node.key.delete_key(victim.key.name, recursive=True)
                            del node.kids()[ck]
                            changes.append(ImportChange(op.line, "key_deleted", full))
                            continue
                    absent += 1
                    continue
                node = tree
                for part in rel:
                    kids = node.kids()
                    ck = collation_key(part)
                    nxt = kids.get(ck)
                    if nxt is None:
                        nxt = kids[ck] = _Tree(_create_child(node.key, part), new=True)
                        changes.append(ImportChange(op.line, "key_created", nxt.key.path))
                    node = nxt
                current = node
                current_path = node.key.path
                continue
            if current is None:  # pragma: no cover - parse() never yields this
                raise RegFileError("a value outside a key", op.line, source=src)
            key = current.key
            fresh = current.fresh
            vck = collation_key(op.name) if fresh is not None else ""
            if isinstance(op, ValueLine):
                old = key.get_value(op.name) if fresh is None or vck in fresh else None
                if old is not None and old.type_number == op.type and old.raw == op.raw:
                    unchanged += 1
                    continue
                key.set_value(op.name, raw=op.raw, type=op.type)
                if fresh is not None:
                    fresh.add(vck)
                changes.append(ImportChange(op.line, "value_added" if old is None
                                            else "value_changed", current_path, op.name, op.type))
            elif (fresh is None or vck in fresh) and op.name in key:
                key.delete_value(op.name)
                if fresh is not None:
                    fresh.discard(vck)
                changes.append(ImportChange(op.line, "value_deleted", current_path, op.name))
            else:
                absent += 1
        except UsageError as e:
            what = (f"[{_shown(op.path)}]" if isinstance(op, KeyLine)
                    else f"value \"{_shown(op.name)}\" of [{_shown(op.key)}]")
            raise RegFileError(f"cannot apply {what}: {e}", op.line, source=src) from e
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    return ImportReport(shown_prefix, tuple(changes), unchanged, absent, counts)


def _shown(text: str) -> str:
    """``text`` for an error message: control characters (a NUL in a name...) as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 0x100
                   else f"\\u{ord(ch):04x}" for ch in text)


def import_reg(hive: Hive, data: bytes | str, *, prefix: str | None = None,
               source: str | None = None, codepage: str = "cp1252",
               progress: Callable[[int], None] | None = None) -> ImportReport:
    """Parse ``data`` and merge it into the writable ``hive`` atomically: the whole file is
    parsed first, then applied in one transaction, so a bad line leaves the hive as it was.
    (The caller saves the hive.)"""
    reg = parse(data, source=source, codepage=codepage)
    with hive.transaction():
        return apply(hive, reg, prefix=prefix, progress=progress)
