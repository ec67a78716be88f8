"""The phase-two agent as Wine's service manager runs it: registered with ``sc create``,
started at a "boot" (a new Wine session), running the steps `winmigrate convert` generated for a
fake Xen guest against stub programs that record their command lines. See ``wine.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.agent.wine import Wine, cmd_flake
from tests.convert.tools import make_guest, make_virtio
from winmigrate.convert import ConvertConfig, plan_conversion
from winmigrate.convert.options import AgentOptions

AGENT = r"C:\windows\KvmConv"
OLD_NIC = "{0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0}"  # the fake guest's Xen NIC (make_xen_fixtures)
NEW_NIC = "{7E57AD0A-0000-4000-8000-000000000001}"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agent's folder of a converted fake Windows 10 guest (the shipped x64 agent)."""
    work = tmp_path_factory.mktemp("agent-guest")
    root = make_guest(work / "guest", "win10")
    virtio = make_virtio(work / "virtio", releases=["w10"])
    plan_conversion(root, ConvertConfig(drivers=str(virtio), agent=AgentOptions(
        pnp_timeout=5, adapter_timeout=5))).apply()
    return root / "Windows" / "KvmConv"


def _install(wine: Wine, converted: Path, adapters: list[str]) -> Path:
    """Put the agent in the Wine guest as the conversion left it, registered as a service
    that starts automatically; the plan gains an [Environment] with the stubs first in PATH and
    the adapters the guest "has"."""
    # Any new session starts the services marked automatic: unregister the last test's agent
    # first, then let one more session carry out what it scheduled "at reboot".
    wine.sc("delete", "KvmConv")
    wine.kill()
    wine.boot()
    target = wine.host(AGENT)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(converted, target, ignore=shutil.ignore_patterns("backup", "manifest.json"))
    (wine.drive_c / "adapters.txt").write_text("\r\n".join(adapters) + "\r\n", "utf-8")
    ini = target / "kvmconv.ini"
    text = ini.read_bytes()[2:].decode("utf-16-le")
    text += "[Environment]\r\nPATH=C:\\stubs;%PATH%\r\nKVMCONV_ADAPTERS_FILE=C:\\adapters.txt\r\n"
    ini.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    wine.reset_stubs()
    created = wine.sc("create", "KvmConv", "binpath=", rf"{AGENT}\kvmconv.exe", "start=", "auto")
    assert created.returncode == 0, created.stdout + created.stderr
    wine.kill()  # the session that registered it ends: the next start is the first boot
    return target


def _state(folder: Path) -> dict[str, str]:
    path = folder / "state.ini"
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text("utf-8").splitlines()
                if "=" in line)


ADAPTERS = [f"{OLD_NIC}\t3\tEthernet 2\t00-16-3E-11-22-33",
            f"{NEW_NIC}\t7\tEthernet 3\t52-54-00-12-34-56"]


def test_first_boot_runs_every_step(wine: Wine, converted: Path) -> None:
    for attempt in (1, 2):
        folder = _install(wine, converted, ADAPTERS[1:])
        wine.boot()
        state = _state(folder)
        log = (folder / "kvmconv.log").read_bytes()
        flake = cmd_flake(log.decode("utf-8", "replace"))
        if state.get("Finished") == "1" or flake is None or attempt == 2:
            break
        print(f"Wine's cmd could not start a stub ({flake}): installing and booting again")
    assert log.startswith(b"\xef\xbb\xbf"), log[:40]
    assert state.get("Finished") == "1", log.decode("utf-8", "replace")
    assert state["Boots"] == "1"
    for step in ("trust-certificates", "install-drivers", "wait-for-devices", "find-adapter-1",
                 "network-1", "restore-crash-control", "finish"):
        assert state[step] == "done", step
    assert state["find-adapter-1.Guid"] == NEW_NIC
    calls = wine.calls()
    programs = [c.split(" ", 1)[0] for c in calls]
    # the order of the plan: trust, install, network, crash control, reboot
    assert programs[0] == "certutil" and programs[-1] == "shutdown"
    assert calls[0].startswith('certutil -f -addstore TrustedPublisher "C:\\windows\\KvmConv'
                               '\\certs\\')
    assert 'pnputil /add-driver "C:\\windows\\Drivers\\VirtIO\\viostor.inf" /install' in calls
    assert 'pnputil /add-driver "C:\\windows\\Drivers\\VirtIO\\netkvm.inf" /install' in calls
    assert programs.index("pnputil") < programs.index("netsh")
    assert 'netsh interface set interface name="Ethernet 3" newname="winmigrate-nic"' in calls
    assert ('netsh interface ip set address name="winmigrate-nic" static 192.0.2.10 '
            '255.255.255.0 none') in calls
    assert any(c.startswith("netsh interface ip add address") and "gateway=192.0.2.1" in c
               for c in calls)
    assert any("NetBT" in c and f"Tcpip_{NEW_NIC}" in c for c in calls)  # the new GUID
    assert 'netsh interface set interface name="winmigrate-nic" newname="Ethernet 2"' in calls
    assert any("CrashControl" in c and "/d 1" in c for c in calls)
    assert calls[-1].startswith("shutdown -r -f -t 15")
    # the service is gone; the program goes at the next boot; the log and state stay
    assert wine.service_start("KvmConv") is None
    assert not (folder / "steps").exists() and not (folder / "kvmconv.ini").exists()
    wine.boot()
    assert not (folder / "kvmconv.exe").exists()
    assert (folder / "kvmconv.log").exists() and _state(folder)["Finished"] == "1"


