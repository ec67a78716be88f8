"""Rendering keys and values as text and as JSON-ready dicts."""

from __future__ import annotations

from .common import safe_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..hive import Key, Value


_QWORD = 11  # RegType.QWORD: compared as a number, so a plain `get` needs no enum


def type_name(number: int) -> str:
    from ..regf.regtype import RegType

    try:
        return RegType(number).reg_name
    except ValueError:
        return f"0x{number:x}"


def value_to_dict(value: Value) -> dict[str, object]:
    """A JSON-ready value: decoded data where it is text or a number, hex otherwise, and the raw
    bytes as hex always (so nothing is lost)."""
    data = value.data
    shown: object
    if isinstance(data, bytes):
        shown = data.hex()
    else:
        shown = data
    return {"name": value.name, "type": type_name(value.type_number),
            "type_number": value.type_number, "data": shown, "raw": value.raw.hex(),
            "size": len(value.raw)}


def key_to_dict(key: Key, *, values: bool = True) -> dict[str, object]:
    lw = key.last_written
    out: dict[str, object] = {
        "name": key.name, "path": key.path, "last_written": lw.isoformat() if lw else None,
        "subkey_count": key.subkey_count, "value_count": key.value_count,
        "class_name": key.class_name,
    }
    if values:
        out["values"] = [value_to_dict(v) for v in key.values()]
    return out


def format_data(value: Value, *, width: int | None = 100) -> str:
    """One-line rendering of a value's data, as regedit's list view shows it."""
    data = value.data
    t = value.type_number
    if isinstance(data, str):
        text = safe_text(data)
    elif isinstance(data, int):
        digits = 16 if t == _QWORD else 8
        text = f"0x{data:0{digits}x} ({data})"
    elif isinstance(data, list):
        text = " | ".join(safe_text(s) for s in data)
    else:
        text = data.hex(" ") if data else "(zero-length binary value)"
    if width is not None and len(text) > width:
        text = text[:width - 3] + "..."
    return text


def value_name(value: Value) -> str:
    return "(Default)" if value.name == "" else safe_text(value.name)


def hexdump(data: bytes) -> str:
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{i:08x}  {hexpart:<47}  {text}")
    return "\n".join(lines)
