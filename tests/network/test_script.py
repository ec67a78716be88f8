"""``apply_script`` / ``build_script``: every setting with its command, for both targets, and
hostile hive values kept inert (checked with the independent tokenizer of scripttools)."""

from __future__ import annotations

import dataclasses
import re
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winmigrate import UsageError
from winmigrate.convert.netscript import apply_script, build_script, cmd_quote, cmd_safe, ps_quote
from winmigrate.windows.netsettings import Gateway, Interface, NetbiosMode
from winmigrate.windows.network import interfaces

from .fixtures import GUID_E1000, GUID_NONAME, GUID_XEN, standard_hive
from .scripttools import (
    cmd_check_marker,
    cmd_echo_text_ok,
    cmd_quoted,
    cmd_unquote,
    ps_check_script,
    ps_eval,
    ps_marker_only_in_literals,
    ps_tokens,
)


@pytest.fixture(scope="module")
def nics() -> dict[str, Interface]:
    return {n.guid: n for n in interfaces(standard_hive())}


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def has_line(lines: list[str], pattern: str) -> bool:
    rx = re.compile(pattern)
    return any(rx.fullmatch(line) for line in lines)


# -- PowerShell: every setting ---------------------------------------------------------------


def test_powershell_static_every_setting(nics: dict[str, Interface]) -> None:
    nic = nics[GUID_XEN]
    text = apply_script([nic], target="powershell", match="mac:52:54:00:AB:CD:EF",
                        known_guids=list(nics))
    ps_check_script(text)
    assert "\r\n" in text and not re.search(r"[^\r]\n", text)
    lines = lines_of(text)
    expect = [
        r"\$nic = Find-TargetAdapter -Mac '525400ABCDEF'",
        r"Set-NetIPInterface -InterfaceIndex \$idx -AddressFamily IPv4 -Dhcp Disabled",
        r"New-NetIPAddress -InterfaceIndex \$idx -AddressFamily IPv4 -IPAddress '192\.0\.2\.10' "
        r"-PrefixLength 24 \| Out-Null",
        r"New-NetIPAddress -InterfaceIndex \$idx -AddressFamily IPv4 -IPAddress '192\.0\.2\.11' "
        r"-PrefixLength 16 \| Out-Null",
        r"New-NetRoute -InterfaceIndex \$idx -AddressFamily IPv4 -DestinationPrefix '0\.0\.0\.0/0' "
        r"-NextHop '192\.0\.2\.1' -RouteMetric 1 \| Out-Null",
        r"New-NetRoute -InterfaceIndex \$idx -AddressFamily IPv4 -DestinationPrefix '0\.0\.0\.0/0' "
        r"-NextHop '192\.0\.2\.254' -RouteMetric 20 \| Out-Null",
        r"Set-DnsClientServerAddress -InterfaceIndex \$idx -ServerAddresses @\('192\.0\.2\.53', "
        r"'192\.0\.2\.54', '2001:db8::53', '2001:db8::54'\)",
        r"Set-DnsClient -InterfaceIndex \$idx -ConnectionSpecificSuffix 'corp\.example' "
        r"-RegisterThisConnectionsAddress \$false -UseSuffixWhenRegistering \$true",
        r"& netsh\.exe interface ipv4 set winsservers \('name=' \+ \$idx\) 'source=static' "
        r"'address=192\.0\.2\.5'",
        r"& netsh\.exe interface ipv4 add winsservers \('name=' \+ \$idx\) "
        r"'address=192\.0\.2\.6' 'index=2'",
        r"\$r = Invoke-CimMethod -InputObject \(Get-NicConfig \$idx\) -MethodName SetTcpipNetbios "
        r"-Arguments @\{ TcpipNetbiosOptions = \[uint32\]2 \}",
        r"Set-NetIPInterface -InterfaceIndex \$idx -AddressFamily IPv4 -InterfaceMetric 15",
        r"New-NetIPAddress -InterfaceIndex \$idx -AddressFamily IPv6 -IPAddress "
        r"'2001:db8:0:1::10' -PrefixLength 64 \| Out-Null",
        r"Rename-NetAdapter -InputObject \$nic -NewName 'Local Area Connection'",
        r"\$old = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces\\"
        r"\{11111111-2222-3333-4444-555555555555\}'",
        r"Set-ItemProperty -LiteralPath \$old -Name 'IPAddress' -Value @\('0\.0\.0\.0'\) "
        r"-Type MultiString",
        r"Set-ItemProperty -LiteralPath \$conn -Name 'Name' -Value "
        r"'Local Area Connection \(old adapter\)'",
        r"Write-Log '\{11111111-2222-3333-4444-555555555555\}: MAC override 02:16:3e:aa:bb:cc "
        r"not re-applied \(the hypervisor assigns the new MAC\)'",
    ]
    missing = [p for p in expect if not has_line(lines, p)]
    assert not missing, missing
    known = next(line for line in lines if line.startswith("$KnownGuids = @("))
    assert sorted(re.findall(r"'(\{[0-9A-F-]{36}\})'", known)) == sorted(nics)
    # Steps run in the order that frees the name before taking it.
    order = [next(i for i, line in enumerate(lines) if line.startswith(prefix)) for prefix in (
        "$old = ", "New-NetIPAddress", "Set-DnsClientServerAddress", "Rename-NetAdapter")]
    assert order == sorted(order)
    assert lines[-1] == "exit 0" and "exit 1" in lines


