"""Network commands: ``net show`` (every interface's TCP/IP settings) and ``net script`` (the
first-boot script that re-applies them on the new adapter)."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from .common import add_hive_options, open_hive, print_json, safe_text
from .writing import CommandError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..windows.netsettings import GlobalSettings, Interface

_SHOW_EPILOG = """\
examples:
  winmigrate net show /mnt/win/Windows/System32/config/SYSTEM
  winmigrate net show SYSTEM --control-set 2 --json"""

_SCRIPT_EPILOG = """\
examples:
  winmigrate net script SYSTEM --target powershell -o C:/KvmConv/net.ps1
  winmigrate net script SYSTEM --target netsh --match mac:52:54:00:12:34:56 -o net.cmd
  winmigrate net script SYSTEM --target powershell \\
      --match {698E50A9-4F58-4D86-B61D-F42E58DCACF6}=mac:52:54:00:12:34:56 \\
      --match {6AAFC9A9-0542-4DB2-8760-CCFFA953737C}=new-adapter

By default the interfaces to migrate are the Xen PV NICs with static settings, else every
interface with static settings (see 'winmigrate net show'); --interface picks them by GUID.
The script is ASCII with CRLF line ends; run the PowerShell one with
'powershell -ExecutionPolicy Bypass -File net.ps1', the netsh one with 'cmd /c net.cmd'."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    net = sub.add_parser(
        "net", help="network settings: show them, or make the first-boot script",
        description="Read every adapter's TCP/IP settings from a SYSTEM hive, or generate the "
                    "script that re-applies them on the new adapter at first boot.",
        epilog="examples:\n  winmigrate net show SYSTEM\n"
               "  winmigrate net script SYSTEM --target powershell -o net.ps1",
        formatter_class=fmt)
    net_sub = net.add_subparsers(dest="net_command", metavar="SUBCOMMAND")
    net_sub.required = True

    p = net_sub.add_parser(
        "show", help="every interface's TCP/IP settings, as a table or JSON",
        description="Show the host name, DNS suffix, search list and persistent routes, then "
                    "one block per interface: adapter, connection name, presence, Xen or not, "
                    "IPv4 addresses, gateways, DNS, WINS, NetBIOS, IPv6, DHCP lease. Interfaces "
                    "marked [migrate] are the ones 'net script' re-applies by default.",
        epilog=_SHOW_EPILOG, formatter_class=fmt)
    p.add_argument("hive", help="the SYSTEM hive file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--control-set", metavar="N",
                   help="control set to read (1, 001 or ControlSet001; default: the current)")
    add_hive_options(p)
    p.set_defaults(handler=cmd_show)

    p = net_sub.add_parser(
        "script", help="the first-boot script that re-applies the settings",
        description="Generate the script the first-boot service runs on the KVM guest: it "
                    "finds the new adapter, clears the old adapter's addresses, applies every "
                    "setting of the old one (IPv4, gateways with metrics, DNS servers and "
                    "suffix, dynamic DNS registration, WINS, NetBIOS, static IPv6, metric, "
                    "connection name) and logs each step.",
        epilog=_SCRIPT_EPILOG, formatter_class=fmt)
    p.add_argument("hive", help="the SYSTEM hive file")
    p.add_argument("--target", choices=("powershell", "netsh"), required=True,
                   help="powershell: NetTCPIP cmdlets (Server 2012 and later); netsh: netsh + "
                        "wmic batch file (Server 2003 to 2008 R2)")
    p.add_argument("--match", action="append", metavar="SPEC",
                   help="how the script finds the new adapter: new-adapter (the default: the "
                        "one present adapter the old hive does not know) or mac:AA:BB:CC:DD:EE:FF;"
                        " with several interfaces give GUID=SPEC once per interface")
    p.add_argument("--interface", action="append", metavar="GUID",
                   help="re-apply this interface (repeatable; default: see below)")
    p.add_argument("--control-set", metavar="N",
                   help="control set to read (default: the current one)")
    p.add_argument("--log-file", metavar="PATH",
                   help=r"where the script logs on the guest (default: "
                        r"%%SystemRoot%%\KvmConv\winmigrate-net.log)")
    p.add_argument("--wait", type=int, default=60, metavar="SECONDS",
                   help="how long the script waits for the new adapter to appear (default 60)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the script here (default: stdout)")
    add_hive_options(p)
    p.set_defaults(handler=cmd_script)


