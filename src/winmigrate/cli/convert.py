"""``winmigrate convert``: phase one of a Xen -> KVM move on a mounted guest volume -- files and
registry together -- and ``--undo``."""

from __future__ import annotations

import argparse
import sys

from .common import print_json, safe_text

_FMT = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "convert", help="convert a stopped Xen guest's Windows volume to boot on KVM",
        description="Phase one of a Xen -> KVM move, offline, on the guest's mounted Windows "
                    "volume: the virtio storage driver installed and boot-critical, the Xen "
                    "drivers out of the boot path, the virtio network driver staged in "
                    "Windows\\Drivers\\VirtIO, and the phase-two agent installed in "
                    "Windows\\KvmConv as a service that finishes the move at the first boot. "
                    "Every step is recorded in Windows\\KvmConv\\manifest.json; --undo puts "
                    "the guest back exactly. See docs/tasks/convert.md.",
        epilog="examples:\n"
               "  winmigrate convert /mnt/guest --drivers virtio-win-0.1.266.iso --dry-run\n"
               "  winmigrate convert /mnt/guest --drivers virtio-win-0.1.266.iso\n"
               "  winmigrate convert /mnt/guest --undo",
        formatter_class=_FMT)
    p.add_argument("root", metavar="ROOT",
                   help="the mount point of the guest's Windows volume (its C:\\)")
    p.add_argument("--drivers", metavar="SOURCE",
                   help="the virtio-win drivers: the ISO (read in place; needs the 'iso' extra) "
                        "or a folder holding its contents")
    p.add_argument("--storage", choices=("viostor", "vioscsi"), default="viostor",
                   help="the boot disk's driver: virtio-blk (viostor, the default) or "
                        "virtio-scsi (vioscsi)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the whole plan (files and registry, with reasons); write nothing")
    p.add_argument("--undo", action="store_true",
                   help="put the guest back as it was before its conversion (from the manifest)")
    p.add_argument("--force", action="store_true",
                   help="with --undo: restore even after the agent has run, and remove files "
                        "changed since the conversion")
    p.add_argument("--json", action="store_true", help="print the plan or report as JSON")
    p.add_argument("--no-network-driver", action="store_true",
                   help="do not stage NetKVM")
    p.add_argument("--no-agent", action="store_true",
                   help="install no phase-two agent (the network must then be set up by hand)")
    p.add_argument("--agent-program", metavar="EXE",
                   help="install this agent executable instead of the one winmigrate ships")
    p.add_argument("--service-name", default="KvmConv", help="the agent's service name")
    p.add_argument("--display-name", help="the agent's service display name")
    p.add_argument("--depend-on", action="append", default=[], metavar="SERVICE",
                   help="a service the agent waits for (DependOnService; repeatable)")
    p.add_argument("--delayed", action="store_true",
                   help="delayed automatic start (Vista and later)")
    p.add_argument("--mac", help="the new virtio NIC's MAC address, when known (kept from Xen)")
    p.add_argument("--no-ipv6", action="store_true",
                   help="do not re-apply static IPv6 addresses")
    p.add_argument("--no-reboot", action="store_true",
                   help="the agent does not reboot the guest when it is done")
    p.add_argument("--max-boots", type=int, default=3,
                   help="boots on which the agent tries before it gives up (default 3)")
    p.add_argument("--pnp-timeout", type=int, default=300,
                   help="seconds the agent waits for Plug and Play to settle (default 300)")
    p.add_argument("--uninstall-xen-tools", action="store_true",
                   help="the agent runs the Xen PV tools' registered quiet uninstaller")
    p.add_argument("--keep-xen", action="store_true",
                   help="do not take the Xen PV drivers out of the boot path")
    p.add_argument("--emulated-disk-fallback", action="store_true",
                   help="keep IDE/AHCI/NVMe boot drivers bootable too (first boot on an "
                        "emulated disk)")
    p.add_argument("--keep-auto-reboot", action="store_true",
                   help="leave CrashControl\\AutoReboot alone (by default a stop error at the "
                        "first boot stays on screen)")
    p.add_argument("--no-trust-signer", action="store_true",
                   help="do not trust the driver catalog's signer offline")
    p.add_argument("--certificate", action="append", default=[], metavar="FILE",
                   help="another DER or PEM certificate to trust (TrustedPublisher; repeatable)")
    p.set_defaults(handler=cmd_convert)