def test_powershell_dhcp_and_defaults(nics: dict[str, Interface]) -> None:
    text = apply_script([nics[GUID_E1000]], target="powershell")
    ps_check_script(text)
    lines = lines_of(text)
    assert has_line(lines, r"\$nic = Find-TargetAdapter -Mac ''")
    assert has_line(lines, r"Set-NetIPInterface -InterfaceIndex \$idx -AddressFamily IPv4 "
                           r"-Dhcp Enabled")
    assert has_line(lines, r"Set-DnsClientServerAddress -InterfaceIndex \$idx "
                           r"-ResetServerAddresses")
    assert has_line(lines, r"Set-DnsClient -InterfaceIndex \$idx -ConnectionSpecificSuffix '' "
                           r"-RegisterThisConnectionsAddress \$true")
    assert not any(line.startswith(("New-NetIPAddress", "New-NetRoute", "Set-NetIPInterface "
                                    "-InterfaceIndex $idx -AddressFamily IPv4 -InterfaceMetric"))
                   for line in lines)
    assert "winsservers" not in text


def test_powershell_interface_without_name_is_not_renamed(nics: dict[str, Interface]) -> None:
    text = apply_script([nics[GUID_NONAME]], target="powershell")
    assert "Rename-NetAdapter" not in text and "$conn" not in text
    assert "New-NetIPAddress -InterfaceIndex $idx -AddressFamily IPv4 -IPAddress " \
           "'198.51.100.7' -PrefixLength 24" in text


# -- netsh: every setting -------------------------------------------------------------------------


