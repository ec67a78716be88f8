"""First-boot scripts that re-apply network settings read by ``winmigrate.network``.

Two targets:

``powershell`` (Windows Server 2012 / Windows 8 and later)
    NetTCPIP and DnsClient cmdlets (``New-NetIPAddress``, ``New-NetRoute``,
    ``Set-DnsClientServerAddress``, ``Set-DnsClient``, ``Set-NetIPInterface``,
    ``Rename-NetAdapter``), CIM ``Win32_NetworkAdapterConfiguration.SetTcpipNetbios`` for NetBIOS
    and ``netsh interface ipv4 ... winsservers`` for WINS (neither has a cmdlet).
``netsh`` (Windows Server 2003 to 2008 R2)
    A cmd batch file: ``netsh interface ip``/``ipv6`` for addresses, gateways, DNS and WINS,
    ``wmic nicconfig`` where netsh cannot (NetBIOS, the connection-specific DNS suffix, the
    interface metric), ``reg`` for the old adapter's registry values.

Either script finds the new adapter (by MAC, or as the one present adapter whose GUID the old
hive does not know -- waiting up to ``wait`` seconds for it to appear, failing with a logged
message when there is none or more than one), clears the old adapter's addresses and connection
name in the registry (so Windows does not report the address as in use by a hidden adapter and
the name can be reused), applies every setting, renames the connection to the old name, logs
each step to a file and exits non-zero if anything failed.

Quoting (the rules docs/network.md states):

* PowerShell: every value from the hive is a single-quoted string literal, ``'`` doubled;
  characters outside printable ASCII are written as ``[char]0xNNNN`` joined with ``+``, so the
  script is pure ASCII (no code-page surprises) and no quote look-alike (U+2018...) or line
  break can end a literal. Addresses and numbers are re-rendered from ``ipaddress``/``int``.
* cmd: a hive string is written only inside double quotes, where cmd takes ``& | < > ^``
  literally; the script disables delayed expansion (so ``!`` is literal too) and every ``%`` is
  written doubled (a batch file turns ``%%`` into ``%``). A string with a double quote, a control
  character or a final ``\\``, or with a character the script's code page cannot encode, is not
  written at all (the step is skipped with a warning in the script and its log). The code page is
  the guest's OEM code page (``Control\\Nls\\CodePage\\OEMCP``, the one cmd reads batch files
  in): given as ``codepage``, connection names such as ``Connexion au réseau local`` are carried
  and the script is encoded in it (``Script.encoding``); without it, printable ASCII only.
  Commands never see hive strings as adapter handles: the new adapter is renamed to a fixed
  temporary name first, whatever it was called, through a ``for`` variable (expanded after cmd
  has parsed the line). Log lines and comments carry a sanitised ASCII copy (``?`` for anything
  else).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import TYPE_CHECKING, Literal

from .errors import UsageError
from .network import NET_CLASS_GUID, Interface, NetbiosMode, normalize_guid

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["Match", "Script", "Target", "build_script", "cmd_quote", "cmd_safe", "codepage_codec",
           "ps_quote"]

Target = Literal["powershell", "netsh"]
Match = str | Mapping[str, str]

_MAC_RE = re.compile(r"^(?:[0-9A-Fa-f]{2}[-:]?){5}[0-9A-Fa-f]{2}$")
_DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
                          r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$")
_CMD_FORBIDDEN = frozenset('"%!^&|<>')
_TCPIP_KEY = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces"
_CONN_KEY = rf"SYSTEM\CurrentControlSet\Control\Network\{NET_CLASS_GUID}"
_OLD_SUFFIX = " (old adapter)"


@dataclass(frozen=True)
class Script:
    """A generated script: ``text`` (``newline``-separated) and the ``warnings`` about settings
    it could not carry (also written into the script as comments and log lines). ``encoding``
    is how the file must be saved: ``ascii``, or for a netsh script carrying non-ASCII names the
    guest's OEM code page (``cp850``...), the one cmd reads batch files in."""

    text: str
    target: str
    warnings: tuple[str, ...] = ()
    encoding: str = "ascii"

    def to_bytes(self) -> bytes:
        return self.text.encode(self.encoding)


# -- quoting -----------------------------------------------------------------------------------


def ps_quote(text: str) -> str:
    """A PowerShell expression whose value is exactly ``text``: a single-quoted literal (``'``
    doubled) for printable ASCII, ``[char]0xNNNN`` (UTF-16 code units) for anything else."""
    parts: list[str] = []
    buf: list[str] = []
    units = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(units), 2):
        unit = units[i] | units[i + 1] << 8
        if 0x20 <= unit <= 0x7E:
            buf.append("''" if unit == 0x27 else chr(unit))
            continue
        if buf:
            parts.append("'" + "".join(buf) + "'")
            buf = []
        parts.append(f"[char]0x{unit:04X}")
    if buf or not parts:
        parts.append("'" + "".join(buf) + "'")
    if len(parts) == 1 and parts[0].startswith("'"):
        return parts[0]
    return "(" + " + ".join(["''", *parts]) + ")"  # a string first, so + concatenates


def _ps_comment(text: str) -> str:
    return "".join(ch if 0x20 <= ord(ch) <= 0x7E else "?" for ch in text)