def _read(args: argparse.Namespace) -> tuple[list[Interface], GlobalSettings]:
    from ..windows.network import global_settings, interfaces

    with open_hive(args.hive, args=args) as hive:
        nics = interfaces(hive, args.control_set)
        settings = global_settings(hive, args.control_set)
    return nics, settings


def _addrs(items: list[object]) -> str:
    return ", ".join(str(i) for i in items) if items else "-"


def _yes(flag: bool | None) -> str:
    return "-" if flag is None else ("on" if flag else "off")


def _print_settings(settings: GlobalSettings) -> None:
    rows = [
        ("control set", settings.control_set or "-"),
        ("host name", settings.hostname or "-"),
        ("computer name", settings.computer_name or "-"),
        ("primary DNS suffix", settings.primary_dns_suffix or "-"),
        ("search list", ", ".join(settings.search_list) or "-"),
        ("persistent routes", "; ".join(
            f"{r.destination} via {r.gateway} metric {r.metric}"
            for r in settings.persistent_routes) or "-"),
    ]
    for label, text in rows:
        print(f"{label:<19} {safe_text(text)}")
    for w in settings.warnings:
        print(f"{'warning':<19} {safe_text(w)}")


def _print_interface(nic: Interface, migrate: bool) -> None:
    head = f"{nic.guid}  {safe_text(nic.name) if nic.name else '(no connection name)'}"
    print(head + ("  [migrate]" if migrate else ""))
    adapter = safe_text(nic.driver_desc or "-")
    if nic.component_id:
        adapter += f" ({safe_text(nic.component_id)})"
    if nic.class_key:
        adapter += f", class {nic.class_key}"
    if nic.service:
        adapter += f", service {safe_text(nic.service)}"
    rows = [("adapter", adapter)]
    if nic.device_instance_id:
        rows.append(("device", f"{safe_text(nic.device_instance_id)} "
                               f"({'present' if nic.present else 'not in Enum'})"))
    rows.append(("Xen PV", f"yes: {safe_text(nic.xen_evidence or '')}" if nic.is_xen else "no"))
    rows.append(("IPv4", ("DHCP" if nic.dhcp else "static") + (
        f" {_addrs(list(nic.ipv4))}" if nic.ipv4 else "")))
    rows.append(("gateways", ", ".join(
        f"{g.address}" + ("" if g.metric is None else f" metric {g.metric}")
        for g in nic.gateways) or "-"))
    rows.append(("DNS servers", _addrs(list(nic.dns_servers))))
    rows.append(("DNS suffix", safe_text(nic.dns_suffix or "-")))
    rows.append(("DNS registration", f"{_yes(nic.register_dns)}, with suffix "
                                     f"{_yes(nic.register_adapter_name)}"))
    rows.append(("WINS servers", _addrs(list(nic.wins_servers))))
    rows.append(("NetBIOS", nic.netbios.name.lower()))
    rows.append(("interface metric", "automatic" if not nic.interface_metric
                 else str(nic.interface_metric)))
    if nic.mac_override:
        rows.append(("MAC override", nic.mac_override))
    rows.append(("IPv6 static", _addrs(list(nic.ipv6))))
    rows.append(("IPv6 DNS servers", _addrs(list(nic.ipv6_dns_servers))))
    lease = nic.dhcp_lease
    if lease is not None:
        rows.append(("DHCP lease", f"{lease.address or '-'}/{lease.subnet_mask or '-'} from "
                                   f"{lease.server or '-'}, gateways {_addrs(list(lease.gateways))}"
                                   f", DNS {_addrs(list(lease.dns_servers))}, "
                                   f"{lease.lease_seconds} s"))
    for w in nic.warnings:
        rows.append(("warning", safe_text(w)))
    for label, text in rows:
        print(f"  {label:<17} {text}")


