"""Whether ``winmigrate convert`` could run on a guest, and if not why -- judged from its SYSTEM
hive (and the SOFTWARE hive beside it) alone: one function, ``assess_conversion``.

It asks what the whole-guest conversion (``winmigrate.convert.plan_conversion``) asks of the
hives before it opens the virtio-win source, with the same words, and plans the registry part
with the default options -- ``plan_xen_to_kvm(system, software, ConversionOptions())`` -- on
hives opened read-only (planning never writes). What it learns is sorted into *blockers* and
*warnings*:

- blockers -- what ``winmigrate convert`` refuses: no SOFTWARE hive (the Windows release and
  ``DevicePath`` are in it); a hive that is dirty and whose logs could not bring it up to date;
  a SOFTWARE hive that does not say which Windows this is, or a SYSTEM hive that does not say
  the processor architecture (the drivers cannot be chosen); the guest inspection or the
  registry planner refusing (``Select`` unusable or naming a missing control set, SOFTWARE and
  SYSTEM from different installations...); and a SYSTEM hive that only a tolerant read could
  open (it cannot be written);
- warnings: what the inspection and the plan warn of (Fast Startup, a NIC whose settings cannot
  all be carried over...), a SOFTWARE sibling that could not be read, no Xen PV driver found.

Not judged: the virtio-win source (whether it has a build of the drivers for this Windows and
architecture) and the guest's volume (a single Windows installation, room for the files); the
conversion's own plan (``winmigrate convert --dry-run``) says those.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..convert import ConversionOptions, plan_xen_to_kvm
from ..convert.guestinfo import inspect_hives
from ..errors import WinmigrateError
from ..windows.changes import dirty_unreplayed
from ..windows.version import WindowsVersion, windows_version
from ..windows.xen import XenReport, detect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..convert.guestinfo import GuestInfo
    from ..hive import Hive

__all__ = ["ConversionAssessment", "assess_conversion"]

#: ``GuestInfo``'s warning when SYSTEM has no ``PROCESSOR_ARCHITECTURE`` (a blocker here).
_NO_ARCH_WARNING = "SYSTEM does not name the processor architecture"


@dataclass(frozen=True)
class ConversionAssessment:
    """The verdict: ``ok`` when nothing blocks the conversion. ``version`` and ``xen`` are what
    the inspection found (``None`` when it could not get that far); ``changes`` the number of
    registry changes the planner planned (``None`` when it refused)."""

    ok: bool
    blockers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    changes: int | None = None
    version: WindowsVersion | None = None
    xen: XenReport | None = None


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split()) or type(e).__name__}"


_ERRORS = (WinmigrateError, ValueError, LookupError)


def assess_conversion(system: Hive, software: Hive | None = None, *,
                      notes: tuple[str, ...] = ()) -> ConversionAssessment:
    """Whether ``winmigrate convert`` could run on the guest of ``system`` (with ``software``,
    its SOFTWARE hive, when there is one), as a ``ConversionAssessment`` (see the module
    docstring). ``notes`` are warnings the caller already has (a SOFTWARE sibling it could not
    open...). Never raises for a bad hive."""
    blockers: list[str] = []
    warnings = list(notes)
    if not system.strict:
        blockers.append("SYSTEM is damaged: only a tolerant read could open it, and a "
                        "tolerant read cannot be written")
    for hive, name in ((system, "SYSTEM"), (software, "SOFTWARE")):
        if hive is not None and dirty_unreplayed(hive):
            blockers.append(f"{name} is dirty (Windows did not finish writing it) and its "
                            "transaction logs cannot bring it up to date")
    if software is None:
        blockers.append("no SOFTWARE hive beside it (the Windows release and DevicePath are "
                        "in it)")
    info: GuestInfo | None = None
    try:
        info = inspect_hives(system, software)
    except _ERRORS as e:
        blockers.append(_describe(e))
    version: WindowsVersion | None = None
    xen: XenReport | None = None
    if info is not None:
        version, xen = info.version, info.xen
        warnings.extend(w for w in info.warnings if not w.startswith(_NO_ARCH_WARNING))
        if software is not None and (version.major is None or version.minor is None):
            blockers.append("SOFTWARE does not say which Windows this is (CurrentVersion); "
                            "the drivers cannot be chosen")
        if info.arch is None:
            blockers.append("SYSTEM does not say the processor architecture "
                            "(Session Manager\\Environment\\PROCESSOR_ARCHITECTURE, or a known "
                            "value in it); the drivers cannot be chosen")
        if not info.xen.found:
            warnings.append("no Xen PV driver found: the guest is converted anyway (the "
                            "virtio drivers are added, nothing is taken out)")
    changes: int | None = None
    try:
        plan = plan_xen_to_kvm(system, software, ConversionOptions())
    except _ERRORS as e:
        blockers.append(_describe(e))
        if version is None:
            try:
                version = windows_version(system, software)
                xen = detect(system, software)
            except _ERRORS:
                pass
    else:
        changes = len(plan.changes)
        version = version or plan.version
        xen = xen or plan.xen
        warnings.extend(w for w in plan.warnings if "cannot be applied" not in w)
    return ConversionAssessment(not blockers, tuple(dict.fromkeys(blockers)),
                                tuple(dict.fromkeys(warnings)), changes, version, xen)