def cmd_safe(text: str, codepage: int | None = None) -> bool:
    """Whether ``text`` may be written (through ``cmd_quote``) inside double quotes in the
    scripts' batch files, saved in OEM code page ``codepage`` (printable ASCII when ``None``):
    not empty, no double quote (nothing escapes one inside quotes), no control character, every
    character encodable, and no final backslash (which would escape the closing quote for
    programs that parse their command line the C way)."""
    if not text or text.endswith("\\") or '"' in text:
        return False
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029" for ch in text):
        return False
    if text.isascii():
        return True
    codec = codepage_codec(codepage)
    if codec is None:
        return False
    try:
        return text.encode(codec).decode(codec) == text
    except UnicodeError:
        return False


def cmd_quote(text: str) -> str:
    """``text`` for a double-quoted batch argument (``cmd_safe`` must hold): ``%`` doubled; in
    quotes ``& | < > ^`` are literal, and ``!`` is too with delayed expansion disabled."""
    return '"' + text.replace("%", "%%") + '"'


def _plain(text: str) -> bool:
    """Printable ASCII without ``" % ! ^ & | < >`` (for the log file path, which is expanded
    from a variable in several places)."""
    return (bool(text) and all(0x20 <= ord(ch) <= 0x7E and ch not in _CMD_FORBIDDEN
                               for ch in text) and not text.endswith("\\"))


def codepage_codec(codepage: int | None) -> str | None:
    """The Python codec of Windows code page ``codepage``, when there is one."""
    if codepage is None or isinstance(codepage, bool) or not isinstance(codepage, int):
        return None
    import codecs

    try:
        return codecs.lookup(f"cp{codepage}").name
    except LookupError:
        return None


