"""The Arrow side of the schema: pyarrow imported on demand (the ``scan`` extra), and the
``winmigrate.survey.schema`` columns as Arrow schemas.

Types: ``string`` -> ``string``, ``int64``/``uint64``/``float64``/``bool`` as named,
``timestamp`` -> ``timestamp[us, tz=UTC]`` (FILETIME's 100 ns ticks are kept exactly in the keys
table's ``filetime``), ``list<string>`` -> ``list<string>``, ``list<nic>`` -> a list of structs
with the ``NIC_FIELDS``. Each schema carries ``winmigrate.schema`` (the ``SCHEMA_VERSION``) and
``winmigrate.table`` (``facts`` or ``keys``) in its metadata.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import UsageError
from .schema import FACTS_COLUMNS, KEYS_COLUMNS, NIC_FIELDS, SCHEMA_VERSION, Column

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["EXTRA", "facts_schema", "keys_schema", "require", "require_pyarrow", "schema_for"]

#: The optional dependencies' extra: ``pip install 'winmigrate[scan]'``.
EXTRA = "scan"


def require(module: str, what: str) -> Any:
    """Import ``module`` or raise a ``UsageError`` naming the extra that provides it."""
    try:
        return import_module(module)
    except ImportError:
        top = module.split(".", 1)[0]
        raise UsageError(f"{what} needs {top}, which is not installed: "
                         f"pip install 'winmigrate[{EXTRA}]'") from None


def require_pyarrow() -> Any:
    """``pyarrow`` (with ``pyarrow.ipc`` and ``pyarrow.parquet`` loaded)."""
    pa = require("pyarrow", "Parquet output")
    import_module("pyarrow.ipc")
    import_module("pyarrow.parquet")
    return pa


def _type(pa: Any, spec: str) -> Any:
    simple = {"string": pa.string(), "int64": pa.int64(), "uint64": pa.uint64(),
              "float64": pa.float64(), "bool": pa.bool_(),
              "timestamp": pa.timestamp("us", tz="UTC"), "list<string>": pa.list_(pa.string())}
    if spec in simple:
        return simple[spec]
    if spec == "list<nic>":
        return pa.list_(pa.struct([pa.field(f.name, _type(pa, f.type)) for f in NIC_FIELDS]))
    raise ValueError(f"unknown column type {spec!r}")


def _schema(columns: tuple[Column, ...], table: str) -> Any:
    pa = require_pyarrow()
    fields = [pa.field(c.name, _type(pa, c.type)) for c in columns]
    return pa.schema(fields, metadata={"winmigrate.schema": str(SCHEMA_VERSION),
                                       "winmigrate.table": table})


def facts_schema() -> Any:
    """The facts table as an Arrow schema."""
    return _schema(FACTS_COLUMNS, "facts")


def keys_schema() -> Any:
    """The keys table as an Arrow schema."""
    return _schema(KEYS_COLUMNS, "keys")


def schema_for(table: str) -> Any:
    return facts_schema() if table == "facts" else keys_schema()
