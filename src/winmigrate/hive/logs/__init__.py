"""Transaction logs: finding a hive's ``.LOG``/``.LOG1``/``.LOG2`` (``paths``), replaying them the
way Windows would (``replay``), reporting what was found and done (``report``), and emptying them
after a save (``reset``). The formats themselves are ``winmigrate.regf.logfile``'s.

Names are resolved on first use (``winmigrate.hive.logs.recover_file`` and so on), so that opening
a clean hive loads ``paths`` alone. May import ``winmigrate.regf``, ``winmigrate.errors`` and
``winmigrate.hive.files``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .paths import LOG_ROLES, find_logs, needs_recovery
    from .replay import log_sequence_floor, recover, recover_file
    from .report import LogFileReport, RecoveryReport, Rejection
    from .reset import after_save, reset_logs

__all__ = ["LOG_ROLES", "LogFileReport", "RecoveryReport", "Rejection", "after_save", "find_logs",
           "log_sequence_floor", "needs_recovery", "recover", "recover_file", "reset_logs"]

_HOMES = {"LOG_ROLES": "paths", "find_logs": "paths", "needs_recovery": "paths",
          "log_sequence_floor": "replay", "recover": "replay", "recover_file": "replay",
          "LogFileReport": "report", "RecoveryReport": "report", "Rejection": "report",
          "after_save": "reset", "reset_logs": "reset"}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{home}"), name)