def _cmd_text(text: str) -> str:
    """Text for an unquoted ``echo``: printable ASCII with cmd's specials escaped; ``?`` for
    control and non-ASCII characters and for ``%``/``!`` (never expanded)."""
    out = []
    for ch in text:
        if not 0x20 <= ord(ch) <= 0x7E or ch in "%!":
            out.append("?")
        elif ch in '^&|<>()"':
            out.append("^" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _cmd_comment(text: str) -> str:
    return "".join("?" if not 0x20 <= ord(ch) <= 0x7E or ch in '%!^&|<>()"' else ch
                   for ch in text)


# -- argument checks ---------------------------------------------------------------------------


def _parse_match(spec: str) -> str | None:
    """``"new-adapter"`` -> ``None``; ``"mac:aa:bb:cc:dd:ee:ff"`` -> ``"AABBCCDDEEFF"``."""
    s = spec.strip()
    if s.lower() == "new-adapter":
        return None
    if s.lower().startswith("mac:"):
        mac = s[4:].strip()
        if _MAC_RE.match(mac):
            return re.sub(r"[-:]", "", mac).upper()
    raise UsageError(f"bad match {spec!r}: give 'new-adapter' or 'mac:aa:bb:cc:dd:ee:ff'")


def _matches(nics: Sequence[Interface], match: Match) -> list[str | None]:
    if isinstance(match, str):
        mac = _parse_match(match)
        if len(nics) > 1:
            how = "new-adapter" if mac is None else "one MAC address"
            raise UsageError(f"{how} can place only one interface, not {len(nics)}: give a "
                             "mapping {GUID: 'mac:...'} (CLI: --match GUID=mac:...)")
        return [mac] * len(nics)
    by_guid: dict[str, str | None] = {}
    for guid, spec in match.items():
        norm = normalize_guid(guid)
        if norm is None:
            raise UsageError(f"bad GUID in match: {guid!r}")
        by_guid[norm] = _parse_match(spec)
    out: list[str | None] = []
    for nic in nics:
        if nic.guid not in by_guid:
            raise UsageError(f"no match given for interface {nic.guid}")
        out.append(by_guid[nic.guid])
    if sum(m is None for m in out) > 1:
        raise UsageError("new-adapter can place only one interface")
    macs = [m for m in out if m is not None]
    if len(set(macs)) != len(macs):
        raise UsageError("two interfaces matched to the same MAC address")
    return out


def _check_nic(nic: Interface) -> None:
    """The script writes GUIDs and addresses without quoting them for data: make sure they are
    what their types say (an ``Interface`` built by hand could hold anything)."""
    if normalize_guid(nic.guid) != nic.guid:
        raise UsageError(f"interface GUID {nic.guid!r} is not of the form {{XXXXXXXX-...}}")
    kinds: list[tuple[object, type | tuple[type, ...]]] = [
        *((i, IPv4Interface) for i in nic.ipv4), *((g.address, IPv4Address) for g in nic.gateways),
        *((a, (IPv4Address, IPv6Address)) for a in nic.dns_servers),
        *((a, IPv4Address) for a in nic.wins_servers), *((i, IPv6Interface) for i in nic.ipv6),
        *((a, IPv6Address) for a in nic.ipv6_dns_servers)]
    for value, kind in kinds:
        if not isinstance(value, kind) or "%" in str(value):
            raise UsageError(f"{nic.guid}: {value!r} is not an address of the expected kind")
    for g in nic.gateways:
        if g.metric is not None and not isinstance(g.metric, int):
            raise UsageError(f"{nic.guid}: gateway metric {g.metric!r} is not an int")
    if nic.interface_metric is not None and not isinstance(nic.interface_metric, int):
        raise UsageError(f"{nic.guid}: interface metric {nic.interface_metric!r} is not an int")


def _known(nics: Sequence[Interface], known_guids: Iterable[str]) -> list[str]:
    out: list[str] = []
    for guid in [*known_guids, *(n.guid for n in nics)]:
        norm = normalize_guid(guid)
        if norm is None:
            raise UsageError(f"not a GUID: {guid!r}")
        if norm not in out:
            out.append(norm)
    return out


def _dns_all(nic: Interface) -> tuple[list[str], list[str]]:
    v4 = [str(a) for a in nic.dns_servers if isinstance(a, IPv4Address)]
    v6 = [str(a) for a in nic.dns_servers if isinstance(a, IPv6Address)]
    v6 += [str(a) for a in nic.ipv6_dns_servers if str(a) not in v6]
    return v4, v6


def _register_mode(nic: Interface) -> str:
    """netsh's ``register=``: none, primary (this connection's addresses) or both (also under
    the connection-specific suffix, ``RegisterAdapterName``)."""
    if not nic.register_dns:
        return "none"
    return "both" if nic.register_adapter_name else "primary"


def _describe(nic: Interface) -> str:
    bits = [nic.guid]
    if nic.name:
        bits.append(repr(nic.name))
    if nic.driver_desc:
        bits.append(f"({nic.driver_desc})")
    if nic.is_xen:
        bits.append("[Xen PV]")
    return " ".join(bits)


# -- the builder -----------------------------------------------------------------------------


def build_script(nics: Sequence[Interface], *, target: Target = "powershell",
                 match: Match = "new-adapter", known_guids: Iterable[str] = (),
                 log_file: str | None = None, newline: str = "\r\n",
                 wait: int = 60, codepage: int | None = None) -> Script:
    """The first-boot script that re-applies ``nics``.

    ``match`` says how each interface finds its new adapter: ``"new-adapter"`` (the one present
    physical adapter whose GUID is neither an interface's nor in ``known_guids`` -- pass every
    GUID of the old hive), ``"mac:aa:bb:cc:dd:ee:ff"``, or for several interfaces a mapping
    ``{GUID: "mac:..."}`` (at most one ``"new-adapter"``). ``log_file`` defaults to
    ``%SystemRoot%\\KvmConv\\winmigrate-net.log``; ``wait`` is how long to wait for the new
    adapter to appear. ``codepage`` is the guest's OEM code page (``GlobalSettings.oem_codepage``)
    for a netsh script: non-ASCII connection names it can encode are carried, and the script must
    be saved in it (``Script.encoding``, ``Script.to_bytes``). Raises ``UsageError`` for bad
    arguments; settings a target cannot carry safely are left out with a warning instead."""
    if target not in ("powershell", "netsh"):
        raise UsageError(f"unknown target {target!r}: powershell or netsh")
    if newline not in ("\r\n", "\n"):
        raise UsageError("newline must be '\\r\\n' or '\\n'")
    if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= 3600:
        raise UsageError("wait must be a number of seconds from 0 to 3600")
    nics = list(nics)
    for nic in nics:
        _check_nic(nic)
    if len({n.guid for n in nics}) != len(nics):
        raise UsageError("an interface is listed twice")
    macs = _matches(nics, match)
    known = _known(nics, known_guids)
    if log_file is not None and (not _plain(log_file) or "'" in log_file):
        raise UsageError(f"log file path {log_file!r} has characters a script cannot carry "
                         "safely (quotes, % ! ^ & | < >, control or non-ASCII characters)")
    codec = codepage_codec(codepage) if target == "netsh" else None
    if target == "netsh" and codepage is not None and codec is None:
        raise UsageError(f"code page {codepage!r} is not one Python can encode")
    if target == "powershell":
        builder: _Builder = _PowerShell(log_file, wait)
    else:
        builder = _Cmd(log_file, wait, codepage if codec is not None else None)
    lines = builder.build(nics, macs, known)
    text = newline.join(lines) + newline
    encoding = "ascii" if text.isascii() or codec is None else codec
    return Script(text, target, tuple(builder.warnings), encoding)


class _Builder:
    def __init__(self, log_file: str | None, wait: int) -> None:
        self.log_file = log_file
        self.wait = wait
        self.warnings: list[str] = []
        self.lines: list[str] = []

    def warn(self, nic: Interface, message: str) -> str:
        text = f"{nic.guid}: {message}"
        self.warnings.append(text)
        return text

    def build(self, nics: list[Interface], macs: list[str | None],
              known: list[str]) -> list[str]:
        raise NotImplementedError


# -- PowerShell ---------------------------------------------------------------------------------

_PS_HEADER = r"""
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0
$Failures = 0

function Write-Log {
    param([string]$Message)
    $line = (Get-Date).ToString('yyyy-MM-dd HH:mm:ss') + ' ' + $Message
    Write-Output $line
    try {
        $dir = Split-Path -Parent $LogFile
        if ($dir -and -not (Test-Path -LiteralPath $dir)) {
            New-Item -ItemType Directory -Path $dir -Force | Out-Null
        }
        Add-Content -LiteralPath $LogFile -Value $line -Encoding UTF8
    } catch { }
}

function Invoke-Step {
    param([string]$What, [scriptblock]$Action)
    Write-Log ('  ' + $What)
    try {
        & $Action
    } catch {
        Write-Log ('  FAILED: ' + $What + ': ' + $_.Exception.Message)
        $script:Failures++
    }
}

function Find-TargetAdapter {
    # The present physical adapter with this MAC, or (no MAC) the one the old hive did not know.
    param([string]$Mac)
    $deadline = (Get-Date).AddSeconds($WaitSeconds)
    while ($true) {
        $present = @(Get-NetAdapter -Physical -ErrorAction SilentlyContinue)
        if ($Mac) {
            $how = 'with MAC ' + $Mac
            $found = @($present | Where-Object { ($_.MacAddress -replace '[-:]', '') -eq $Mac })
        } else {
            $how = 'not known to the old hive'
            $found = @($present | Where-Object {
                $KnownGuids -notcontains ([string]$_.InterfaceGuid).ToUpperInvariant() })
        }
        if ($found.Count -ne 0 -or (Get-Date) -ge $deadline) { break }
        Start-Sleep -Seconds 5
    }
    if ($found.Count -ne 1) {
        $list = ($found | ForEach-Object { $_.Name + ' ' + $_.InterfaceGuid }) -join '; '
        throw ('expected exactly one present physical adapter ' + $how + ', found ' +
               $found.Count + ' ' + $list)
    }
    return $found[0]
}

function Get-NicConfig {
    param([int]$Index)
    $filter = 'InterfaceIndex=' + $Index
    return Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter $filter
}
""".strip("\n")


class _PowerShell(_Builder):
    def build(self, nics: list[Interface], macs: list[str | None],
              known: list[str]) -> list[str]:
        out = self.lines
        from . import __version__

        out += [
            "# winmigrate: re-apply network settings on the first boot after the move to KVM.",
            "# Target: PowerShell NetTCPIP/DnsClient cmdlets (Windows Server 2012 and later).",
            f"# Generated by winmigrate {__version__}. Every value taken from the hive is a "
            "single-quoted",
            "# literal (see docs/network.md); run: powershell -ExecutionPolicy Bypass -File "
            "<this file>",
            "#Requires -Version 3.0",
        ]
        log = ps_quote(self.log_file) if self.log_file else \
            "(Join-Path $env:SystemRoot 'KvmConv\\winmigrate-net.log')"
        out.append(f"$LogFile = {log}")
        out.append(f"$WaitSeconds = {self.wait}")
        out.append("$KnownGuids = @(" + ", ".join(ps_quote(g) for g in known) + ")")
        out.extend(_PS_HEADER.splitlines())
        out.append("")
        out.append(f"Write-Log {ps_quote(f'winmigrate: re-applying {len(nics)} interface(s)')}")
        for number, (nic, mac) in enumerate(zip(nics, macs, strict=True), 1):
            self.interface(number, len(nics), nic, mac)
        out += [
            "",
            "if ($Failures -gt 0) {",
            "    Write-Log ('winmigrate: finished with ' + $Failures + ' failure(s)')",
            "    exit 1",
            "}",
            "Write-Log 'winmigrate: finished, every setting applied'",
            "exit 0",
        ]
        return out

    def step(self, what: str, body: list[str]) -> None:
        self.lines.append(f"    Invoke-Step {ps_quote(what)} {{")
        self.lines.extend("        " + line for line in body)
        self.lines.append("    }")

    def log(self, message: str, indent: str = "    ") -> None:
        self.lines.append(f"{indent}Write-Log {ps_quote(message)}")

    def interface(self, number: int, total: int, nic: Interface, mac: str | None) -> None:
        out = self.lines
        q = ps_quote
        out.append("")
        out.append(f"# --- interface {number} of {total}: {_ps_comment(_describe(nic))}")
        out.append(f"Write-Log {q(f'interface {number}: {_describe(nic)}')}")
        out.append("$nic = $null")
        out.append("try {")
        out.append(f"    $nic = Find-TargetAdapter -Mac {q(mac or '')}")
        out.append("} catch {")
        out.append(f"    Write-Log ({q(f'FAILED: no adapter for {nic.guid}: ')} + "
                   "$_.Exception.Message + ' (its settings are not applied)')")
        out.append("    $Failures++")
        out.append("}")
        out.append(f"if ($null -ne $nic -and ([string]$nic.InterfaceGuid).ToUpperInvariant() "
                   f"-eq {q(nic.guid)}) {{")
        self.log("the adapter is the original one: its settings are already there")
        out.append("    $nic = $null")
        out.append("}")
        out.append("if ($null -ne $nic) {")
        out.append("    $idx = $nic.ifIndex")
        out.append("    Write-Log ('  adapter ' + $nic.Name + ', ifIndex ' + $idx + ', MAC ' + "
                   "$nic.MacAddress + ', ' + $nic.InterfaceGuid)")
        self.ghost(nic)
        self.ipv4(nic)
        self.dns(nic)
        self.wins_netbios(nic)
        if nic.interface_metric:
            self.step(f"interface metric {nic.interface_metric}",
                      [f"Set-NetIPInterface -InterfaceIndex $idx -AddressFamily IPv4 "
                       f"-InterfaceMetric {int(nic.interface_metric)}"])
        for addr in nic.ipv6:
            self.step(f"static IPv6 address {addr}",
                      [f"New-NetIPAddress -InterfaceIndex $idx -AddressFamily IPv6 -IPAddress "
                       f"{q(str(addr.ip))} -PrefixLength {addr.network.prefixlen} | Out-Null"])
        if nic.mac_override:
            self.log(self.warn(nic, f"MAC override {nic.mac_override} not re-applied (the "
                                    "hypervisor assigns the new MAC)"))
        if nic.name:
            self.step(f"rename the connection to {nic.name}", [
                f"if ($nic.Name -ne {q(nic.name)}) {{",
                f"    Rename-NetAdapter -InputObject $nic -NewName {q(nic.name)}",
                "}"])
        out.append("}")

    def ghost(self, nic: Interface) -> None:
        q = ps_quote
        tcpip = q(f"HKLM:\\{_TCPIP_KEY}\\{nic.guid}")
        body = [
            f"$old = {tcpip}",
            "if (Test-Path -LiteralPath $old) {",
            "    Set-ItemProperty -LiteralPath $old -Name 'EnableDHCP' -Value 1 -Type DWord",
            "    Set-ItemProperty -LiteralPath $old -Name 'IPAddress' -Value @('0.0.0.0') "
            "-Type MultiString",
            "    Set-ItemProperty -LiteralPath $old -Name 'SubnetMask' -Value @('0.0.0.0') "
            "-Type MultiString",
            "    Remove-ItemProperty -LiteralPath $old -Name 'DefaultGateway', "
            "'DefaultGatewayMetric' -ErrorAction SilentlyContinue",
            "}",
        ]
        if nic.name:
            conn = "HKLM:\\" + _CONN_KEY + "\\" + nic.guid + "\\Connection"
            body += [
                f"$conn = {q(conn)}",
                "if (Test-Path -LiteralPath $conn) {",
                f"    Set-ItemProperty -LiteralPath $conn -Name 'Name' -Value "
                f"{q(nic.name + _OLD_SUFFIX)}",
                "}",
            ]
        self.step(f"clear the old adapter {nic.guid} (addresses, connection name)", body)

    def ipv4(self, nic: Interface) -> None:
        q = ps_quote
        if nic.dhcp:
            self.step("IPv4 from DHCP", [
                "Set-NetIPInterface -InterfaceIndex $idx -AddressFamily IPv4 -Dhcp Enabled"])
            return
        self.step("IPv4: DHCP off, existing IPv4 addresses and default routes removed", [
            "Set-NetIPInterface -InterfaceIndex $idx -AddressFamily IPv4 -Dhcp Disabled",
            "Get-NetIPAddress -InterfaceIndex $idx -AddressFamily IPv4 -ErrorAction "
            "SilentlyContinue | Remove-NetIPAddress -Confirm:$false -ErrorAction SilentlyContinue",
            "Get-NetRoute -InterfaceIndex $idx -DestinationPrefix '0.0.0.0/0' -ErrorAction "
            "SilentlyContinue | Remove-NetRoute -Confirm:$false -ErrorAction SilentlyContinue",
        ])
        for addr in nic.ipv4:
            self.step(f"static IPv4 address {addr}", [
                f"New-NetIPAddress -InterfaceIndex $idx -AddressFamily IPv4 -IPAddress "
                f"{q(str(addr.ip))} -PrefixLength {addr.network.prefixlen} | Out-Null"])
        for gw in nic.gateways:
            metric = "" if gw.metric is None else f" -RouteMetric {int(gw.metric)}"
            shown = "" if gw.metric is None else f" metric {gw.metric}"
            self.step(f"default gateway {gw.address}{shown}", [
                f"New-NetRoute -InterfaceIndex $idx -AddressFamily IPv4 -DestinationPrefix "
                f"'0.0.0.0/0' -NextHop {q(str(gw.address))}{metric} | Out-Null"])

    def dns(self, nic: Interface) -> None:
        q = ps_quote
        v4, v6 = _dns_all(nic)
        servers = v4 + v6
        if servers:
            self.step("DNS servers " + ", ".join(servers), [
                "Set-DnsClientServerAddress -InterfaceIndex $idx -ServerAddresses @("
                + ", ".join(q(s) for s in servers) + ")"])
        else:
            self.step("DNS servers: none set by hand (from DHCP, if any)", [
                "Set-DnsClientServerAddress -InterfaceIndex $idx -ResetServerAddresses"])
        args = (f"-ConnectionSpecificSuffix {q(nic.dns_suffix or '')} "
                f"-RegisterThisConnectionsAddress ${str(nic.register_dns).lower()}")
        if nic.register_adapter_name is not None:
            args += f" -UseSuffixWhenRegistering ${str(nic.register_adapter_name).lower()}"
        self.step(f"DNS suffix {nic.dns_suffix or '(none)'}, dynamic registration "
                  f"{'on' if nic.register_dns else 'off'}",
                  [f"Set-DnsClient -InterfaceIndex $idx {args}"])

    def wins_netbios(self, nic: Interface) -> None:
        if nic.wins_servers:
            body = []
            for i, server in enumerate(nic.wins_servers, 1):
                if i == 1:
                    body.append(f"& netsh.exe interface ipv4 set winsservers ('name=' + $idx) "
                                f"'source=static' 'address={server}'")
                else:
                    body.append(f"& netsh.exe interface ipv4 add winsservers ('name=' + $idx) "
                                f"'address={server}' 'index={i}'")
                body.append("if ($LASTEXITCODE -ne 0) { throw ('netsh exit code ' + "
                            "$LASTEXITCODE) }")
            self.step("WINS servers " + ", ".join(map(str, nic.wins_servers)), body)
        mode = NetbiosMode(nic.netbios)
        self.step(f"NetBIOS over TCP/IP: {mode.name.lower()}", [
            "$r = Invoke-CimMethod -InputObject (Get-NicConfig $idx) -MethodName "
            f"SetTcpipNetbios -Arguments @{{ TcpipNetbiosOptions = [uint32]{int(mode)} }}",
            "if ($r.ReturnValue -ne 0) { throw ('SetTcpipNetbios returned ' + $r.ReturnValue) }"])


# -- cmd + netsh ----------------------------------------------------------------------------------

_CMD_SUBROUTINES = r"""
:wm_find_mac
rem %1 = the MAC (AA:BB:CC:DD:EE:FF, checked when generated); sets WM_COUNT, WM_INDEX, WM_GUID
set "WM_COUNT=0"
set "WM_INDEX="
set "WM_GUID="
for /f "tokens=1,* delims==" %%A in (
  'wmic nicconfig where "MACAddress='%~1'" get Index^,SettingID /value ^<nul 2^>nul'
) do (
  for /f "delims=" %%C in ("%%B") do (
    if /i "%%A"=="Index" (set "WM_INDEX=%%C" & set /a WM_COUNT+=1 >nul)
    if /i "%%A"=="SettingID" set "WM_GUID=%%C"
  )
)
if "%WM_COUNT%"=="0" if %WM_WAITED% lss %WM_WAIT% (
  set /a WM_WAITED+=5 >nul
  ping -n 6 127.0.0.1 >nul
  goto wm_find_mac
)
goto :eof

:wm_find_new
rem Present IP-enabled adapters whose GUID is not in WM_KNOWN; sets WM_COUNT, WM_INDEX, WM_GUID
set "WM_COUNT=0"
set "WM_INDEX="
set "WM_GUID="
set "WM_CUR="
for /f "tokens=1,* delims==" %%A in (
  'wmic nicconfig where "IPEnabled=TRUE" get Index^,SettingID /value ^<nul 2^>nul'
) do (
  for /f "delims=" %%C in ("%%B") do (
    if /i "%%A"=="Index" set "WM_CUR=%%C"
    if /i "%%A"=="SettingID" call :wm_consider "%%C"
  )
)
if "%WM_COUNT%"=="0" if %WM_WAITED% lss %WM_WAIT% (
  set /a WM_WAITED+=5 >nul
  ping -n 6 127.0.0.1 >nul
  goto wm_find_new
)
goto :eof

:wm_consider
echo %WM_KNOWN%| findstr /i /l /c:";%~1;" >nul && goto :eof
set /a WM_COUNT+=1 >nul
set "WM_INDEX=%WM_CUR%"
set "WM_GUID=%~1"
>>"%WM_LOG%" echo(%DATE% %TIME%   candidate: %~1, index %WM_CUR%
goto :eof

:wm_take
rem %1 = a temporary connection name; the adapter WM_INDEX gets it (its own name kept in WM_ORIG)
set "WM_TAKEN="
set "WM_ORIG="
for /f "tokens=1,* delims==" %%A in (
  'wmic nic where "Index=%WM_INDEX%" get NetConnectionID /value ^<nul 2^>nul'
) do (
  for /f "delims=" %%C in ("%%B") do (
    if /i "%%A"=="NetConnectionID" (
      set "WM_ORIG=%%C"
      >>"%WM_LOG%" echo(%DATE% %TIME%   adapter index %WM_INDEX%, connection %%C
      if "%%C"=="%~1" (set "WM_TAKEN=1") else (
        netsh interface set interface name="%%C" newname="%~1" >>"%WM_LOG%" 2>&1 && set "WM_TAKEN=1"
      )
    )
  )
)
goto :eof

:wm_restore
rem %1 = the temporary name; the adapter gets back the name it had (read through a for variable)
for /f "tokens=1,* delims==" %%A in ('set WM_ORIG 2^>nul') do (
  if /i "%%A"=="WM_ORIG" netsh interface set interface name="%~1" newname="%%B" >>"%WM_LOG%" 2>&1
)
goto :eof

:wm_fail
set /a WM_FAILED+=1 >nul
>>"%WM_LOG%" echo(%DATE% %TIME%   FAILED (exit code %ERRORLEVEL%)
echo(  FAILED (exit code %ERRORLEVEL%)
goto :eof
""".strip("\n")


class _Cmd(_Builder):
    def __init__(self, log_file: str | None, wait: int, codepage: int | None) -> None:
        super().__init__(log_file, wait)
        self.codepage = codepage

    def build(self, nics: list[Interface], macs: list[str | None],
              known: list[str]) -> list[str]:
        out = self.lines
        from . import __version__

        out += [
            "@echo off",
            "rem winmigrate: re-apply network settings on the first boot after the move to KVM.",
            "rem Target: netsh + wmic + reg (Windows Server 2003 to 2008 R2). Generated by "
            f"winmigrate {__version__}.",
            "rem Values from the hive are checked for cmd before they are written "
            "(see docs/network.md).",
            "setlocal EnableExtensions DisableDelayedExpansion",
        ]
        if self.log_file:
            out.append(f'set "WM_LOG={self.log_file}"')
        else:
            out.append('set "WM_LOG=%SystemRoot%\\KvmConv\\winmigrate-net.log"')
        out += [
            'for %%F in ("%WM_LOG%") do if not exist "%%~dpF" mkdir "%%~dpF" 2>nul',
            'set "WM_FAILED=0"',
            f'set "WM_WAIT={self.wait}"',
            'set "WM_KNOWN=;' + ";".join(known) + ';"',
        ]
        self.log(f"winmigrate: re-applying {len(nics)} interface(s)")
        for number, (nic, mac) in enumerate(zip(nics, macs, strict=True), 1):
            self.interface(number, len(nics), nic, mac)
        out.append("")
        out.append('if not "%WM_FAILED%"=="0" goto wm_failed')
        self.log("winmigrate: finished, every setting applied")
        out.append("exit /b 0")
        out.append(":wm_failed")
        out.append('>>"%WM_LOG%" echo(%DATE% %TIME% winmigrate: finished with %WM_FAILED% '
                   "failure(s)")
        out.append("echo(winmigrate: finished with %WM_FAILED% failure(s)")
        out.append("exit /b 1")
        out.append("")
        out.extend(_CMD_SUBROUTINES.splitlines())
        return out

    def log(self, message: str) -> None:
        text = _cmd_text(message)
        self.lines.append(f"echo({text}")
        self.lines.append(f'>>"%WM_LOG%" echo(%DATE% %TIME% {text}')

    def run(self, what: str, command: str, *, check: bool = True) -> None:
        self.lines.append(f'>>"%WM_LOG%" echo(%DATE% %TIME%   {_cmd_text(what)}')
        self.lines.append(f'{command} >>"%WM_LOG%" 2>&1')
        if check:
            self.lines.append("if errorlevel 1 call :wm_fail")

    def interface(self, number: int, total: int, nic: Interface, mac: str | None) -> None:
        out = self.lines
        temp = f"winmigrate-nic-{number}"
        n = str(number)
        out.append("")
        out.append(f"rem ---- interface {number} of {total}: {_cmd_comment(_describe(nic))}")
        self.log(f"interface {number}: {_describe(nic)}")
        out.append('set "WM_WAITED=0"')
        if mac:
            colon = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
            out.append(f"call :wm_find_mac {colon}")
            how = f"with MAC {colon}"
        else:
            out.append("call :wm_find_new")
            how = "not known to the old hive"
        out.append(f'if not "%WM_COUNT%"=="1" goto wm_nomatch_{n}')
        out.append(f'if /i "%WM_GUID%"=="{nic.guid}" goto wm_same_{n}')
        out.append(f'call :wm_take "{temp}"')
        out.append(f"if not defined WM_TAKEN goto wm_notaken_{n}")
        self.ghost(nic, n)
        name = f'name="{temp}"'
        if nic.dhcp:
            self.run("IPv4 from DHCP", f"netsh interface ip set address {name} dhcp")
        else:
            for i, addr in enumerate(nic.ipv4):
                # The first replaces whatever the adapter had; "none" because 2003's netsh
                # wants a gateway there (the gateways follow, each with its metric).
                if i == 0:
                    command = f"set address {name} static {addr.ip} {addr.netmask} none"
                else:
                    command = f"add address {name} {addr.ip} {addr.netmask}"
                self.run(f"static IPv4 address {addr}", f"netsh interface ip {command}")
            for gw in nic.gateways:
                metric = 0 if gw.metric is None else int(gw.metric)
                self.run(f"default gateway {gw.address} metric {metric}",
                         f"netsh interface ip add address {name} gateway={gw.address} "
                         f"gwmetric={metric}")
        self.dns(nic, name)
        for i, server in enumerate(nic.wins_servers, 1):
            if i == 1:
                self.run(f"WINS server {server}",
                         f"netsh interface ip set wins {name} static {server}")
            else:
                self.run(f"WINS server {server}",
                         f"netsh interface ip add wins {name} {server} index={i}")
        mode = NetbiosMode(nic.netbios)
        self.run(f"NetBIOS over TCP/IP: {mode.name.lower()}",
                 f"wmic nicconfig where Index=%WM_INDEX% call SetTcpipNetbios {int(mode)} <nul")
        if nic.interface_metric:
            self.run(f"interface metric {nic.interface_metric}",
                     "wmic nicconfig where Index=%WM_INDEX% call SetIPConnectionMetric "
                     f"{int(nic.interface_metric)} <nul")
        for addr6 in nic.ipv6:
            self.run(f"static IPv6 address {addr6}",
                     f'netsh interface ipv6 add address interface="{temp}" {addr6}')
        if nic.mac_override:
            self.log(self.warn(nic, f"MAC override {nic.mac_override} not re-applied (the "
                                    "hypervisor assigns the new MAC)"))
        if nic.name and cmd_safe(nic.name, self.codepage):
            self.run(f"rename the connection to {nic.name}",
                     f'netsh interface set interface name="{temp}" newname='
                     f"{cmd_quote(nic.name)}", check=False)
            out.append(f'if errorlevel 1 (call :wm_fail & call :wm_restore "{temp}")')
        else:
            if nic.name:
                where = "ASCII" if self.codepage is None else f"code page {self.codepage}"
                self.log(self.warn(nic, "connection name not re-applied: it has characters "
                                        f"cmd cannot carry safely (in {where}); rename it by "
                                        f"hand to {nic.name!r}"))
            self.run("give the adapter back its own connection name",
                     f'call :wm_restore "{temp}"', check=False)
        out.append(f"goto wm_done_{n}")
        out.append(f":wm_nomatch_{n}")
        self.log(f"FAILED: expected exactly one present adapter {how}; settings of "
                 f"{nic.guid} not applied")
        out.append(">>\"%WM_LOG%\" echo(%DATE% %TIME%   adapters found: %WM_COUNT%")
        out.append("set /a WM_FAILED+=1 >nul")
        out.append(f"goto wm_done_{n}")
        out.append(f":wm_notaken_{n}")
        self.log(f"FAILED: could not rename the adapter to {temp}; settings of {nic.guid} "
                 "not applied")
        out.append('>>"%WM_LOG%" echo(%DATE% %TIME%   adapter index: %WM_INDEX%')
        out.append("set /a WM_FAILED+=1 >nul")
        out.append(f"goto wm_done_{n}")
        out.append(f":wm_same_{n}")
        self.log("the adapter is the original one: its settings are already there")
        out.append(f":wm_done_{n}")

    def ghost(self, nic: Interface, n: str) -> None:
        key = f"HKLM\\{_TCPIP_KEY}\\{nic.guid}"
        out = self.lines
        self.lines.append(f'reg query "{key}" >nul 2>&1')
        out.append(f"if errorlevel 1 goto wm_ghost_{n}")
        self.run(f"clear the old adapter {nic.guid}: EnableDHCP",
                 f'reg add "{key}" /v EnableDHCP /t REG_DWORD /d 1 /f')
        self.run("clear the old adapter: IPAddress",
                 f'reg add "{key}" /v IPAddress /t REG_MULTI_SZ /d "0.0.0.0" /f')
        self.run("clear the old adapter: SubnetMask",
                 f'reg add "{key}" /v SubnetMask /t REG_MULTI_SZ /d "0.0.0.0" /f')
        self.run("clear the old adapter: DefaultGateway",
                 f'reg delete "{key}" /v DefaultGateway /f', check=False)
        self.run("clear the old adapter: DefaultGatewayMetric",
                 f'reg delete "{key}" /v DefaultGatewayMetric /f', check=False)
        out.append(f":wm_ghost_{n}")
        if nic.name and cmd_safe(nic.name, self.codepage):  # a name the new adapter will take
            conn = f"HKLM\\{_CONN_KEY}\\{nic.guid}\\Connection"
            out.append(f'reg query "{conn}" >nul 2>&1')
            out.append(f"if errorlevel 1 goto wm_ghostname_{n}")
            self.run("rename the old adapter's connection",
                     f'reg add "{conn}" /v Name /t REG_SZ /d {cmd_quote(nic.name + _OLD_SUFFIX)} '
                     "/f")
            out.append(f":wm_ghostname_{n}")

    def dns(self, nic: Interface, name: str) -> None:
        v4, v6 = _dns_all(nic)
        register = _register_mode(nic)
        if v4:
            for i, server in enumerate(v4, 1):
                if i == 1:
                    self.run(f"DNS server {server}, registration {register}",
                             f"netsh interface ip set dns {name} static {server} {register}")
                else:
                    self.run(f"DNS server {server}",
                             f"netsh interface ip add dns {name} {server} index={i}")
        elif nic.dhcp:
            self.run(f"DNS servers from DHCP, registration {register}",
                     f"netsh interface ip set dns {name} source=dhcp register={register}")
        else:
            self.run(f"no DNS servers, registration {register}",
                     f"netsh interface ip set dns {name} static none {register}")
        for i, server in enumerate(v6, 1):
            self.run(f"IPv6 DNS server {server}",
                     f"netsh interface ipv6 add dnsservers {name} {server} index={i}")
        suffix = nic.dns_suffix
        if suffix:
            if cmd_safe(suffix) and _DNS_NAME_RE.match(suffix):
                self.run(f"DNS suffix {suffix}",
                         f'wmic nicconfig where Index=%WM_INDEX% call SetDNSDomain "{suffix}" <nul')
            else:
                self.log(self.warn(nic, f"DNS suffix {suffix!r} not applied: not a DNS name "
                                        "cmd can carry safely"))
