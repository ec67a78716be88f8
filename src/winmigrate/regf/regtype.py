"""Registry value types (``REG_*``)."""

from __future__ import annotations

from enum import IntEnum


class RegType(IntEnum):
    """The value types Windows defines. Unknown type numbers stay plain ``int``s."""

    NONE = 0
    SZ = 1
    EXPAND_SZ = 2
    BINARY = 3
    DWORD = 4
    DWORD_BIG_ENDIAN = 5
    LINK = 6
    MULTI_SZ = 7
    RESOURCE_LIST = 8
    FULL_RESOURCE_DESCRIPTOR = 9
    RESOURCE_REQUIREMENTS_LIST = 10
    QWORD = 11

    @property
    def reg_name(self) -> str:
        """The Windows spelling, e.g. ``REG_EXPAND_SZ``."""
        return "REG_" + self.name

    @classmethod
    def parse(cls, text: str | int) -> RegType | int:
        """``"REG_SZ"``, ``"sz"``, ``"expand_sz"``, ``"1"`` or ``1`` -> the type (unknown numbers
        stay ``int``). Raises ``ValueError`` for an unknown name."""
        if isinstance(text, int):
            return to_regtype(text)
        t = text.strip()
        if (t.isascii() and t.isdigit()) or t.lower().startswith("0x"):
            return to_regtype(int(t, 0))
        key = t.upper().replace("-", "_")
        if key.startswith("REG_"):
            key = key[4:]
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown registry value type {text!r}") from None


_BY_NUMBER = {int(t): t for t in RegType}


def to_regtype(number: int) -> RegType | int:
    """The ``RegType`` member for ``number``, or the number itself when Windows defines none."""
    return _BY_NUMBER.get(number, number)
