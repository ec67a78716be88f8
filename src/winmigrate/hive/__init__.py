"""One hive as objects: open, read, edit, check, compact, save, replay logs, compare.

The rooms, from the bottom up (each imports only those below it):

- ``files`` -- reading a whole file, locks, atomic replacement; ``problems`` -- findings;
  ``logs/`` -- transaction logs: finding, replaying, reporting, emptying after a save;
- ``loading`` -- base block, image and root from a buffer; ``lookup`` -- names found the way
  Windows finds them;
- ``state`` (what keys read through) <- ``walk`` (the bound on walks of damaged trees) <-
  ``key`` (``Key``, ``Value``) <- ``model`` (``HiveModel``: the root, keys by path);
- ``edit/`` -- the writer; ``compact`` -- the same content laid out afresh; ``save`` --
  serialising and writing; ``check`` -- Windows' load-time checks; ``diff`` -- logical
  differences;
- ``hivefile`` -- ``Hive``, ``open``, ``create``: all of it as one public object.

May import: ``winmigrate.regf`` and ``winmigrate.errors``; nothing here knows about control sets,
services or Xen (``winmigrate.windows``) or about ``.reg`` files (``winmigrate.regfile``).
"""

from __future__ import annotations

from .hivefile import Hive, Transaction, create, open
from .key import Key, Value
from .lookup import split_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .walk import WalkGuard

__all__ = ["Hive", "Key", "Transaction", "Value", "WalkGuard", "create", "open", "split_path"]


def __getattr__(name: str) -> object:
    # WalkGuard on first use: a point lookup never walks (and each module costs start-up time).
    if name == "WalkGuard":
        from .walk import WalkGuard

        return WalkGuard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
