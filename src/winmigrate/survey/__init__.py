"""Surveys of many hives at once -- a hosting company's thousands of guests before a move, a
forensic case of hundreds of machines -- as one table: one row of facts per hive, or one row per
key and value, in JSON Lines or Parquet, computed on the local cores or a Dask cluster.

The modules, from the bottom up (the contract "The survey" in ``pyproject.toml``):

- ``schema`` -- the rows (``HiveFacts``, ``NicFacts``, ``KeyRow``) and their documented columns;
  ``arrow`` -- the same as Arrow schemas, pyarrow imported on demand;
- ``kinds`` -- SYSTEM, SOFTWARE, SAM...: what a hive is; ``locate`` -- which files to survey
  (folders, guest roots, logs paired with their primary); ``conversion`` -- whether the
  Xen -> KVM conversion could run on a guest, and why not;
- ``facts`` -- the facts row of one hive; ``keyrows`` -- the key rows of one hive, encoded as
  they are made;
- ``worker`` -- one task: a file in, a ``HiveResult`` out, never an exception;
- ``runners`` -- serial, local process pool, Dask: one interface; ``output`` -- JSON Lines and
  Parquet outputs that know what they hold (resuming);
- ``batch`` -- ``scan`` and ``survey``: all of it together.

Names are resolved on first use, so ``import winmigrate.survey`` costs nothing. May import
``winmigrate.convert``, ``winmigrate.windows``, ``winmigrate.hive``, ``winmigrate.regf`` and
``winmigrate.errors``; the command line (``winmigrate scan``) imports it, never the reverse.
pyarrow (Parquet) and dask.distributed (clusters) come with the ``scan`` extra and are imported
only when asked for.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .batch import ScanStats, scan, survey
    from .conversion import ConversionAssessment, assess_conversion
    from .kinds import detect_kind
    from .locate import HiveTask, discover
    from .schema import FACTS_COLUMNS, KEYS_COLUMNS, HiveFacts, KeyRow, NicFacts
    from .worker import HiveResult, ScanOptions, survey_hive

__all__ = ["FACTS_COLUMNS", "KEYS_COLUMNS", "ConversionAssessment", "HiveFacts", "HiveResult",
           "HiveTask", "KeyRow", "NicFacts", "ScanOptions", "ScanStats", "assess_conversion",
           "detect_kind", "discover", "scan", "survey", "survey_hive"]

_HOMES = {"ScanStats": "batch", "scan": "batch", "survey": "batch",
          "ConversionAssessment": "conversion", "assess_conversion": "conversion",
          "HiveTask": "locate", "discover": "locate", "detect_kind": "kinds",
          "FACTS_COLUMNS": "schema", "KEYS_COLUMNS": "schema", "HiveFacts": "schema",
          "KeyRow": "schema", "NicFacts": "schema", "HiveResult": "worker",
          "ScanOptions": "worker", "survey_hive": "worker"}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{home}"), name)
