"""Whether the Xen -> KVM conversion could run on a guest, and if not why: one function,
``assess_conversion``, so that a fuller guest inspection (``winmigrate.convert.guestinfo``,
``winmigrate convert``'s) can replace it without touching the rest of the survey.

Today it plans the registry part of the conversion with the default options --
``winmigrate.convert.plan_xen_to_kvm(system, software, ConversionOptions())`` -- on hives opened
read-only (planning never writes), and sorts what it learns into *blockers* and *warnings*:

- blockers: the planner refused (``ControlSetError``: ``Select`` unusable or naming a missing
  control set; ``UsageError``: SOFTWARE and SYSTEM from different installations...); a hive
  that is dirty and whose logs were not replayed (a plan for it cannot be applied); a SYSTEM
  hive that only a tolerant read could open (it cannot be written);
- warnings: the plan's own warnings (Fast Startup, a SOFTWARE hive without ``CurrentVersion``),
  a SOFTWARE sibling that could not be read, no SOFTWARE hive at all (the Windows version is
  then inferred from SYSTEM).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..convert import ConversionOptions, plan_xen_to_kvm
from ..errors import WinmigrateError
from ..windows.changes import dirty_unreplayed
from ..windows.version import WindowsVersion, windows_version
from ..windows.xen import XenReport, detect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..hive import Hive

__all__ = ["ConversionAssessment", "assess_conversion"]


@dataclass(frozen=True)
class ConversionAssessment:
    """The verdict: ``ok`` when nothing blocks the conversion. ``version`` and ``xen`` are what
    the planner found (``None`` when it could not get that far); ``changes`` the number of
    registry changes it planned."""

    ok: bool
    blockers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    changes: int | None = None
    version: WindowsVersion | None = None
    xen: XenReport | None = None


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split()) or type(e).__name__}"


def assess_conversion(system: Hive, software: Hive | None = None, *,
                      notes: tuple[str, ...] = ()) -> ConversionAssessment:
    """Whether ``plan_xen_to_kvm`` accepts ``system`` (with ``software`` when given), as a
    ``ConversionAssessment``. ``notes`` are warnings the caller already has (a SOFTWARE
    sibling it could not open...). Never raises for a bad hive."""
    blockers: list[str] = []
    warnings = list(notes)
    if not system.strict:
        blockers.append("SYSTEM is damaged: only a tolerant read could open it, and a "
                        "tolerant read cannot be written")
    if dirty_unreplayed(system):
        blockers.append("SYSTEM is dirty and its transaction logs were not replayed")
    if software is not None and dirty_unreplayed(software):
        blockers.append("SOFTWARE is dirty and its transaction logs were not replayed")
    if software is None:
        warnings.append("no SOFTWARE hive beside it: the Windows version is inferred from "
                        "SYSTEM")
    try:
        plan = plan_xen_to_kvm(system, software, ConversionOptions())
    except (WinmigrateError, ValueError, LookupError) as e:
        blockers.append(_describe(e))
        version = xen = None
        try:
            version = windows_version(system, software)
            xen = detect(system, software)
        except (WinmigrateError, ValueError, LookupError):
            pass
        return ConversionAssessment(False, tuple(blockers), tuple(warnings), None, version, xen)
    warnings.extend(w for w in plan.warnings if "cannot be applied" not in w)
    return ConversionAssessment(not blockers, tuple(blockers), tuple(dict.fromkeys(warnings)),
                                len(plan.changes), plan.version, plan.xen)
