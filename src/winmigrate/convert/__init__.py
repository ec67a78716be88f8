"""Moving a Windows guest from Xen to KVM: what the conversion does, built on the Windows
operations below it.

- ``options`` -- ``ConversionOptions`` and ``FirstBootService``: one frozen, typed description of
  what a conversion is asked to do, shared by the library, the CLI and ``winmigrate convert``;
- ``plan`` -- ``plan_xen_to_kvm``: the registry changes of phase one, reviewable before
  ``Plan.apply()``; ``storage_ready`` checks a converted guest;
- ``netscript/`` -- the first-boot scripts that re-apply the old NIC's settings.

May import: ``winmigrate.windows``, ``winmigrate.hive``, ``winmigrate.regf`` and
``winmigrate.errors``; never the command line.
"""

from __future__ import annotations

from .options import STORAGE_DRIVER_NAMES, ConversionOptions, FirstBootService
from .plan import (
    IDE_FALLBACK_SERVICES,
    STORAGE_DRIVERS,
    Plan,
    StorageDriver,
    plan_xen_to_kvm,
    storage_ready,
)

__all__ = [
    "IDE_FALLBACK_SERVICES",
    "STORAGE_DRIVERS",
    "STORAGE_DRIVER_NAMES",
    "ConversionOptions",
    "FirstBootService",
    "Plan",
    "StorageDriver",
    "plan_xen_to_kvm",
    "storage_ready",
]
