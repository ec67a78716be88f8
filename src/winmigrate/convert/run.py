"""The steps of carrying out a guest conversion (``GuestPlan.apply``), in an order that keeps
the guest recoverable at every point:

1. ``manifest``: the manifest (``Windows\\KvmConv\\manifest.json``) names every folder to be
   created, every file to be written (and where the file it replaces will be kept), every hive
   to be changed with its backups and the log names a save may create -- before anything else
   changes;
2. ``backup``: each hive and its logs are copied byte for byte into ``KvmConv\\backup\\config``
   (a re-run keeps the first copies: they are the guest as it was);
3. ``files``: each file written to a temporary name, fsynced and renamed; a file it replaces is
   first copied into ``KvmConv\\backup\\files``;
4. ``registry``: SYSTEM and SOFTWARE opened for writing, the registry plan made again on them
   and applied in one transaction, each saved in place through its transaction log;
5. ``done``: the manifest says so, with the report.

A failure or a kill at any point leaves a guest that ``undo`` restores exactly, or that a
re-run completes (it reads the manifest back and carries on). ``_after_step`` is a test hook
called after each step (``tests/convert/test_faults.py`` raises or kills there).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..hive.files import replace_file
from .guestfiles import make_folders, sha256_of_file
from .manifest import HiveRecord, Manifest
from .volume import ConversionError, guest_parent

if TYPE_CHECKING:
    from .guestfiles import FileAction
    from .options import ConversionOptions
    from .volume import Volume, WindowsInstall

__all__ = ["ConversionReport", "HivePlan", "apply_registry", "backup_hives", "record_plan",
           "step_done"]

#: Test hook: called with the name of each step just done (see the module docstring).
_after_step: Callable[[str], None] | None = None


def step_done(name: str) -> None:
    if _after_step is not None:
        _after_step(name)


@dataclass(frozen=True)
class HivePlan:
    """A hive the conversion changes: its guest path, its transaction logs (existing ones, and
    the names a save may create), and where their backups go."""

    name: str  # SYSTEM or SOFTWARE
    guest_path: str
    logs: tuple[str, ...]
    absent_logs: tuple[str, ...]
    backup_folder: str

    def backup_of(self, guest_path: str) -> str:
        return f"{self.backup_folder}\\{guest_path.rsplit(chr(92), 1)[-1]}"


@dataclass(frozen=True)
class ConversionReport:
    """What ``apply`` did. ``changed``: whether anything was written (``False``: the guest was
    already converted, and nothing was touched)."""

    changed: bool
    manifest: str
    files_written: tuple[str, ...]
    files_kept: tuple[str, ...]
    registry_changes: int
    hives_saved: tuple[str, ...]
    warnings: tuple[str, ...]
    plan: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return {"changed": self.changed, "manifest": self.manifest,
                "files_written": list(self.files_written), "files_kept": list(self.files_kept),
                "registry_changes": self.registry_changes,
                "hives_saved": list(self.hives_saved), "warnings": list(self.warnings),
                "plan": self.plan}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def record_plan(manifest: Manifest, folders: Sequence[str], files: Sequence[FileAction],
                hives: Sequence[HivePlan], original_auto_reboot: int | None,
                registry_changes: int) -> None:
    """Step 1: write into the manifest everything the run may change, before it does."""
    from ..version import __version__

    manifest.tool = f"winmigrate {__version__}"
    manifest.state = "applying"
    for folder in folders:
        if folder.lower() not in (f.lower() for f in manifest.created_folders):
            manifest.created_folders.append(folder)
    for action in files:
        manifest.note_file(action.guest_path, action.state, action.sha256, action.backup)
    for hive in hives:
        if manifest.hive_record(hive.guest_path) is None:
            manifest.hives.append(HiveRecord(
                path=hive.guest_path, backup=hive.backup_of(hive.guest_path), sha256="",
                logs=[{"path": log, "backup": hive.backup_of(log), "sha256": ""}
                      for log in hive.logs],
                absent_logs=list(hive.absent_logs)))
    manifest.report.setdefault("original_auto_reboot", original_auto_reboot)
    manifest.history.append({"time": _now(), "action": "convert", "tool": manifest.tool,
                             "files": len(files), "registry_changes": registry_changes})


def backup_hives(volume: Volume, manifest: Manifest, created: list[str]) -> None:
    """Step 2: copy each hive and its logs into the backup folder, once (the first run's
    copies are the guest as it was; a re-run after a failure keeps them)."""
    for record in manifest.hives:
        pairs = [(record.path, record.backup, record)] + [
            (log["path"], log["backup"], log) for log in record.logs]
        for original, backup, holder in pairs:
            digest = holder["sha256"] if isinstance(holder, dict) else holder.sha256
            if digest and sha256_of_file(volume.path(backup)) == digest:
                continue  # backed up by this run or an earlier one
            host = volume.find(original)
            if host is None:
                raise ConversionError(f"{original}: the hive file is gone")
            with open(host, "rb") as f:
                data = f.read()
            make_folders(volume, guest_parent(backup), created)
            replace_file(volume.path(backup), (data,))
            new_digest = hashlib.sha256(data).hexdigest()
            if isinstance(holder, dict):
                holder["sha256"] = new_digest
            else:
                holder.sha256 = new_digest
            step_done(f"backup:{original}")


def apply_registry(install: WindowsInstall, options: ConversionOptions
                   ) -> tuple[int, list[str]]:
    """Step 4: open the hives for writing, plan again on what they hold now (a re-run finds
    part of the work done), apply in one transaction and save each changed hive in place."""
    from .guestinfo import open_guest_hives
    from .plan import plan_xen_to_kvm

    system, software = open_guest_hives(install, writable=True)
    saved: list[str] = []
    try:
        registry = plan_xen_to_kvm(system, software, options)
        done = registry.apply()
        if not done:
            return 0, saved
        names = {c.hive for c in done}
        for name, hive in (("SYSTEM", system), ("SOFTWARE", software)):
            if name in names:
                hive.save()
                saved.append(name)
                step_done(f"saved:{name}")
        return len(done), saved
    finally:
        system.close()
        software.close()

