"""What a conversion did to a guest, written down where the operator looks
(``Windows\\KvmConv\\manifest.json``), and ``undo``, which puts the guest back exactly from it.

The manifest is written before anything else changes and again when the conversion is done: it
names every folder the conversion created, every file it writes (with the SHA-256 of what it
writes, and where the file it replaces was kept) and every hive it changes (with its backup and
those of its transaction logs, copied byte for byte before the first save). So whatever point a
conversion stopped at -- an error, a full disk, a kill -- ``undo`` knows what may have changed
and restores it; and a re-run reads it back, keeping the first run's backups (the guest as it
was) instead of backing up its own work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..hive.files import fsync_folder, replace_file
from .guestfiles import FileState, sha256_of_file
from .volume import ConversionError, GuestFileError, find_windows

if TYPE_CHECKING:
    from .volume import Volume, WindowsInstall

__all__ = ["AGENT_FOLDER", "MANIFEST_NAME", "Manifest", "UndoReport", "undo"]

AGENT_FOLDER = "KvmConv"
MANIFEST_NAME = "manifest.json"
FORMAT = 1


@dataclass
class HiveRecord:
    path: str  # guest path of the primary
    backup: str
    sha256: str
    logs: list[dict[str, str]] = field(default_factory=list)  # {path, backup, sha256}
    absent_logs: list[str] = field(default_factory=list)  # log names the hive did not have


@dataclass
class Manifest:
    """The record of one guest's conversion (see the module docstring)."""

    system_root: str
    state: str = "planned"  # planned -> applying -> done
    tool: str = ""
    created_folders: list[str] = field(default_factory=list)
    files: list[dict[str, object]] = field(default_factory=list)
    hives: list[HiveRecord] = field(default_factory=list)
    report: dict[str, object] = field(default_factory=dict)
    history: list[dict[str, object]] = field(default_factory=list)

    # -- location ---------------------------------------------------------------------------

    @staticmethod
    def guest_path(install: WindowsInstall) -> str:
        return f"{install.system_root}\\{AGENT_FOLDER}\\{MANIFEST_NAME}"

    @classmethod
    def load(cls, install: WindowsInstall) -> Manifest | None:
        host = install.volume.find(cls.guest_path(install))
        if host is None:
            return None
        try:
            with open(host, encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, ValueError) as e:
            raise ConversionError(f"{host}: the conversion's manifest cannot be read ({e}); "
                                  "it is what --undo needs: inspect it by hand") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ConversionError(f"{host}: not a manifest this version of winmigrate reads")
        return cls(system_root=str(raw["system_root"]), state=str(raw["state"]),
                   tool=str(raw.get("tool", "")),
                   created_folders=list(raw.get("created_folders", [])),
                   files=list(raw.get("files", [])),
                   hives=[HiveRecord(**h) for h in raw.get("hives", [])],
                   report=dict(raw.get("report", {})), history=list(raw.get("history", [])))

    def save(self, install: WindowsInstall, created: list[str]) -> None:
        from .guestfiles import make_folders
        from .volume import guest_parent

        guest = self.guest_path(install)
        make_folders(install.volume, guest_parent(guest), created)
        for folder in created:
            if folder not in self.created_folders:
                self.created_folders.append(folder)
        body = {"format": FORMAT, "tool": self.tool, "system_root": self.system_root,
                "state": self.state, "created_folders": self.created_folders,
                "files": self.files, "hives": [h.__dict__ for h in self.hives],
                "report": self.report, "history": self.history}
        text = json.dumps(body, indent=2, sort_keys=False) + "\n"
        try:
            replace_file(install.volume.path(guest), (text.encode("utf-8"),))
        except OSError as e:
            raise GuestFileError(e.errno, f"cannot write the manifest: {e.strerror}",
                                 install.volume.path(guest)) from None

    def finish(self, summary: dict[str, object]) -> None:
        """The conversion is done: say so, with the report of what it found and did."""
        import datetime as _dt

        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        self.state = "done"
        self.report.update({"finished": now, "plan": summary})
        if self.history:
            self.history[-1]["finished"] = now

    # -- what the conversion wrote --------------------------------------------------------------

    def file_record(self, path: str) -> dict[str, object] | None:
        lower = path.lower()
        return next((f for f in self.files if str(f["path"]).lower() == lower), None)

    def note_file(self, path: str, state: FileState, sha256: str, backup: str | None) -> None:
        """Record a file the conversion writes: created (undo removes it) or replaced (undo
        puts ``backup`` back). A file an earlier run created stays "created"."""
        if state is FileState.SAME:
            return
        known = self.file_record(path)
        if known is not None:
            known["sha256"] = sha256
            return
        self.files.append({"path": path, "state": state.value, "sha256": sha256,
                           "backup": backup})

    def hive_record(self, path: str) -> HiveRecord | None:
        lower = path.lower()
        return next((h for h in self.hives if h.path.lower() == lower), None)


