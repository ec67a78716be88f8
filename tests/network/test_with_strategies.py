"""``winmigrate.windows.network`` on generated SYSTEM hives: what it reads is what was put in.

:func:`winmigrate.testing.system_hives` lays out adapters, connections, Enum devices and
Tcpip interfaces (static and DHCP, Xen PV and emulated NICs) in several control sets, numbered
up to 999, and describes them; the reader must find exactly that in every control set.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from winmigrate import testing as ws
from winmigrate.convert.netscript import apply_script
from winmigrate.windows import network

NETS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Generated = tuple[ws.GeneratedHive, ws.SystemDescription]


def _static(nic: ws.NicSpec) -> bool:
    """What ``has_static_config`` should say of a described adapter."""
    return bool((not nic.dhcp and (nic.ipv4 or nic.gateways)) or nic.dns_servers
                or nic.dns_suffix)


@NETS
@given(ws.system_hives(max_control_sets=3, max_nics=3))
def test_every_control_set_reads_back_as_described(generated: Generated) -> None:
    hive, desc = generated
    for cs in desc.control_sets:
        nics = {n.guid: n for n in network.interfaces(hive, cs.number)}
        assert sorted(nics) == sorted(n.guid for n in cs.nics)
        for want in cs.nics:
            got = nics[want.guid]
            assert got.control_set == cs.name
            assert (got.name, got.class_key, got.service, got.present, got.is_xen) == (
                want.name, want.class_key, want.service, want.present, want.is_xen)
            assert (got.dhcp, tuple(got.ipv4), tuple(got.dns_servers), got.dns_suffix) == (
                want.dhcp, want.ipv4, want.dns_servers, want.dns_suffix)
            assert tuple((g.address, g.metric) for g in got.gateways) == want.gateways
            assert got.device_instance_id == want.device_instance_id
            assert got.net_luid_index == want.net_luid_index and got.if_type == 6
            assert got.has_static_config == _static(want)
            assert got.warnings == ()
        settings_ = network.global_settings(hive, cs.number)
        assert settings_.hostname == cs.hostname
        assert settings_.computer_name == cs.hostname.upper()


@NETS
@given(ws.system_hives(max_nics=3))
def test_the_current_control_set_is_the_default(generated: Generated) -> None:
    hive, desc = generated
    assert network.resolve_control_set(hive) == desc.current_set.name
    assert [n.guid for n in network.interfaces(hive)] == [
        n.guid for n in network.interfaces(hive, desc.current)]


@NETS
@given(ws.system_hives(max_nics=3))
def test_the_adapters_to_migrate(generated: Generated) -> None:
    hive, desc = generated
    chosen = {n.guid for n in network.interfaces_to_migrate(network.interfaces(hive))}
    nics = desc.current_set.nics
    xen_static = {n.guid for n in nics if n.is_xen and _static(n)}
    assert chosen == (xen_static or {n.guid for n in nics if _static(n)})


@NETS
@given(ws.system_hives(max_nics=2, xen=True))
def test_the_script_carries_every_static_address(generated: Generated) -> None:
    hive, _desc = generated
    for nic in network.interfaces_to_migrate(network.interfaces(hive)):
        for target in ("powershell", "netsh"):
            # "new-adapter" (the default match) places one interface per script
            script = apply_script([nic], target=target)  # type: ignore[arg-type]
            if nic.dhcp:
                continue
            for iface in nic.ipv4:
                assert str(iface.ip) in script
            for gateway in nic.gateways:
                assert str(gateway.address) in script
            for server in nic.dns_servers:
                assert str(server) in script