def cmd_show(args: argparse.Namespace) -> int:
    from ..windows.network import interfaces_to_migrate

    nics, settings = _read(args)
    chosen = {n.guid for n in interfaces_to_migrate(nics)}
    if args.json:
        print_json({"global": settings.to_dict(),
                    "interfaces": [n.to_dict() for n in nics],
                    "migrate": [n.guid for n in nics if n.guid in chosen]})
        return 0
    _print_settings(settings)
    if not nics:
        print("\n(no TCP/IP interfaces in this control set)")
    for nic in nics:
        print()
        _print_interface(nic, nic.guid in chosen)
    return 0


def _match_arg(specs: list[str] | None) -> str | dict[str, str]:
    if not specs:
        return "new-adapter"
    mapped = [s for s in specs if "=" in s]
    if not mapped:
        if len(specs) > 1:
            raise UsageError("give --match once, or once per interface as GUID=SPEC")
        return specs[0]
    if len(mapped) != len(specs):
        raise UsageError("mix of --match SPEC and --match GUID=SPEC; use GUID=SPEC for all")
    out: dict[str, str] = {}
    for spec in specs:
        guid, _, how = spec.partition("=")
        out[guid.strip()] = how.strip()
    return out


def cmd_script(args: argparse.Namespace) -> int:
    from ..convert.netscript import build_script
    from ..windows.netsettings import normalize_guid
    from ..windows.network import interfaces_to_migrate

    nics, settings = _read(args)
    if args.interface:
        by_guid = {n.guid: n for n in nics}
        chosen = []
        for guid in args.interface:
            norm = normalize_guid(guid)
            if norm is None or norm not in by_guid:
                raise CommandError(f"no TCP/IP interface {guid} in this control set (see "
                                   "'winmigrate net show')")
            chosen.append(by_guid[norm])
    else:
        chosen = interfaces_to_migrate(nics)
    if not chosen:
        raise CommandError("no interface has static settings to re-apply; pick one with "
                           "--interface GUID (see 'winmigrate net show')")
    match = _match_arg(args.match)
    if isinstance(match, dict) and not args.interface:
        # A GUID=SPEC mapping also says which interfaces to re-apply.
        by_guid = {n.guid: n for n in nics}
        chosen = []
        for guid in match:
            norm = normalize_guid(guid)
            if norm is None or norm not in by_guid:
                raise CommandError(f"no TCP/IP interface {guid} in this control set (see "
                                   "'winmigrate net show')")
            chosen.append(by_guid[norm])
    script = build_script(chosen, target=args.target, match=match,
                          known_guids=[n.guid for n in nics], log_file=args.log_file,
                          wait=args.wait, codepage=_codepage(settings.oem_codepage))
    for nic in chosen:
        for w in nic.warnings:
            print(f"winmigrate: warning: {nic.guid}: {safe_text(w)}", file=sys.stderr)
    for w in script.warnings:
        print(f"winmigrate: warning: {safe_text(w)}", file=sys.stderr)
    if script.encoding != "ascii":
        print(f"winmigrate: note: the script is encoded in the guest's OEM code page "
              f"({script.encoding}), the one cmd reads it in", file=sys.stderr)
    if args.output:
        with open(args.output, "wb") as f:
            f.write(script.to_bytes())
        names = ", ".join(n.guid for n in chosen)
        print(f"winmigrate: wrote {args.output} ({args.target}) for {names}", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(script.to_bytes())
        sys.stdout.buffer.flush()
    return 0


def _codepage(number: int | None) -> int | None:
    """The guest's OEM code page when Python has a codec for it (else ASCII names only)."""
    from ..convert.netscript import codepage_codec

    return number if codepage_codec(number) is not None else None