@dataclass(frozen=True)
class UndoReport:
    restored: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]  # changed since the conversion: left as they are
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"restored": list(self.restored), "removed": list(self.removed),
                "kept": list(self.kept), "warnings": list(self.warnings)}


def _restore_bytes(volume: Volume, guest_path: str, backup: str) -> None:
    """Put the bytes of ``backup`` back into ``guest_path``, in place (the file keeps its
    identity). Not atomic, but repeatable: the backup stays until every restore is done, so an
    interrupted undo is completed by running it again."""
    source = volume.find(backup)
    if source is None:
        raise ConversionError(f"{backup}: the backup of {guest_path} is missing; "
                              "the guest cannot be restored from this manifest")
    host = volume.path(guest_path)
    with open(source, "rb") as f:
        data = f.read()
    fd = os.open(host, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        offset = 0
        while view:
            n = os.pwrite(fd, view, offset)
            offset += n
            view = view[n:]
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def undo(root: str | os.PathLike[str], *, force: bool = False) -> UndoReport:
    """Put the guest on the volume at ``root`` back as it was before its conversion, from the
    manifest: hives and their logs from their backups (byte for byte), replaced files from
    theirs, files and folders the conversion created removed, then the manifest and backups.
    A file changed since the conversion wrote it is kept (and reported) unless ``force``. Raises
    ``ConversionError`` when there is no manifest, or when the phase-two agent has already run
    (the guest booted on KVM: its changes are not in the manifest) and ``force`` is not given."""
    install = find_windows(root)
    volume = install.volume
    manifest = Manifest.load(install)
    if manifest is None:
        raise ConversionError(f"{volume.root}: no conversion to undo (no "
                              f"{install.system_root}\\{AGENT_FOLDER}\\{MANIFEST_NAME})")
    if not isinstance(force, bool):
        raise UsageError("force must be True or False")
    agent_state = volume.find(f"{install.system_root}\\{AGENT_FOLDER}\\state.ini")
    if agent_state is not None and not force:
        raise ConversionError(f"{agent_state}: the phase-two agent has run in this guest (it "
                              "booted on KVM); undoing the offline conversion would not undo "
                              "what it did. Give --force to restore the offline part anyway")
    restored: list[str] = []
    removed: list[str] = []
    kept: list[str] = []
    warnings: list[str] = []
    for hive in manifest.hives:
        # A hive is changed only after all backups are taken: no backup, no change.
        if not hive.sha256 or volume.find(hive.backup) is None:
            continue
        if any(not log["sha256"] or volume.find(log["backup"]) is None for log in hive.logs):
            continue
        _restore_bytes(volume, hive.path, hive.backup)
        restored.append(hive.path)
        for log in hive.logs:
            _restore_bytes(volume, log["path"], log["backup"])
            restored.append(log["path"])
        for name in hive.absent_logs:  # a log the save created (the hive had none by that name)
            host = volume.find(name)
            if host is not None:
                os.unlink(host)
                removed.append(volume.relative(host))
                volume.forget(os.path.dirname(host))
    for record in reversed(manifest.files):
        path = str(record["path"])
        host = volume.find(path)
        backup = record.get("backup")
        if record["state"] == FileState.REPLACE.value and backup:
            # replaced only after its backup was made: no backup, never replaced
            kept_copy = volume.find(str(backup))
            if kept_copy is not None:  # the original file itself (or its copy): back in place
                os.replace(kept_copy, volume.path(path))
                fsync_folder(os.path.dirname(volume.path(path)))
                volume.forget(os.path.dirname(kept_copy))
                restored.append(path)
            continue
        if host is None:
            continue  # never written
        if sha256_of_file(host) != record["sha256"] and not force:
            kept.append(path)
            warnings.append(f"{path} changed since the conversion wrote it: kept")
            continue
        os.unlink(host)
        removed.append(path)
        volume.forget(os.path.dirname(host))
    agent_folder = f"{install.system_root}\\{AGENT_FOLDER}"
    for guest in (f"{agent_folder}\\{MANIFEST_NAME}",):
        host = volume.find(guest)
        if host is not None:
            os.unlink(host)
    backup_root = volume.find(f"{agent_folder}\\backup")
    if backup_root is not None:
        import shutil

        shutil.rmtree(backup_root)
        volume.forget_all()
    for folder in sorted(manifest.created_folders, key=lambda p: p.count("\\"), reverse=True):
        host = volume.find(folder)
        if host is None:
            continue
        try:
            os.rmdir(host)
            removed.append(folder + "\\")
        except OSError:
            kept.append(folder + "\\")
            warnings.append(f"{folder} is not empty: kept")
        volume.forget(os.path.dirname(host))
    return UndoReport(tuple(restored), tuple(removed), tuple(kept), tuple(warnings))
