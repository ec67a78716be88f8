"""Moving a Windows guest from Xen to KVM: what the conversion does, built on the Windows
operations below it.

- ``options`` -- ``ConversionOptions``/``FirstBootService`` (the registry plan) and
  ``ConvertConfig``/``AgentOptions`` (a whole guest): frozen, typed descriptions of what a
  conversion is asked to do, shared by the library and the command line;
- ``plan`` -- ``plan_xen_to_kvm``: the registry changes of phase one, reviewable before
  ``Plan.apply()``; ``storage_ready`` checks a converted guest;
- ``guest`` -- ``plan_conversion``: a whole mounted guest, files and registry, then
  ``GuestPlan.apply()``; its steps are in ``run``, the record and ``undo`` in ``manifest``;
- ``volume`` (case-insensitive paths, finding Windows), ``guestinfo`` (what the hives say),
  ``guestfiles`` (placing files safely);
- ``virtio``, ``inf``, ``catalog`` -- the virtio-win source (folder or ISO), its INF files and
  the signers of its catalogs;
- ``agent`` and ``netscript/`` -- the phase-two agent's plan and step scripts, and the
  first-boot scripts that re-apply the old NIC's settings; ``data/`` holds the agent's
  executables, built from ``agent/`` in the repository.

May import: ``winmigrate.windows``, ``winmigrate.hive``, ``winmigrate.regf`` and
``winmigrate.errors``; never the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .options import (
    STORAGE_DRIVER_NAMES,
    AgentOptions,
    ConversionOptions,
    ConvertConfig,
    FirstBootService,
)
from .plan import (
    IDE_FALLBACK_SERVICES,
    STORAGE_DRIVERS,
    Plan,
    StorageDriver,
    plan_xen_to_kvm,
    storage_ready,
)

if TYPE_CHECKING:
    from .guest import ConversionReport, GuestPlan, plan_conversion
    from .manifest import UndoReport, undo
    from .virtio import DriverNotFoundError
    from .volume import ConversionError, GuestNotFoundError

__all__ = [
    "IDE_FALLBACK_SERVICES",
    "STORAGE_DRIVERS",
    "STORAGE_DRIVER_NAMES",
    "AgentOptions",
    "ConversionError",
    "ConversionOptions",
    "ConversionReport",
    "ConvertConfig",
    "DriverNotFoundError",
    "FirstBootService",
    "GuestNotFoundError",
    "GuestPlan",
    "Plan",
    "StorageDriver",
    "UndoReport",
    "plan_conversion",
    "plan_xen_to_kvm",
    "storage_ready",
    "undo",
]

# The whole-guest conversion is imported on first use: the command line's other commands
# (and `import winmigrate.convert` for the registry plan alone) never pay for it.
_LAZY = {"ConversionReport": "guest", "GuestPlan": "guest", "plan_conversion": "guest",
         "UndoReport": "manifest", "undo": "manifest", "DriverNotFoundError": "virtio",
         "ConversionError": "volume", "GuestNotFoundError": "volume"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