def test_netsh_static_every_setting(nics: dict[str, Interface]) -> None:
    nic = nics[GUID_XEN]
    text = apply_script([nic], target="netsh", match="mac:52-54-00-ab-cd-ef",
                        known_guids=list(nics))
    assert text.isascii() and "\r\n" in text
    lines = lines_of(text)
    n = 'name="winmigrate-nic-1"'
    expect = [
        r"call :wm_find_mac 52:54:00:AB:CD:EF",
        r'call :wm_take "winmigrate-nic-1"',
        rf"netsh interface ip set address {n} static 192\.0\.2\.10 255\.255\.255\.0 none "
        r'>>"%WM_LOG%" 2>&1',
        rf"netsh interface ip add address {n} 192\.0\.2\.11 255\.255\.0\.0 "
        r'>>"%WM_LOG%" 2>&1',
        rf"netsh interface ip add address {n} gateway=192\.0\.2\.1 gwmetric=1 "
        r'>>"%WM_LOG%" 2>&1',
        rf"netsh interface ip add address {n} gateway=192\.0\.2\.254 gwmetric=20 "
        r'>>"%WM_LOG%" 2>&1',
        rf'netsh interface ip set dns {n} static 192\.0\.2\.53 none >>"%WM_LOG%" 2>&1',
        rf'netsh interface ip add dns {n} 192\.0\.2\.54 index=2 >>"%WM_LOG%" 2>&1',
        rf'netsh interface ipv6 add dnsservers {n} 2001:db8::53 index=1 >>"%WM_LOG%" 2>&1',
        rf'netsh interface ipv6 add dnsservers {n} 2001:db8::54 index=2 >>"%WM_LOG%" 2>&1',
        rf'netsh interface ip set wins {n} static 192\.0\.2\.5 >>"%WM_LOG%" 2>&1',
        rf'netsh interface ip add wins {n} 192\.0\.2\.6 index=2 >>"%WM_LOG%" 2>&1',
        r'wmic nicconfig where Index=%WM_INDEX% call SetTcpipNetbios 2 <nul >>"%WM_LOG%" 2>&1',
        r'wmic nicconfig where Index=%WM_INDEX% call SetIPConnectionMetric 15 <nul '
        r'>>"%WM_LOG%" 2>&1',
        r'wmic nicconfig where Index=%WM_INDEX% call SetDNSDomain "corp\.example" <nul '
        r'>>"%WM_LOG%" 2>&1',
        r'netsh interface ipv6 add address interface="winmigrate-nic-1" 2001:db8:0:1::10/64 '
        r'>>"%WM_LOG%" 2>&1',
        r'netsh interface set interface name="winmigrate-nic-1" newname="Local Area Connection" '
        r'>>"%WM_LOG%" 2>&1',
        r'reg add "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces\\'
        r'\{11111111-2222-3333-4444-555555555555\}" /v IPAddress /t REG_MULTI_SZ /d "0\.0\.0\.0" '
        r'/f >>"%WM_LOG%" 2>&1',
        r'reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Network\\'
        r'\{4D36E972-E325-11CE-BFC1-08002BE10318\}\\\{11111111-2222-3333-4444-555555555555\}'
        r'\\Connection" /v Name /t REG_SZ /d "Local Area Connection \(old adapter\)" /f '
        r'>>"%WM_LOG%" 2>&1',
        r'set "WM_KNOWN=;\{0F0F0F0F-0000-1111-2222-333333333333\};'
        r'\{11111111-2222-3333-4444-555555555555\};\{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\};"',
    ]
    missing = [p for p in expect if not has_line(lines, p)]
    assert not missing, missing
    # Every command that changes something is checked (except the best-effort deletes).
    for i, line in enumerate(lines):
        if line.startswith(("netsh interface ip", "wmic nicconfig where Index", "reg add")):
            assert lines[i + 1].startswith("if errorlevel 1"), line
    # Labels the gotos name exist; every call target exists.
    labels = {line[1:] for line in lines if line.startswith(":")}
    for target in re.findall(r"goto (wm_\w+)", text):
        assert target in labels, target
    for target in re.findall(r"call :(wm_\w+)", text):
        assert target in labels, target
    assert lines[0] == "@echo off"
    assert "setlocal EnableExtensions DisableDelayedExpansion" in lines


def test_netsh_registration_modes_and_dhcp(nics: dict[str, Interface]) -> None:
    dhcp = apply_script([nics[GUID_E1000]], target="netsh")
    lines = lines_of(dhcp)
    assert has_line(lines, r'netsh interface ip set address name="winmigrate-nic-1" dhcp '
                           r'>>"%WM_LOG%" 2>&1')
    assert has_line(lines, r'netsh interface ip set dns name="winmigrate-nic-1" source=dhcp '
                           r'register=primary >>"%WM_LOG%" 2>&1')
    assert "call :wm_find_new" in lines
    both = dataclasses.replace(nics[GUID_NONAME], register_adapter_name=True)
    assert 'set dns name="winmigrate-nic-1" static 198.51.100.53 both' in apply_script(
        [both], target="netsh")
    none = dataclasses.replace(nics[GUID_NONAME], dns_servers=[])
    assert 'set dns name="winmigrate-nic-1" static none primary' in apply_script(
        [none], target="netsh")
    # No old name: the adapter gets its own name back instead.
    text = apply_script([nics[GUID_NONAME]], target="netsh")
    assert 'call :wm_restore "winmigrate-nic-1"' in text
    assert 'name="winmigrate-nic-1" newname=' not in text


def test_gateway_without_metric(nics: dict[str, Interface]) -> None:
    nic = dataclasses.replace(nics[GUID_NONAME], gateways=[Gateway(IPv4Address("198.51.100.1"))])
    ps = apply_script([nic], target="powershell")
    assert "-NextHop '198.51.100.1' | Out-Null" in ps
    cmd = apply_script([nic], target="netsh")
    assert "gateway=198.51.100.1 gwmetric=0 " in cmd