def _must_exist(path: str, why: str) -> None:
    import errno
    import os

    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, why, path)


class _Bar:
    """A progress line for the file copy (terminal only, after a second)."""

    def __init__(self) -> None:
        from .progress import Progress

        self.bar = Progress("copying", "bytes")

    def __call__(self, done: int, total: int, what: str) -> None:
        self.bar.total = total
        self.bar.update(done)

    def close(self) -> None:
        self.bar.close()


def cmd_convert(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    if args.drivers is None and not args.undo:
        raise UsageError("give the virtio-win source with --drivers (the ISO or a folder)")
    if args.force and not args.undo:
        raise UsageError("--force goes with --undo")
    # A path that is not there is a failure on the input (exit 1), as for a missing hive.
    _must_exist(args.root, "no such folder (give the mount point of the guest's Windows volume)")
    if args.undo:
        return _undo(args)
    _must_exist(args.drivers, "no such virtio-win folder or ISO")
    from ..convert.guest import plan_conversion
    from ..convert.options import AgentOptions, ConvertConfig

    agent = None
    if not args.no_agent:
        extra = {"display_name": args.display_name} if args.display_name else {}
        agent = AgentOptions(service_name=args.service_name, depend_on=tuple(args.depend_on),
                             delayed=args.delayed, mac=args.mac, ipv6=not args.no_ipv6,
                             reboot=not args.no_reboot, max_boots=args.max_boots,
                             pnp_timeout=args.pnp_timeout,
                             uninstall_xen_tools=args.uninstall_xen_tools,
                             program=args.agent_program, **extra)
    certificates = []
    for path in args.certificate:
        with open(path, "rb") as f:
            certificates.append(f.read())
    config = ConvertConfig(drivers=args.drivers, storage_driver=args.storage,
                           network_driver=not args.no_network_driver, agent=agent,
                           neutralise_xen=not args.keep_xen,
                           emulated_disk_fallback=args.emulated_disk_fallback,
                           crash_auto_reboot_off=not args.keep_auto_reboot,
                           trust_driver_signer=not args.no_trust_signer,
                           certificates=tuple(certificates))
    plan = plan_conversion(args.root, config)
    if args.dry_run:
        if args.json:
            out = plan.to_dict()
            out["dry_run"] = True
            print_json(out)
        else:
            for line in plan.describe():
                print(safe_text(line))
        return 0
    if not args.json:
        for w in plan.warnings:
            print(f"winmigrate: warning: {safe_text(w)}", file=sys.stderr)
    bar = _Bar()
    try:
        report = plan.apply(progress=bar)
    finally:
        bar.close()
    if args.json:
        out = report.to_dict()
        out["dry_run"] = False
        print_json(out)
    elif not report.changed:
        print("nothing to do: the guest is already converted (nothing was written)")
    else:
        print(f"converted {plan.root} ({plan.info.label})")
        print(f"  {len(report.files_written)} file(s) written, {len(report.files_kept)} already "
              f"in place; {report.registry_changes} registry change(s) in "
              f"{', '.join(report.hives_saved) or 'no hive'}")
        print(f"  record: {report.manifest} (undo: winmigrate convert {args.root} --undo)")
    return 0


def _undo(args: argparse.Namespace) -> int:
    from ..convert.manifest import undo
    from ..errors import UsageError

    if args.dry_run:
        raise UsageError("--undo has no --dry-run: the manifest lists what it would restore")
    report = undo(args.root, force=args.force)
    if args.json:
        print_json(report.to_dict())
        return 0
    print(f"restored {len(report.restored)} file(s), removed {len(report.removed)}")
    for w in report.warnings:
        print(f"winmigrate: warning: {safe_text(w)}", file=sys.stderr)
    return 1 if report.kept else 0
