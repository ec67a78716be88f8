"""What Windows accepts as key and value names (checked before anything is written)."""

from __future__ import annotations

from ...errors import UsageError
from ...regf import layout as L
from ...regf.names import utf16_length

__all__ = ["check_key_name", "check_value_name"]


def check_key_name(name: str) -> None:
    if not isinstance(name, str):
        raise UsageError(f"a key name must be a str, not {type(name).__name__}")
    if name == "":
        raise UsageError("a key name cannot be empty")
    if "\\" in name:
        raise UsageError(f"a key name cannot contain a backslash: {name!r}")
    if utf16_length(name) > L.MAX_KEY_NAME_CHARS:
        raise UsageError(f"a key name is at most {L.MAX_KEY_NAME_CHARS} UTF-16 characters "
                         f"({utf16_length(name)} given)")
    if "\0" in name:
        raise UsageError("a key name cannot contain a NUL character")


def check_value_name(name: str) -> None:
    if not isinstance(name, str):
        raise UsageError(f"a value name must be a str, not {type(name).__name__}")
    if utf16_length(name) > L.MAX_VALUE_NAME_CHARS:
        raise UsageError(f"a value name is at most {L.MAX_VALUE_NAME_CHARS} UTF-16 characters")