# -- hostile values -------------------------------------------------------------------------------

HOSTILE = [
    "PWN1'; Remove-Item -Recurse C:\\ ; '",
    "PWN2\"; calc.exe; \"",
    "PWN3 $(Stop-Computer) `whoami` ${env:PATH}",
    "PWN4 & del /q C:\\* | shutdown /s > x < y ^ %PATH% !x!",
    "PWN5\r\nformat C: /y\nRemove-Item C:\\",
    "PWN6 \u2019; Stop-Computer; \u2018 \u201c \u201d",
    "PWN7 ) ; ( # <# @' @\" `",
    "PWN8\\",
    "PWN9 \x00\x1b[31m\u2028\u0085 end",
]


def hostile_nic(base: Interface, value: str) -> Interface:
    return dataclasses.replace(base, name=value, dns_suffix=value, driver_desc=value)


@pytest.mark.parametrize("value", HOSTILE)
def test_powershell_hostile_values_stay_literal(nics: dict[str, Interface], value: str) -> None:
    nic = hostile_nic(nics[GUID_XEN], value)
    text = apply_script([nic], target="powershell", log_file="C:\\logs\\net.log")
    ps_check_script(text)
    marker = value[:4]
    assert ps_marker_only_in_literals(text, marker) >= 4
    lines = lines_of(text)
    rename = next(line for line in lines if line.startswith("Rename-NetAdapter"))
    assert ps_eval(rename.split("-NewName ", 1)[1]) == value
    suffix = next(line for line in lines if line.startswith("Set-DnsClient -"))
    expr = suffix.split("-ConnectionSpecificSuffix ", 1)[1].split(" -RegisterThis", 1)[0]
    assert ps_eval(expr) == value
    ghost = next(line for line in lines if line.startswith("Set-ItemProperty -LiteralPath $conn"))
    assert ps_eval(ghost.split("-Value ", 1)[1]) == value + " (old adapter)"
    for line in lines:  # comments carry a sanitised copy only
        if line.startswith("#"):
            assert all(0x20 <= ord(c) <= 0x7E for c in line)


@pytest.mark.parametrize("value", HOSTILE)
def test_netsh_hostile_values_are_quoted_or_refused(nics: dict[str, Interface], value: str) -> None:
    nic = hostile_nic(nics[GUID_XEN], value)
    script = build_script([nic], target="netsh")
    text = script.text
    marker = value[:4]
    seen = cmd_check_marker(text, marker)
    if cmd_safe(value):
        assert seen["quoted"] >= 2  # newname="..." and the old connection's new name
        rename = next(line for line in lines_of(text) if "newname=" in line and marker in line)
        assert cmd_unquote(cmd_quoted(rename)[1]) == value
    else:
        assert seen["quoted"] == 0
        assert any("connection name not re-applied" in w for w in script.warnings)
    assert any("DNS suffix" in w for w in script.warnings)  # never a DNS name
    assert "SetDNSDomain" not in text


def test_netsh_safe_but_unusual_name_is_quoted(nics: dict[str, Interface]) -> None:
    name = "PWNX Prod LAN (10G); a=b, 'c' [d] {e} ~ # $ ` @ / \\ z"
    assert cmd_safe(name)
    nic = dataclasses.replace(nics[GUID_XEN], name=name)
    text = apply_script([nic], target="netsh")
    seen = cmd_check_marker(text, "PWNX")
    assert seen["quoted"] == 2
    rename = next(line for line in lines_of(text) if "newname=" in line and "PWNX" in line)
    assert cmd_quoted(rename)[1] == name


def test_netsh_names_with_cmd_specials_are_carried(nics: dict[str, Interface]) -> None:
    """Connection names may hold & % ! ^ | < > (``R&D LAN``): quoted, % doubled, delayed
    expansion off, so netsh receives them exactly."""
    for name in ["R&D LAN", "LAN 100% ^up^ !x! <a|b>", "50%%PATH%%"]:
        nic = dataclasses.replace(nics[GUID_XEN], name=name)
        script = build_script([nic], target="netsh")
        assert script.encoding == "ascii"
        assert not any("connection name" in w for w in script.warnings)
        seen = cmd_check_marker(script.text, name[:3])
        assert seen["quoted"] == 2
        rename = next(line for line in lines_of(script.text) if "newname=" in line)
        assert cmd_unquote(cmd_quoted(rename)[1]) == name


