"""``winmigrate migrate xen-to-kvm``: the offline part of moving a Windows guest to KVM."""

from __future__ import annotations

import argparse

from .common import open_hive, print_json, safe_text, warn
from .system import print_changes
from .writing import add_write_options, print_summary, save

_FMT = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "migrate", help="convert a guest's hives for another hypervisor",
        description="Convert the registry of an offline Windows guest for another hypervisor.",
        epilog="example:\n  winmigrate migrate xen-to-kvm --system SYSTEM --software SOFTWARE "
               "--dry-run",
        formatter_class=_FMT)
    s = group.add_subparsers(dest="migrate_command", metavar="COMMAND")
    s.required = True
    p = s.add_parser(
        "xen-to-kvm", help="make a Xen guest boot on KVM (virtio disk, Xen drivers off)",
        description="Plan and apply the registry side of a Xen -> KVM move in every control set "
                    "Select uses: the virtio storage driver as a boot driver (with "
                    "CriticalDeviceDatabase entries on Windows <= 7, DriverDatabase entries on "
                    "Windows >= 8), the Xen PV drivers neutralised, and optionally a first-boot "
                    "service. --dry-run prints the plan as a diff and writes nothing; a real run "
                    "keeps the previous hives and their logs as *.bak next to them (--no-backup: "
                    "not).",
        epilog="examples:\n"
               "  winmigrate migrate xen-to-kvm --system SYSTEM --software SOFTWARE --dry-run\n"
               "  winmigrate migrate xen-to-kvm --system SYSTEM --storage-driver vioscsi \\\n"
               "      --firstboot-image 'C:\\Windows\\KvmConv\\kvmconv.exe'",
        formatter_class=_FMT)
    p.add_argument("--system", required=True, metavar="SYSTEM", help="the SYSTEM hive file")
    p.add_argument("--software", metavar="SOFTWARE",
                   help="the SOFTWARE hive (exact Windows version, Xen tools uninstaller, "
                        "certificates, DevicePath)")
    p.add_argument("--storage-driver", choices=("viostor", "vioscsi"), default="viostor",
                   help="virtio-blk (viostor, the default) or virtio-scsi (vioscsi)")
    p.add_argument("--firstboot-image", metavar="PATH",
                   help="ImagePath of the first-boot program (registers the service)")
    p.add_argument("--firstboot-name", default="KvmConv", help="first-boot service name")
    p.add_argument("--firstboot-arguments", metavar="ARGS",
                   help="arguments after the first-boot image path")
    p.add_argument("--driver-package-id", metavar="NAME",
                   help="DriverDatabase package name on Windows 8+, e.g. the FileRepository "
                        "folder of the staged virtio-win build (viostor.inf_amd64_<16 hex>)")
    p.add_argument("--trust-certificate", action="append", default=[], metavar="FILE",
                   help="DER or PEM certificate to add to TrustedPublisher (needs --software; "
                        "repeatable)")
    p.add_argument("--device-path", metavar="FOLDER",
                   help="append this folder to DevicePath (needs --software)")
    p.add_argument("--ide-fallback", action="store_true",
                   help="also make intelide/pciide/atapi boot drivers")
    p.add_argument("--keep-xen", action="store_true",
                   help="do not neutralise the Xen PV drivers")
    add_write_options(p, logs=False)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("--logs", choices=("auto", "ignore", "require"), default="auto",
                   help="transaction logs of a dirty hive: replay them (auto, the default), "
                        "read the primary as it is (ignore: such a hive cannot be changed), or "
                        "fail without them (require)")
    p.set_defaults(handler=cmd_xen_to_kvm)


def cmd_xen_to_kvm(args: argparse.Namespace) -> int:
    from ..convert import ConversionOptions, FirstBootService, plan_xen_to_kvm

    certificates = []
    for path in args.trust_certificate:
        with open(path, "rb") as f:
            certificates.append(f.read())
    options = ConversionOptions(
        storage_driver=args.storage_driver,
        first_boot=(FirstBootService(args.firstboot_image, name=args.firstboot_name,
                                     arguments=args.firstboot_arguments)
                    if args.firstboot_image is not None else None),
        neutralise_xen=not args.keep_xen, ide_fallback=args.ide_fallback,
        driver_package_id=args.driver_package_id, trust_certificates=tuple(certificates),
        device_path=args.device_path)
    writable = not args.dry_run
    with open_hive(args.system, writable=writable, args=args) as system:
        software = (open_hive(args.software, writable=writable, args=args)
                    if args.software else None)
        try:
            plan = plan_xen_to_kvm(system, software, options)
            if args.json:
                out = plan.to_dict()
                out["dry_run"] = args.dry_run
                print_json(out)
            else:
                v = plan.version
                print(f"# {v.label} [{v.family.value}; {v.source.value}]")
                print(f"# control sets: {', '.join(plan.control_sets)}; storage driver "
                      f"{plan.storage_driver.service} "
                      f"({', '.join(plan.storage_driver.hardware_ids)})")
                print_changes(plan.changes)
                if plan.first_boot:
                    print("# still to do at first boot:")
                    for note in plan.first_boot:
                        print(f"#   - {safe_text(cli_words(note, args))}")
            for w in plan.warnings:
                warn(cli_words(w, args))
            # the hives a real run writes (or, when it writes nothing, the hives it read)
            written = [args.system]
            if software is not None and (plan.software_changes or args.dry_run
                                         or not plan.changes):
                written.append(args.software)
            if not args.dry_run and plan.changes:
                plan.apply()
                save(system, args)
                if software is not None and plan.software_changes:
                    save(software, args)
        finally:
            if software is not None:
                software.close()
    print_summary(written, len(plan.changes), args)
    return 0


def cli_words(text: str, args: argparse.Namespace) -> str:
    """The plan's notes name library functions; say the command instead."""
    from .failures import translate

    return translate(text, {})
