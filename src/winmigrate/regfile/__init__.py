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

Both directions stream: ``iter_export`` hands a key's lines on in pieces as it reads them, and
``RegReader`` reads a file a megabyte at a time and yields one operation at a time, which
``apply`` and ``import_reg`` consume as they come; memory is bounded by the hive and the largest
value, not by the size of the ``.reg`` file.
"""
from __future__ import annotations

from .apply import ImportChange, ImportReport, apply, detect_prefix, import_reg
from .common import HEADER_4, HEADER_5, RegFileError
from .export import (
    ExportReport,
    Skipped,
    default_prefix,
    dumps,
    encode_text,
    export_reg,
    format_key_line,
    format_value_delete,
    format_value_line,
    header,
    iter_export,
)
from .parse import KeyLine, RegFile, RegReader, ValueDelete, ValueLine, parse

__all__ = [
    "HEADER_4",
    "HEADER_5",
    "ExportReport",
    "ImportChange",
    "ImportReport",
    "KeyLine",
    "RegFile",
    "RegFileError",
    "RegReader",
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