def test_netsh_localised_names_in_the_oem_code_page(nics: dict[str, Interface]) -> None:
    """French, Spanish, German and Russian default connection names: carried when the guest's
    OEM code page encodes them, the script then saved in that code page."""
    cases = [("Connexion au réseau local", 850), ("Conexión de área local", 850),
             ("LAN-Verbindung Äußere", 850), ("Подключение по локальной сети", 866),
             ("Connexion au réseau local", 437)]
    for name, codepage in cases:
        nic = dataclasses.replace(nics[GUID_XEN], name=name)
        script = build_script([nic], target="netsh", codepage=codepage)
        assert script.encoding == f"cp{codepage}"
        assert not any("connection name" in w for w in script.warnings)
        data = script.to_bytes()
        assert data.decode(f"cp{codepage}") == script.text
        seen = cmd_check_marker(script.text, name, encodable=script.encoding)
        assert seen["quoted"] == 2
        rename = next(line for line in lines_of(script.text) if "newname=" in line)
        assert cmd_unquote(cmd_quoted(rename)[1]) == name
    # A name the code page cannot encode is still refused, and the script stays ASCII.
    nic = dataclasses.replace(nics[GUID_XEN], name="Подключение")
    script = build_script([nic], target="netsh", codepage=850)
    assert script.encoding == "ascii" and script.text.isascii()
    assert any("code page 850" in w for w in script.warnings)
    with pytest.raises(UsageError):
        build_script([nic], target="netsh", codepage=99999)


def test_unicode_name_powershell_exact_netsh_skipped(nics: dict[str, Interface]) -> None:
    name = "Подключение по локальной сети 2 \U0001f600"
    nic = dataclasses.replace(nics[GUID_XEN], name=name)
    text = apply_script([nic], target="powershell")
    ps_check_script(text)
    rename = next(line for line in lines_of(text) if line.startswith("Rename-NetAdapter"))
    assert ps_eval(rename.split("-NewName ", 1)[1]) == name
    script = build_script([nic], target="netsh")
    assert script.text.isascii()
    assert 'name="winmigrate-nic-1" newname=' not in script.text
    assert any("rename it by hand" in w for w in script.warnings)


def test_bad_addresses_in_a_hand_made_interface_are_refused(nics: dict[str, Interface]) -> None:
    base = nics[GUID_XEN]
    bad = [
        dataclasses.replace(base, guid="{x}; calc"),
        dataclasses.replace(base, ipv4=["10.0.0.1/24 & calc"]),  # type: ignore[list-item]
        dataclasses.replace(base, dns_servers=[IPv6Address("fe80::1%12")]),
        dataclasses.replace(base, gateways=[Gateway(IPv4Address("10.0.0.1"), "1; x")]),  # type: ignore[arg-type]
        dataclasses.replace(base, interface_metric="5 & x"),  # type: ignore[arg-type]
    ]
    for nic in bad:
        for target in ("powershell", "netsh"):
            with pytest.raises(UsageError):
                build_script([nic], target=target)


# -- matching and arguments ---------------------------------------------------------------------


def test_match_rules(nics: dict[str, Interface]) -> None:
    two = [nics[GUID_XEN], nics[GUID_NONAME]]
    with pytest.raises(UsageError, match="only one interface"):
        build_script(two, match="new-adapter")
    with pytest.raises(UsageError, match="only one interface"):
        build_script(two, match="mac:52:54:00:00:00:01")
    with pytest.raises(UsageError, match="no match given"):
        build_script(two, match={GUID_XEN: "new-adapter"})
    with pytest.raises(UsageError, match="same MAC"):
        build_script(two, match={GUID_XEN: "mac:52:54:00:00:00:01",
                                 GUID_NONAME: "mac:52-54-00-00-00-01"})
    with pytest.raises(UsageError, match="only one interface"):
        build_script(two, match={GUID_XEN: "new-adapter", GUID_NONAME: "new-adapter"})
    for bad in ("mac:zz:54:00:00:00:01", "eth0", "mac:", "52:54:00:00:00:01"):
        with pytest.raises(UsageError):
            build_script([nics[GUID_XEN]], match=bad)
    script = build_script(two, target="powershell", match={
        GUID_XEN.lower(): "mac:52:54:00:00:00:01", GUID_NONAME: "new-adapter"})
    assert "Find-TargetAdapter -Mac '525400000001'" in script.text
    assert "Find-TargetAdapter -Mac ''" in script.text
    cmd = build_script(two, target="netsh", match={
        GUID_XEN: "mac:52:54:00:00:00:01", GUID_NONAME: "new-adapter"}).text
    assert "call :wm_find_mac 52:54:00:00:00:01" in cmd and "call :wm_find_new" in cmd
    assert 'call :wm_take "winmigrate-nic-2"' in cmd


