"""What the .reg reader and writer share: headers, the error, and REGEDIT4's code pages."""

from __future__ import annotations

from ..errors import UsageError, WinmigrateError
from ..regf.values import REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ

__all__ = ["ANSI_STRING_TYPES", "CRLF", "HEADER_4", "HEADER_5", "ROOTS", "ROOT_ALIASES",
           "TWO_LEVEL_ROOTS", "RegFileError", "ansi_fits", "codepage_tables", "to_ansi"]

HEADER_5 = "Windows Registry Editor Version 5.00"
HEADER_4 = "REGEDIT4"
CRLF = "\r\n"

# The string types RegSetValueExA converts from the code page (REGEDIT4 hex data is ANSI).
ANSI_STRING_TYPES = frozenset((REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ))


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

def _load_codepage_tables(codepage: str) -> tuple[str, dict[str, int]]:
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


def codepage_tables(codepage: str) -> tuple[str, dict[str, int]]:
    found = _TABLES.get(codepage)
    if found is None:
        try:
            found = _TABLES[codepage] = _load_codepage_tables(codepage)
        except LookupError:
            raise UsageError(f"unknown code page {codepage!r}") from None
    return found


def ansi_fits(text: str, enc: dict[str, int]) -> bool:
    return text.isascii() or all(ch in enc for ch in text)


def to_ansi(text: str, enc: dict[str, int]) -> str:
    """``text`` as it reads back from the code page: unmappable characters become ``?``."""
    if text.isascii():
        return text
    return "".join(ch if ch in enc else "?" for ch in text)


HKLM_HIVES = frozenset(("SYSTEM", "SOFTWARE", "SAM", "SECURITY", "COMPONENTS", "DRIVERS",
                         "BCD00000000", "ELAM", "SCHEMA", "BBI", "DEFAULT"))
ROOT_ALIASES = {
    "HKLM": "HKEY_LOCAL_MACHINE", "HKU": "HKEY_USERS", "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT", "HKCC": "HKEY_CURRENT_CONFIG", "HKDD": "HKEY_DYN_DATA",
}
ROOTS = frozenset(ROOT_ALIASES.values())
# Roots under which a hive is mounted one level down (HKLM\SYSTEM, HKU\S-1-5-...); the others
# are a hive themselves (HKCU is the user's NTUSER.DAT).
TWO_LEVEL_ROOTS = frozenset(("HKEY_LOCAL_MACHINE", "HKEY_USERS"))
