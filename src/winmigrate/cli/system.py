"""SYSTEM hive operations: ``services``, ``cdd`` and ``xen`` command groups.

Commands that change a hive print the changes as a readable diff, then (unless ``--dry-run``)
apply them in one transaction and save the hive atomically, keeping the previous file and its
logs as ``*.bak`` (``--no-backup`` to skip).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import UsageError
from . import writing
from .common import add_hive_options, open_hive, print_json, safe_text

if TYPE_CHECKING:
    from ..hive import Hive
    from ..windows.changes import Change
    from ..windows.controlsets import ControlSetSelection
    from ..windows.services import Service

_FMT = argparse.RawDescriptionHelpFormatter
_TYPES = {"kernel": 0x1, "filesystem": 0x2, "own": 0x10, "share": 0x20}
_STARTS = {"boot": 0, "system": 1, "auto": 2, "automatic": 2, "demand": 3, "manual": 3,
           "disabled": 4}
_ERRORS = {"ignore": 0, "normal": 1, "severe": 2, "critical": 3}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_services(sub)
    _register_cdd(sub)
    _register_xen(sub)


# -- shared ------------------------------------------------------------------------------------


def add_write_options(p: argparse.ArgumentParser) -> None:
    writing.add_write_options(p, logs=False)
    p.add_argument("--json", action="store_true", help="print the changes as JSON")


def add_control_sets_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--control-sets", default="all", metavar="SETS",
                   help="'all' (every control set Select uses, the default), 'current', or a "
                        "comma-separated list such as 1,2 or ControlSet001")


def parse_control_sets(text: str) -> ControlSetSelection:
    t = text.strip()
    if t.lower() in ("all", "current"):
        return t.lower()  # type: ignore[return-value,unused-ignore]
    items = [i.strip() for i in t.split(",") if i.strip()]
    if not items:
        raise UsageError(f"no control set in {text!r}")
    return [int(i) if i.isascii() and i.isdigit() else i for i in items]


def _number(text: str, names: dict[str, int], what: str) -> int:
    t = text.strip().lower()
    if t in names:
        return names[t]
    try:
        return int(t, 0)
    except ValueError:
        raise UsageError(f"unknown {what} {text!r} (choose {', '.join(names)} or a "
                         "number)") from None


def print_changes(changes: Sequence[Change], *, out: Callable[[str], None] = print) -> None:
    """The changes as a readable diff: one block per key, ``-`` before and ``+`` after, the
    reason as a comment where it changes."""
    if not changes:
        out("no changes: the hive is already as wanted")
        return
    from ..windows.changes import ChangeKind
    from .diff import describe

    width = min(max((len(c.value or "(default)") for c in changes if c.value is not None),
                    default=0), 32)
    last_key: tuple[str, str] | None = None
    last_reason: str | None = None
    for c in changes:
        where = (c.hive, c.key)
        if where != last_key or c.kind in (ChangeKind.CREATE_KEY, ChangeKind.DELETE_KEY):
            tag = {ChangeKind.CREATE_KEY: "  (new key)",
                   ChangeKind.DELETE_KEY: "  (key deleted)"}.get(c.kind, "")
            out(f"[{c.hive}] {safe_text(c.key)}{tag}")
            last_key = where
        if c.reason != last_reason:
            out(f"    # {safe_text(c.reason)}")
            last_reason = c.reason
        if c.value is None:
            continue
        name = safe_text(c.value or "(default)")
        if c.before is not None:
            out(f"  - {name:<{width}}  {describe(int(c.before.type), c.before.raw)}")
        if c.after is not None:
            out(f"  + {name:<{width}}  {describe(int(c.after.type), c.after.raw)}")


def run_write(args: argparse.Namespace, path: str,
              plan: Callable[[Hive], Sequence[Change]]) -> int:
    """Open ``path`` (writable unless ``--dry-run``), plan, show, apply and save."""
    from ..windows.changes import apply_changes

    with open_hive(path, writable=not args.dry_run, args=args) as hive:
        changes = tuple(plan(hive))
        if args.json:
            print_json({"dry_run": args.dry_run, "changes": [c.to_dict() for c in changes]})
        else:
            print_changes(changes)
        if not args.dry_run and changes:
            apply_changes(hive, changes)
            writing.save(hive, args)
    writing.print_summary([path], len(changes), args)
    return 0


def _hive_args(p: argparse.ArgumentParser, *, writes: bool = False) -> None:
    p.add_argument("hive", help="the SYSTEM hive file")
    # No --log for a write: its in-place save replays the logs found next to the hive.
    add_hive_options(p, tolerant=False, log_files=not writes)


# -- services ---------------------------------------------------------------------------------


def _register_services(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "services", help="list, show, add, change or remove services and drivers",
        description="Services and drivers of a SYSTEM hive (<control set>\\Services).",
        epilog="examples:\n  winmigrate services list SYSTEM --drivers\n"
               "  winmigrate services set-start SYSTEM xenvbd disabled --dry-run",
        formatter_class=_FMT)
    s = group.add_subparsers(dest="services_command", metavar="COMMAND")
    s.required = True

    p = s.add_parser("list", help="list the services of a control set",
                     description="List the services of a control set (default: the current "
                                 "one) with their type, start and image path.",
                     epilog="example:\n  winmigrate services list SYSTEM --control-set 2 "
                            "--json", formatter_class=_FMT)
    _hive_args(p)
    p.add_argument("--control-set", help="control set to read (default: Select\\Current)")
    p.add_argument("--drivers", action="store_true", help="only kernel and file system drivers")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_services_list)

    p = s.add_parser("show", help="show one service",
                     description="Every field of one service, as Windows reads it.",
                     epilog="example:\n  winmigrate services show SYSTEM viostor",
                     formatter_class=_FMT)
    _hive_args(p)
    p.add_argument("name", help="service name (case-insensitive)")
    p.add_argument("--control-set", help="control set to read (default: Select\\Current)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_services_show)

    p = s.add_parser("add", help="create or update a service",
                     description="Create a service (or update the values given) in every "
                                 "control set Select uses; a new service needs --type, --start "
                                 "and --error-control. ImagePath is REG_EXPAND_SZ and is "
                                 "quoted when it holds spaces.",
                     epilog="example:\n  winmigrate services add SYSTEM KvmConv --type own "
                            "--start auto --error-control normal \\\n    --image-path "
                            "'C:\\Windows\\KvmConv\\kvmconv.exe' --object-name LocalSystem "
                            "--dry-run", formatter_class=_FMT)
    _hive_args(p, writes=True)
    p.add_argument("name", help="service name")
    p.add_argument("--type", help="kernel, filesystem, own, share or a number (e.g. 0x10)")
    p.add_argument("--start", help="boot, system, auto, demand, disabled or 0-4")
    p.add_argument("--error-control", help="ignore, normal, severe, critical or 0-3")
    p.add_argument("--image-path", help="ImagePath (quoted automatically if it has spaces)")
    p.add_argument("--arguments", help="command-line arguments after the image path")
    p.add_argument("--display-name")
    p.add_argument("--description")
    p.add_argument("--group", help="load order group (e.g. 'SCSI miniport')")
    p.add_argument("--object-name", help="account (e.g. LocalSystem)")
    p.add_argument("--depend-on-service", action="append", default=[], metavar="NAME",
                   help="a service this one needs (repeatable)")
    p.add_argument("--delayed", action="store_true", help="DelayedAutoStart = 1")
    add_control_sets_option(p)
    add_write_options(p)
    p.set_defaults(handler=cmd_services_add)

    p = s.add_parser("set-start", help="set when a service starts",
                     description="Set Start of a service in every selected control set that "
                                 "has it (disable rather than delete: it can be undone).",
                     epilog="example:\n  winmigrate services set-start SYSTEM xenvbd disabled",
                     formatter_class=_FMT)
    _hive_args(p, writes=True)
    p.add_argument("name", help="service name (case-insensitive)")
    p.add_argument("start", help="boot, system, auto, demand, disabled or 0-4")
    add_control_sets_option(p)
    add_write_options(p)
    p.set_defaults(handler=cmd_services_set_start)

    p = s.add_parser("remove", help="delete a service",
                     description="Delete a service key (and its subkeys) from every selected "
                                 "control set that has it.",
                     epilog="example:\n  winmigrate services remove SYSTEM KvmConv --dry-run",
                     formatter_class=_FMT)
    _hive_args(p, writes=True)
    p.add_argument("name", help="service name (case-insensitive)")
    add_control_sets_option(p)
    add_write_options(p)
    p.set_defaults(handler=cmd_services_remove)


def _enum_text(value: object) -> str:
    if value is None:
        return "-"
    name = getattr(value, "name", None)
    return f"{int(value)} ({name.lower()})" if name else str(value)  # type: ignore[call-overload]


def cmd_services_list(args: argparse.Namespace) -> int:
    from ..windows.services import list_services

    with open_hive(args.hive, args=args) as hive:
        services = list_services(hive, args.control_set)
        if args.drivers:
            services = [s for s in services if s.is_driver]
        if args.json:
            print_json([s.to_dict() for s in services])
            return 0
        for s in services:
            typ = "-" if s.type is None else f"0x{int(s.type):x}"
            print(f"{safe_text(s.name):<32} type {typ:<6} start {_enum_text(s.start):<12} "
                  f"{safe_text(s.image_path or '')}")
    return 0


def cmd_services_show(args: argparse.Namespace) -> int:
    from ..errors import KeyNotFoundError
    from ..windows.services import get_service

    with open_hive(args.hive, args=args) as hive:
        svc = get_service(hive, args.name, args.control_set)
        if svc is None:
            raise KeyNotFoundError(f"Services\\{args.name}")
        if args.json:
            print_json(svc.to_dict())
            return 0
        for label, text in _service_rows(svc):
            print(f"{label:<20} {text}")
        for w in svc.warnings:
            print(f"winmigrate: warning: {svc.name}: {safe_text(w)}", file=sys.stderr)
    return 0


def _service_rows(svc: Service) -> list[tuple[str, str]]:
    """Every field set, as text (the JSON form has them all, raw)."""
    from ..windows.services import ServiceType

    rows = [("name", safe_text(svc.name)), ("control set", svc.control_set or "-")]
    if svc.type is not None:
        flags = [m.name.lower().replace("_", " ") for m in ServiceType
                 if m.name and m & svc.type]
        rows.append(("type", f"0x{int(svc.type):x} ({', '.join(flags) or 'no known flag'})"))
    for label, value in (("start", svc.start), ("error control", svc.error_control)):
        if value is not None:
            rows.append((label, _enum_text(value)))
    if svc.delayed_auto_start is not None:
        rows.append(("delayed start", "yes" if svc.delayed_auto_start else "no"))
    for label, text in (("image path", svc.image_path), ("display name", svc.display_name),
                        ("description", svc.description), ("group", svc.group),
                        ("object name", svc.object_name)):
        if text is not None:
            rows.append((label, safe_text(text)))
    for label, items in (("depend on service", svc.depend_on_service),
                         ("depend on group", svc.depend_on_group), ("owners", svc.owners)):
        if items:
            rows.append((label, ", ".join(safe_text(i) for i in items)))
    if svc.tag is not None:
        rows.append(("tag", str(svc.tag)))
    for name, value in svc.start_override.items():
        rows.append((f"start override {safe_text(name)}", _enum_text(value)))
    for name, param in svc.parameters.items():
        rows.append((f"parameter {safe_text(name or '(default)')}", _param_text(param)))
    return rows


def _param_text(value: object) -> str:
    from ..windows.changes import RegValue
    from .diff import describe

    if isinstance(value, RegValue):
        return describe(int(value.type), value.raw)
    if isinstance(value, bytes):
        return value.hex(" ") or "(empty)"
    if isinstance(value, (list, tuple)):
        return ", ".join(safe_text(str(v)) for v in value)
    return safe_text(str(value))


def cmd_services_add(args: argparse.Namespace) -> int:
    from ..windows.services import (
        ErrorControl,
        Service,
        ServiceType,
        StartType,
        plan_register_service,
        quote_image_path,
    )

    typ = None if args.type is None else ServiceType(_number(args.type, _TYPES, "type"))
    start = None if args.start is None else StartType(_number(args.start, _STARTS, "start"))
    err = None if args.error_control is None else ErrorControl(
        _number(args.error_control, _ERRORS, "error control"))
    image = None if args.image_path is None else quote_image_path(args.image_path,
                                                                  args.arguments)
    service = Service(args.name, type=typ, start=start, error_control=err, image_path=image,
                      display_name=args.display_name, group=args.group,
                      object_name=args.object_name, description=args.description,
                      depend_on_service=tuple(args.depend_on_service),
                      delayed_auto_start=True if args.delayed else None)
    sets = parse_control_sets(args.control_sets)
    return run_write(args, args.hive, lambda h: plan_register_service(h, service, sets))


def cmd_services_set_start(args: argparse.Namespace) -> int:
    from ..windows.services import plan_set_start

    start = _number(args.start, _STARTS, "start")
    sets = parse_control_sets(args.control_sets)
    return run_write(args, args.hive, lambda h: plan_set_start(h, args.name, start, sets))


def cmd_services_remove(args: argparse.Namespace) -> int:
    from ..windows.services import plan_remove_service

    sets = parse_control_sets(args.control_sets)
    return run_write(args, args.hive, lambda h: plan_remove_service(h, args.name, sets))


# -- cdd --------------------------------------------------------------------------------------


def _register_cdd(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "cdd", help="the CriticalDeviceDatabase (Windows 7 / 2008 R2 and older)",
        description="Boot-critical devices of Windows 7 / 2008 R2 and older: "
                    "<control set>\\Control\\CriticalDeviceDatabase.",
        epilog="example:\n  winmigrate cdd add SYSTEM 'PCI\\VEN_1AF4&DEV_1001&REV_00' viostor",
        formatter_class=_FMT)
    s = group.add_subparsers(dest="cdd_command", metavar="COMMAND")
    s.required = True

    p = s.add_parser("list", help="list the entries",
                     description="List the CriticalDeviceDatabase entries of a control set.",
                     epilog="example:\n  winmigrate cdd list SYSTEM --service atapi",
                     formatter_class=_FMT)
    _hive_args(p)
    p.add_argument("--control-set", help="control set to read (default: Select\\Current)")
    p.add_argument("--service", help="only entries for this service")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_cdd_list)

    p = s.add_parser("add", help="add (or fix) an entry",
                     description="Make a hardware ID boot-critical for a service in every "
                                 "selected control set. Accepts PCI\\VEN_... or pci#ven_...; "
                                 "an existing entry (any case) is updated in place.",
                     epilog="example:\n  winmigrate cdd add SYSTEM 'PCI\\VEN_1AF4&DEV_1042&"
                            "REV_01' viostor --dry-run", formatter_class=_FMT)
    _hive_args(p, writes=True)
    p.add_argument("hardware_id", help="e.g. PCI\\VEN_1AF4&DEV_1001&REV_00")
    p.add_argument("service", help="the service that drives it")
    p.add_argument("--class-guid", default="{4D36E97B-E325-11CE-BFC1-08002BE10318}",
                   help="setup class (default: SCSIAdapter)")
    add_control_sets_option(p)
    add_write_options(p)
    p.set_defaults(handler=cmd_cdd_add)

    p = s.add_parser("remove", help="remove entries",
                     description="Remove the entries of a service or of given hardware IDs.",
                     epilog="example:\n  winmigrate cdd remove SYSTEM --service xenvbd",
                     formatter_class=_FMT)
    _hive_args(p, writes=True)
    p.add_argument("--service", help="remove every entry whose Service is this")
    p.add_argument("--device-id", action="append", default=[], metavar="ID",
                   help="remove this hardware ID's entry (repeatable)")
    add_control_sets_option(p)
    add_write_options(p)
    p.set_defaults(handler=cmd_cdd_remove)


def cmd_cdd_list(args: argparse.Namespace) -> int:
    from ..windows.cdd import list_critical_devices

    with open_hive(args.hive, args=args) as hive:
        entries = list_critical_devices(hive, args.control_set)
        if args.service:
            entries = [e for e in entries if (e.service or "").lower() == args.service.lower()]
        if args.json:
            print_json([e.to_dict() for e in entries])
            return 0
        for e in entries:
            print(f"{safe_text(e.device_id):<60} {safe_text(e.service or '-'):<16} "
                  f"{e.class_guid or '-'}")
    return 0


def cmd_cdd_add(args: argparse.Namespace) -> int:
    from ..windows.cdd import plan_add_critical_device

    sets = parse_control_sets(args.control_sets)
    return run_write(args, args.hive, lambda h: plan_add_critical_device(
        h, args.hardware_id, args.service, args.class_guid, sets))


def cmd_cdd_remove(args: argparse.Namespace) -> int:
    from ..windows.cdd import plan_remove_critical_devices

    if not args.service and not args.device_id:
        raise UsageError("give --service or --device-id")
    sets = parse_control_sets(args.control_sets)
    return run_write(args, args.hive, lambda h: plan_remove_critical_devices(
        h, args.service, args.device_id, sets))


# -- xen ----------------------------------------------------------------------------------------


def _register_xen(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "xen", help="find and neutralise Xen PV drivers",
        description="Xen paravirtual drivers of a guest: what is installed, and making the "
                    "guest bootable without them.",
        epilog="example:\n  winmigrate xen detect SYSTEM --software SOFTWARE",
        formatter_class=_FMT)
    s = group.add_subparsers(dest="xen_command", metavar="COMMAND")
    s.required = True

    p = s.add_parser("detect", help="report the Xen PV drivers, devices, filters and NIC",
                     description="Report Xen PV services, Xen devices, filter lists naming a "
                                 "Xen driver, Xen CriticalDeviceDatabase entries, the Xen NIC, "
                                 "unplug settings and (with SOFTWARE) the tools' uninstaller.",
                     epilog="example:\n  winmigrate xen detect SYSTEM --software SOFTWARE --json",
                     formatter_class=_FMT)
    _hive_args(p)
    p.add_argument("--software", help="the SOFTWARE hive (for the uninstallers; --log names "
                                      "the logs of SYSTEM only)")
    add_control_sets_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_xen_detect)

    p = s.add_parser("neutralise", aliases=["neutralize"],
                     help="remove Xen filters, disable Xen services, drop Xen CDD entries",
                     description="Remove xenfilt/scsifilt (any Xen service) from every "
                                 "UpperFilters/LowerFilters of class and device keys, disable "
                                 "(Start=4) the Xen services, delete Xen CriticalDeviceDatabase "
                                 "entries and unplug settings, set xenevtchn\\NoPVBoot=1.",
                     epilog="example:\n  winmigrate xen neutralise SYSTEM --dry-run",
                     formatter_class=_FMT)
    _hive_args(p, writes=True)
    add_control_sets_option(p)
    add_write_options(p)
    p.set_defaults(handler=cmd_xen_neutralise)


def cmd_xen_detect(args: argparse.Namespace) -> int:
    from ..windows.xen import detect
    from .diff import describe

    sets = parse_control_sets(args.control_sets)
    with open_hive(args.hive, args=args) as hive:
        # --log names the logs of SYSTEM, the hive the command is about
        own = argparse.Namespace(**{**vars(args), "log_files": None})
        software = open_hive(args.software, args=own) if args.software else None
        try:
            report = detect(hive, software, sets)
        finally:
            if software is not None:
                software.close()
    if args.json:
        print_json(report.to_dict())
        return 0
    print(f"control sets: {', '.join(report.control_sets)}")
    print(f"Xen PV drivers found: {'yes' if report.found else 'no'}")
    for s in report.services:
        start = "-" if s.start is None else str(s.start)
        mark = "" if s.known else "  (mentions Xen; not in the known list)"
        print(f"  service  {s.control_set}  {safe_text(s.name):<16} start {start:<2} "
              f"{safe_text(s.display_name or '')}{mark}")
    for d in report.devices:
        print(f"  device   {d.control_set}  {safe_text(d.instance)}  "
              f"[{safe_text(d.service or '-')}] {safe_text(d.description or '')}")
    for c in report.critical_devices:
        print(f"  cdd      {c.control_set}  {safe_text(c.key_name)} -> {c.service}")
    for f in report.filters:
        print(f"  filter   {safe_text(f.key)}  {f.value} = {_entries(f.entries)}")
    for n in report.nics:
        print(f"  nic      {n.control_set}  {n.guid}  {safe_text(n.label)}  "
              f"{safe_text(n.driver_desc or '')}  ({n.xen_evidence})")
    for u in report.unplug:
        shown = describe(int(u.data.type), u.data.raw)
        print(f"  unplug   {safe_text(u.key)}  {u.value} = {shown}")
    for cs in report.legacy_xenevtchn:
        print(f"  legacy   {cs}  xenevtchn (needs NoPVBoot=1)")
    for un in report.uninstallers:
        print(f"  uninstall  {safe_text(un.display_name)}: "
              f"{safe_text(un.quiet_uninstall_string or un.uninstall_string or '-')}")
    for w in report.warnings:
        print(f"winmigrate: warning: {w}", file=sys.stderr)
    return 0


def _entries(items: Sequence[str]) -> str:
    """A filter list: names as they are, an empty one (where Windows stops reading) as ""."""
    return ", ".join(safe_text(e) if e and e == e.strip() and "," not in e else f'"{safe_text(e)}"'
                     for e in items)


def cmd_xen_neutralise(args: argparse.Namespace) -> int:
    from ..windows.xen import plan_neutralise

    sets = parse_control_sets(args.control_sets)
    return run_write(args, args.hive, lambda h: plan_neutralise(h, sets))
