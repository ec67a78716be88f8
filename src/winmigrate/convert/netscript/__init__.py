"""First-boot scripts that re-apply network settings read by ``winmigrate.windows.network``.

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

from typing import TYPE_CHECKING

from ...errors import UsageError
from .cmd import CmdBuilder
from .common import Builder, Match, Script, Target, check_nic, known_guids_of, matches
from .powershell import PowerShellBuilder
from .quoting import cmd_quote, cmd_safe, codepage_codec, plain, ps_quote

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ...windows.netsettings import Interface

__all__ = ["Match", "Script", "Target", "apply_script", "build_script", "cmd_quote", "cmd_safe",
           "codepage_codec", "ps_quote"]


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
        check_nic(nic)
    if len({n.guid for n in nics}) != len(nics):
        raise UsageError("an interface is listed twice")
    macs = matches(nics, match)
    known = known_guids_of(nics, known_guids)
    if log_file is not None and (not plain(log_file) or "'" in log_file):
        raise UsageError(f"log file path {log_file!r} has characters a script cannot carry "
                         "safely (quotes, % ! ^ & | < >, control or non-ASCII characters)")
    codec = codepage_codec(codepage) if target == "netsh" else None
    if target == "netsh" and codepage is not None and codec is None:
        raise UsageError(f"code page {codepage!r} is not one Python can encode")
    if target == "powershell":
        builder: Builder = PowerShellBuilder(log_file, wait)
    else:
        builder = CmdBuilder(log_file, wait, codepage if codec is not None else None)
    lines = builder.build(nics, macs, known)
    text = newline.join(lines) + newline
    encoding = "ascii" if text.isascii() or codec is None else codec
    return Script(text, target, tuple(builder.warnings), encoding)


def apply_script(interfaces: Sequence[Interface], *, target: Target = "powershell",
                 match: Match = "new-adapter", known_guids: Iterable[str] = (),
                 log_file: str | None = None, newline: str = "\r\n", wait: int = 60,
                 codepage: int | None = None) -> str:
    """The text of ``build_script`` (a netsh script with non-ASCII names must be saved in
    ``codepage``: use ``build_script(...).to_bytes()`` for those)."""
    return build_script(interfaces, target=target, match=match, known_guids=known_guids,
                        log_file=log_file, newline=newline, wait=wait, codepage=codepage).text