def test_power_loss_resumes_at_the_step(wine: Wine, converted: Path) -> None:
    folder = _install(wine, converted, ADAPTERS)
    (wine.host(r"C:\stubs") / "netsh.sleep").write_text("60000")
    wine.kill()
    boot = wine.start("cmd", "/c", "exit")
    wine.wait_for_call("netsh", timeout=90)
    wine.kill()  # the power goes in the middle of the network step
    boot.wait(30)
    state = _state(folder)
    assert state["install-drivers"] == "done" and state["find-adapter-1"] == "done"
    assert "network-1" not in state and state.get("Current") == "network-1"
    before = len(wine.calls())
    (wine.host(r"C:\stubs") / "netsh.sleep").unlink()
    wine.boot()
    state = _state(folder)
    assert state["Boots"] == "2" and state.get("Finished") == "1"
    again = [c.split(" ", 1)[0] for c in wine.calls()[before:]]
    assert "certutil" not in again and "pnputil" not in again  # nothing done twice
    assert "netsh" in again and again[-1] == "shutdown"
    log = (folder / "kvmconv.log").read_text("utf-8-sig")
    assert "start 2 of at most 3" in log


def test_a_failing_step_gives_up_after_max_boots(wine: Wine, converted: Path) -> None:
    folder = _install(wine, converted, ADAPTERS)
    (wine.host(r"C:\stubs") / "netsh.exit").write_text("1")
    for _boot in range(3):
        wine.boot()
    state = _state(folder)
    assert state["Boots"] == "3" and state.get("GaveUp") == "1"
    assert "Finished" not in state and state["network-1.Failures"] == "3"
    log = (folder / "kvmconv.log").read_text("utf-8-sig")
    assert "the service is disabled" in log and "| stub netsh: exit 1" in log
    assert wine.service_start("KvmConv") == 4  # SERVICE_DISABLED
    calls = len(wine.calls())
    wine.boot()  # disabled: it does not start again
    assert len(wine.calls()) == calls and _state(folder)["Boots"] == "3"
    assert (folder / "kvmconv.exe").exists()  # left for the operator, with its log


def test_several_new_adapters_stop_the_agent(wine: Wine, converted: Path) -> None:
    folder = _install(wine, converted, [*ADAPTERS, "{7E57AD0A-0000-4000-8000-000000000002}\t9\t"
                                                   "Ethernet 4\t52-54-00-AB-CD-EF"])
    wine.boot()
    state = _state(folder)
    assert "find-adapter-1" not in state and "Finished" not in state
    log = (folder / "kvmconv.log").read_text("utf-8-sig")
    assert "2 adapters could be the new one; not guessing" in log
    assert not any(c.startswith("netsh") for c in wine.calls())


def test_cancel(wine: Wine, converted: Path) -> None:
    """An operator stops an agent that keeps failing: ``kvmconv.exe cancel``."""
    folder = _install(wine, converted, ADAPTERS)
    (wine.host(r"C:\stubs") / "netsh.exit").write_text("1")
    wine.boot()
    assert _state(folder).get("LastFailure") == "network-1"
    proc = wine.run(rf"{AGENT}\kvmconv.exe", "cancel")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wine.wait()
    calls = len(wine.calls())
    wine.boot()
    state = _state(folder)
    assert state.get("Cancelled") == "1" and len(wine.calls()) == calls
    assert wine.service_start("KvmConv") == 4
    assert "cancelled by the operator" in (folder / "kvmconv.log").read_text("utf-8-sig")


def test_names_cmd_would_misread(wine: Wine, converted: Path) -> None:
    """The new adapter's name reaches netsh intact, whatever it holds."""
    name = "Eth & 100% ^x! <y>|z"
    folder = _install(wine, converted, [f"{NEW_NIC}\t7\t{name}\t52-54-00-12-34-56"])
    wine.boot()
    assert _state(folder).get("Finished") == "1"
    assert f'netsh interface set interface name="{name}" newname="winmigrate-nic"' in \
        wine.calls()
