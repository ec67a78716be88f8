"""Phase one of a Xen -> KVM move for a whole offline guest: ``plan_conversion`` looks at the
mounted Windows volume and the virtio-win source and returns a ``GuestPlan`` -- every file to
place and every registry change, each with its reason -- that nothing has written yet;
``GuestPlan.apply()`` (``winmigrate.convert.run``) carries it out; ``undo`` puts the guest back.

    from winmigrate.convert import ConvertConfig, plan_conversion

    plan = plan_conversion("/mnt/guest", ConvertConfig(drivers="virtio-win-0.1.266.iso"))
    for line in plan.describe():
        print(line)
    report = plan.apply()

What the plan places (``docs/tasks/convert.md``):

* the storage driver's ``.sys`` in ``System32\\drivers`` -- what the boot loader loads for the
  boot-start service the registry plan adds;
* the storage and network driver packages (INF, ``.sys``, catalog, co-installers) in
  ``Windows\\Drivers\\VirtIO``, which is added to ``DevicePath`` so Plug and Play finds the
  network driver at the first boot;
* the phase-two agent in ``Windows\\KvmConv`` (``winmigrate.convert.agent``), registered as the
  service that runs at the first boot;
* the registry plan of ``plan_xen_to_kvm`` for SYSTEM and SOFTWARE, fed with what the driver's
  INF says (its hardware IDs) and who signed its catalog (trusted offline).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..windows.certs import load_certificate, parse_certificate
from ..windows.changes import dirty_unreplayed, find_key, join
from .guestfiles import FileAction, FileState, plan_file, sha256_of_file, write_file
from .guestinfo import open_guest_hives
from .manifest import AGENT_FOLDER, Manifest
from .options import ConversionOptions, ConvertConfig
from .run import (
    ConversionReport,
    HivePlan,
    apply_registry,
    backup_hives,
    record_plan,
    step_done,
)
from .virtio import DriverBuild, choose_driver, open_driver_source
from .volume import ConversionError, GuestFileError, find_windows, guest_parent

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..hive import Hive
    from .guestinfo import GuestInfo
    from .plan import Plan
    from .volume import WindowsInstall

__all__ = ["STAGING_FOLDER", "ConversionReport", "GuestPlan", "plan_conversion"]

#: Where the driver packages are staged, below the Windows folder (added to DevicePath).
STAGING_FOLDER = r"Drivers\VirtIO"
_LOG_NAMES = ("LOG", "LOG1", "LOG2")


@dataclass(frozen=True)
class GuestPlan:
    """Everything a conversion of one guest will do (see the module docstring); nothing is
    written until ``apply``. ``files`` hold every file with its state (``create``, ``same``,
    ``replace``); ``registry`` the registry plan, made on the hives as they are now."""

    root: str
    config: ConvertConfig
    options: ConversionOptions
    info: GuestInfo
    drivers: tuple[DriverBuild, ...]
    files: tuple[FileAction, ...]
    folders: tuple[str, ...]
    hives: tuple[HivePlan, ...]
    registry: Plan = field(repr=False, compare=False)
    certificates: tuple[dict[str, object], ...] = ()
    warnings: tuple[str, ...] = ()
    manifest_state: str | None = None
    original_auto_reboot: int | None = None
    install: WindowsInstall = field(default=None, repr=False, compare=False)  # type: ignore

    @property
    def file_changes(self) -> tuple[FileAction, ...]:
        return tuple(f for f in self.files if f.state is not FileState.SAME)

    @property
    def nothing_to_do(self) -> bool:
        """Every file is in place, the registry holds every change, and the manifest says the
        conversion finished: applying would change nothing."""
        return (not self.file_changes and not self.registry.changes
                and self.manifest_state == "done")

    @property
    def manifest_path(self) -> str:
        return f"{self.install.system_root}\\{AGENT_FOLDER}\\manifest.json"

    def describe(self) -> list[str]:
        """The plan as lines a person reviews: what was found, chosen, and every change."""
        info = self.info
        lines = [f"guest: {self.root} -> {self.install.system_root} ({info.label})",
                 f"control sets: {', '.join(info.control_sets)}; Xen: "
                 f"{'found' if info.xen.found else 'none found'}"]
        for d in self.drivers:
            version = d.info.driver_version if d.info is not None else None
            lines.append(f"driver {d.driver}: {d.folder}"
                         f"{f' (version {version})' if version else ''}"
                         f"{'' if d.exact else ' [nearest older build]'}")
        for cert in self.certificates:
            lines.append(f"trust: {cert['subject_cn']} ({cert['thumbprint']})")
        for folder in self.folders:
            lines.append(f"create folder {folder}")
        for f in self.files:
            lines.append(f.describe())
        for change in self.registry.changes:
            lines.append(str(change))
        if self.nothing_to_do:
            lines.append("nothing to do: the guest is already converted")
        lines += [f"warning: {w}" for w in self.warnings]
        return lines

    def to_dict(self) -> dict[str, object]:
        return {"root": self.root, "system_root": self.install.system_root,
                "guest": self.info.to_dict(),
                "drivers": [d.to_dict() for d in self.drivers],
                "certificates": list(self.certificates),
                "folders": list(self.folders), "files": [f.to_dict() for f in self.files],
                "hives": [{"name": h.name, "path": h.guest_path, "logs": list(h.logs),
                           "backup_folder": h.backup_folder} for h in self.hives],
                "registry": [c.to_dict() for c in self.registry.changes],
                "first_boot": list(self.registry.first_boot),
                "manifest": self.manifest_path, "manifest_state": self.manifest_state,
                "nothing_to_do": self.nothing_to_do, "warnings": list(self.warnings)}

    def apply(self, progress: Callable[[int, int, str], None] | None = None
              ) -> ConversionReport:
        """Carry the plan out, in the order ``winmigrate.convert.run`` describes: manifest,
        hive backups, files, registry, done. ``progress(done, total, what)`` hears of every
        file, ``done``/``total`` in bytes. A second run of an applied plan writes nothing."""
        return _apply(self, progress)


def _hive_plan(install: WindowsInstall, name: str, host: str) -> HivePlan:
    from ..hive.logs.paths import find_logs

    volume = install.volume
    guest = volume.relative(host)
    logs = tuple(volume.relative(p) for p in find_logs(host))
    have = {p.rsplit(".", 1)[-1].upper() for p in logs}
    absent = tuple(f"{guest}.{role}" for role in _LOG_NAMES if role not in have)
    return HivePlan(name, guest, logs, absent,
                    f"{install.system_root}\\{AGENT_FOLDER}\\backup\\config")


def _auto_reboot(system: Hive, ccs: str) -> int | None:
    key = find_key(system, join(ccs, r"Control\CrashControl"))
    value = key.get("AutoReboot") if key is not None else None
    return value if isinstance(value, int) else None


def _signers(source_read: Callable[[str], bytes], build: DriverBuild
             ) -> tuple[list[tuple[str, bytes]], list[str]]:
    from .catalog import CatalogError, catalog_signers

    found: list[tuple[str, bytes]] = []
    warnings: list[str] = []
    for path in build.files:
        if not path.lower().endswith(".cat"):
            continue
        try:
            signers = catalog_signers(source_read(path), path)
        except CatalogError as e:
            warnings.append(f"{e}: its publisher is not trusted offline")
            continue
        for signer in signers:
            if not signer.microsoft:
                found.append((path, signer.der))
    return found, warnings


def plan_conversion(root: str | os.PathLike[str], config: ConvertConfig) -> GuestPlan:
    """Plan the conversion of the Windows guest whose volume is mounted at ``root`` (see the
    module docstring); nothing is written. Raises ``GuestNotFoundError`` (no Windows, or
    several), ``DriverNotFoundError`` (no build for this guest in the source),
    ``ConversionError`` and the hive errors (a dirty hive whose logs cannot bring it up to
    date)."""
    from .agent import agent_files
    from .guestinfo import inspect_hives
    from .plan import plan_xen_to_kvm

    if not isinstance(config, ConvertConfig):
        raise UsageError("config must be a ConvertConfig")
    install = find_windows(root)
    volume = install.volume
    manifest = Manifest.load(install)
    warnings: list[str] = []
    with open_driver_source(config.drivers) as source:
        system, software = open_guest_hives(install, writable=False)
        try:
            for hive, name in ((system, "SYSTEM"), (software, "SOFTWARE")):
                if dirty_unreplayed(hive):
                    raise ConversionError(
                        f"{name} is dirty (Windows did not finish writing it) and its "
                        "transaction logs cannot bring it up to date: converting it could lose "
                        "or corrupt data. Boot the guest once and shut it down cleanly, or "
                        f"recover it first ('winmigrate recover {name}')")
            info = inspect_hives(system, software)
            warnings += info.warnings
            version = info.version
            if version.major is None or version.minor is None:
                raise ConversionError("SOFTWARE does not say which Windows this is "
                                      "(CurrentVersion); the drivers cannot be chosen")
            if info.arch is None:
                raise ConversionError("SYSTEM does not say the processor architecture; the "
                                      "drivers cannot be chosen")
            if not info.xen.found:
                warnings.append("no Xen PV driver found: the guest is converted anyway (the "
                                "virtio drivers are added, nothing is taken out)")
            arch = info.arch

            def choose(driver: str) -> DriverBuild:
                assert version.major is not None and version.minor is not None
                return choose_driver(source, driver, major=version.major, minor=version.minor,
                                     build=version.build, server=info.server, arch=arch)

            builds = [choose(config.storage_driver)]
            if config.network_driver:
                builds.append(choose("NetKVM"))
            storage = builds[0]
            for b in builds:
                warnings += b.warnings
            storage_ids: tuple[str, ...] = ()
            if storage.info is not None:
                storage_ids = storage.info.ids_for(info.arch)
                services = [s.lower() for s in storage.info.services]
                if services and config.storage_driver not in services:
                    raise ConversionError(f"{storage.inf} installs the service(s) "
                                          f"{', '.join(storage.info.services)}, not "
                                          f"{config.storage_driver}")
            sys_name = f"{config.storage_driver}.sys"
            sys_source = next((p for p in storage.files
                               if posixpath.basename(p).lower() == sys_name), None)
            if sys_source is None:
                raise ConversionError(f"{source.label}: {storage.folder} has no {sys_name}")

            certificates: list[tuple[str, bytes]] = []
            if config.trust_driver_signer:
                for b in builds:
                    found, more = _signers(source.read, b)
                    certificates += found
                    warnings += more
            certificates += [("--certificate", load_certificate(c))
                             for c in config.certificates]
            by_thumb: dict[str, tuple[str, bytes]] = {}
            for origin, der in certificates:
                by_thumb.setdefault(parse_certificate(der).thumbprint, (origin, der))
            cert_info: list[dict[str, object]] = []
            for thumb, (origin, der) in by_thumb.items():
                parsed = parse_certificate(der)
                cert_info.append({"thumbprint": thumb, "subject_cn": parsed.subject_cn,
                                  "origin": origin, "not_after": parsed.not_after.isoformat()})

            ccs = info.current_control_set
            original_reboot = _auto_reboot(system, ccs)
            if manifest is not None and "original_auto_reboot" in manifest.report:
                raw = manifest.report["original_auto_reboot"]
                original_reboot = raw if isinstance(raw, int) else None  # the first run's
            options = ConversionOptions(
                storage_driver=config.storage_driver,
                first_boot=config.agent.first_boot() if config.agent is not None else None,
                neutralise_xen=config.neutralise_xen,
                ide_fallback=config.emulated_disk_fallback,
                trust_certificates=tuple(der for _o, der in by_thumb.values()),
                device_path=f"%SystemRoot%\\{STAGING_FOLDER}",
                crash_auto_reboot_off=config.crash_auto_reboot_off,
                storage_hardware_ids=storage_ids)
            registry = plan_xen_to_kvm(system, software, options)
            warnings += registry.warnings

            # -- the files -----------------------------------------------------------------
            sysroot = install.system_root
            backup_root = f"{sysroot}\\{AGENT_FOLDER}\\backup"
            wanted: list[tuple[str, bytes, str, str]] = []
            wanted.append((f"{sysroot}\\System32\\drivers\\{sys_name}",
                           source.read(sys_source), f"{source.label}: {sys_source}",
                           f"the boot loader loads {config.storage_driver} (boot-start) from "
                           "System32\\drivers"))
            staged: dict[str, str] = {}
            for b in builds:
                for path in b.files:
                    base = posixpath.basename(path)
                    data = source.read(path)
                    if base.lower() in staged and staged[base.lower()] != path:
                        raise ConversionError(f"{path} and {staged[base.lower()]} would both be "
                                              f"staged as {base}")
                    staged[base.lower()] = path
                    wanted.append((f"{sysroot}\\{STAGING_FOLDER}\\{base}", data,
                                   f"{source.label}: {path}",
                                   f"{b.driver} package, staged where Plug and Play and the "
                                   "agent find it (DevicePath)"))
            if config.agent is not None:
                infs = [b.inf_name for b in builds]
                cert_files = [(f"{thumb}.cer", der) for thumb, (_o, der) in by_thumb.items()]
                crash = original_reboot if config.crash_auto_reboot_off else False
                files, more = agent_files(info, config.agent, infs=infs,
                                          certificates=cert_files, crash_reboot=crash)
                warnings += more
                for f in files:
                    wanted.append((f"{sysroot}\\{AGENT_FOLDER}\\{f.name}", f.data, f.source,
                                   f.reason))
        finally:
            system.close()
            software.close()

    actions = []
    for guest_path, data, origin, reason in wanted:
        ours = manifest is not None and manifest.file_record(
            volume.relative(volume.path(guest_path))) is not None
        actions.append(plan_file(volume, guest_path, data, source=origin, reason=reason,
                                 backup_root=backup_root, ours=ours))
    hives = []
    if registry.system_changes or registry.software_changes or manifest is not None:
        hives.append(_hive_plan(install, "SYSTEM", install.system_hive))
        assert install.software_hive is not None
        hives.append(_hive_plan(install, "SOFTWARE", install.software_hive))
    folders = _folders_to_create(install, actions, hives, manifest)
    return GuestPlan(
        root=volume.root, config=config, options=options, info=info, drivers=tuple(builds),
        files=tuple(actions), folders=folders, hives=tuple(hives), registry=registry,
        certificates=tuple(cert_info), warnings=tuple(dict.fromkeys(warnings)),
        manifest_state=None if manifest is None else manifest.state,
        original_auto_reboot=original_reboot, install=install)


def _folders_to_create(install: WindowsInstall, actions: list[FileAction],
                       hives: list[HivePlan], manifest: Manifest | None) -> tuple[str, ...]:
    """The folders the conversion will create (none exists yet), parents first."""
    volume = install.volume
    needed = {f"{install.system_root}\\{AGENT_FOLDER}"}
    for a in actions:
        if a.state is not FileState.SAME:
            needed.add(guest_parent(a.guest_path))
            if a.backup is not None:
                needed.add(guest_parent(a.backup))
    for h in hives:
        needed.add(h.backup_folder)
    missing: set[str] = set()
    for folder in needed:
        probe = folder
        while probe and volume.find(probe) is None:
            missing.add(volume.relative(volume.path(probe)))
            probe = guest_parent(probe)
    if manifest is None:
        # a KvmConv folder left empty by a run killed before its manifest: ours too
        agent = volume.find(f"{install.system_root}\\{AGENT_FOLDER}")
        if agent is not None and os.path.isdir(agent) and not os.listdir(agent):
            missing.add(volume.relative(agent))
    return tuple(sorted(missing, key=lambda p: (p.count("\\"), p.lower())))


def _apply(plan: GuestPlan, progress: Callable[[int, int, str], None] | None
           ) -> ConversionReport:
    install = plan.install
    volume = install.volume
    summary = plan.to_dict()
    if plan.nothing_to_do:
        return ConversionReport(False, plan.manifest_path, (), tuple(
            f.guest_path for f in plan.files), 0, (), plan.warnings, summary)
    for action in plan.file_changes:  # the guest must still be as planned
        there = sha256_of_file(volume.path(action.guest_path))
        if (there is None) != (action.state is FileState.CREATE):
            raise ConversionError(f"{action.guest_path} changed since the plan was made: "
                                  "plan again")
    if plan.registry.changes:  # a read-only hive is refused before anything is written
        from ..hive.hivefile import refuse_read_only

        for host in (install.system_hive, install.software_hive):
            if host is not None:
                refuse_read_only(host)
    manifest = Manifest.load(install) or Manifest(system_root=install.system_root)
    created: list[str] = []
    record_plan(manifest, plan.folders, plan.file_changes, plan.hives,
                plan.original_auto_reboot, len(plan.registry.changes))
    manifest.save(install, created)
    step_done("manifest")

    backup_hives(volume, manifest, created)
    manifest.save(install, created)
    step_done("backup")

    total = sum(a.size for a in plan.file_changes)
    done_bytes = 0
    written = []
    for action in plan.file_changes:
        write_file(volume, action, created)
        done_bytes += action.size
        written.append(action.guest_path)
        if progress is not None:
            progress(done_bytes, total, action.guest_path)
        step_done(f"file:{action.guest_path}")

    try:
        count, saved = apply_registry(install, plan.options)
    except OSError as e:
        if isinstance(e, GuestFileError):
            raise
        raise GuestFileError(e.errno, f"cannot save the hives: {e.strerror}",
                             e.filename) from None
    step_done("registry")

    manifest.finish(summary)
    manifest.save(install, created)
    step_done("done")
    return ConversionReport(True, plan.manifest_path, tuple(written), tuple(
        f.guest_path for f in plan.files if f.state is FileState.SAME), count, tuple(saved),
        plan.warnings, summary)