def test_other_arguments(nics: dict[str, Interface]) -> None:
    nic = nics[GUID_XEN]
    with pytest.raises(UsageError):
        build_script([nic], target="bash")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        build_script([nic, nic])
    with pytest.raises(UsageError):
        build_script([nic], known_guids=["not-a-guid"])
    for bad in ("C:\\a%b.log", "C:\\it's.log", "C:\\a\nb.log", "C:\\dir\\"):
        with pytest.raises(UsageError):
            build_script([nic], log_file=bad)
    with pytest.raises(UsageError):
        build_script([nic], wait=-1)
    with pytest.raises(UsageError):
        build_script([nic], newline="\r")
    lf = apply_script([nic], newline="\n")
    assert "\r" not in lf
    assert "$WaitSeconds = 60" in lf
    assert "$WaitSeconds = 5" in build_script([nic], wait=5).text
    assert 'set "WM_WAIT=0"' in build_script([nic], target="netsh", wait=0).text


def test_no_interfaces_is_a_valid_script() -> None:
    for target in ("powershell", "netsh"):
        script = build_script([], target=target)
        assert "re-applying 0 interface(s)" in script.text.replace("^(", "(").replace("^)", ")")
    ps_check_script(build_script([], target="powershell").text)


def test_each_interface_block_is_guarded(nics: dict[str, Interface]) -> None:
    text = build_script([nics[GUID_XEN], nics[GUID_E1000]], target="powershell", match={
        GUID_XEN: "mac:52:54:00:00:00:01", GUID_E1000: "mac:52:54:00:00:00:02"}).text
    assert text.count("$nic = Find-TargetAdapter") == 2
    assert text.count("if ($null -ne $nic) {") == 2
    assert text.count("ToUpperInvariant() -eq '{") == 2  # the original adapter is left alone


# -- properties of the quoting ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_ps_quote_round_trip(text: str) -> None:
    expr = ps_quote(text)
    assert expr.isascii() and "\n" not in expr and "\r" not in expr
    assert ps_eval(expr) == text
    kinds = {kind for kind, _ in ps_tokens(expr)}
    assert "comment" not in kinds


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F)))
def test_cmd_safe_excludes_every_special(text: str) -> None:
    if cmd_safe(text):
        assert not set(text) & set('"\r\n\x00')
        assert not text.endswith("\\") and text.isascii()
        assert cmd_unquote(cmd_quote(text)[1:-1]) == text


def test_cmd_echo_escaping(nics: dict[str, Interface]) -> None:
    nic = dataclasses.replace(nics[GUID_XEN], driver_desc="a&b|c<d>e^f(g)h\"i%j!k")
    text = apply_script([nic], target="netsh")
    for line in lines_of(text):
        if line.startswith("echo(interface 1"):
            assert cmd_echo_text_ok(line[len("echo("):])
            break
    else:
        raise AssertionError("no interface echo line")


def test_interface_netbios_modes(nics: dict[str, Interface]) -> None:
    for mode in NetbiosMode:
        nic = dataclasses.replace(nics[GUID_NONAME], netbios=mode)
        assert f"TcpipNetbiosOptions = [uint32]{int(mode)}" in apply_script([nic])
        assert f"SetTcpipNetbios {int(mode)} <nul" in apply_script([nic], target="netsh")


def test_hand_built_interface() -> None:
    nic = Interface(guid="{12345678-1234-1234-1234-123456789ABC}", name="LAN", dhcp=False,
                    ipv4=[IPv4Interface("10.0.0.2/8")], ipv6=[IPv6Interface("fd00::2/64")])
    text = apply_script([nic])
    assert "-IPAddress '10.0.0.2' -PrefixLength 8" in text
    assert "-IPAddress 'fd00::2' -PrefixLength 64" in text
