"""A Wine prefix that plays a Windows guest for the agent's tests.

Wine's service manager starts the services marked automatic whenever a Wine session starts (its
``wineboot``), and carries out the renames and deletions scheduled "at the next reboot" then:
so ending the session (``wineserver -k``) and starting a new one is, for the agent, a reboot;
killing the session in the middle of a step is a power loss. Programs the steps call (netsh,
pnputil, certutil, reg, route, shutdown, powershell) are replaced by stubs that record their
command lines (``stub.c``), put first in the PATH through the plan's ``[Environment]``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBBED = ("netsh", "pnputil", "certutil", "reg", "route", "shutdown", "powershell", "getmac")


def wine_loader() -> str | None:
    """Debian puts the 64-bit loader in Wine's library folder, not on PATH."""
    for candidate in (shutil.which("wine64"), "/usr/lib/wine/wine64",
                      "/usr/lib/x86_64-linux-gnu/wine/wine64"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def wineserver() -> str | None:
    for candidate in (shutil.which("wineserver"), "/usr/lib/wine/wineserver64",
                      "/usr/lib/wine/wineserver"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def mingw() -> str | None:
    return shutil.which("x86_64-w64-mingw32-gcc")


class Wine:
    """One Wine prefix (see the module docstring)."""

    def __init__(self, prefix: Path) -> None:
        loader, server = wine_loader(), wineserver()
        assert loader is not None and server is not None
        self.loader = loader
        self.server = server
        self.prefix = prefix
        self.env = dict(os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all",
                        WINEDLLOVERRIDES="mscoree,mshtml=", LANG="C.UTF-8")
        self.env.pop("DISPLAY", None)

    @property
    def drive_c(self) -> Path:
        return self.prefix / "drive_c"

    def host(self, windows_path: str) -> Path:
        """``C:\\windows\\KvmConv`` -> the host path in the prefix."""
        parts = windows_path.replace("/", "\\").split("\\")
        assert parts[0].upper() == "C:"
        return self.drive_c.joinpath(*parts[1:])

    def run(self, *argv: str, timeout: float = 120,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.loader, *argv], env=self.env, capture_output=True,
                              text=True, errors="replace", timeout=timeout, check=check)

    def start(self, *argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen([self.loader, *argv], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, text=True)

    def wait(self, timeout: float = 120) -> None:
        """Until the session has ended (every program, the services included, exited)."""
        subprocess.run([self.server, "-w"], env=self.env, timeout=timeout, check=False)

    def kill(self) -> None:
        """End the session at once: a power loss for whatever runs in it."""
        subprocess.run([self.server, "-k"], env=self.env, timeout=60, check=False)
        self.wait(60)

    def boot(self, timeout: float = 120) -> None:
        """A reboot: end the session, start a new one (Wine starts the automatic services
        and carries out the pending deletions), and wait until everything has finished."""
        self.kill()
        self.run("cmd", "/c", "exit", timeout=timeout)
        self.wait(timeout)

    def init(self) -> None:
        self.run("wineboot", "-i", timeout=300)
        self.wait(300)

    # -- the stubs -------------------------------------------------------------------------

    def build_stubs(self, folder: str = r"C:\stubs") -> Path:
        target = self.host(folder)
        target.mkdir(parents=True, exist_ok=True)
        exe = target / "stub.exe"
        gcc = mingw()
        assert gcc is not None
        subprocess.run([gcc, "-municode", "-Os", "-s", "-o", str(exe), str(HERE / "stub.c")],
                       check=True, capture_output=True)
        for name in STUBBED:
            shutil.copyfile(exe, target / f"{name}.exe")
        return target

    def reset_stubs(self, folder: str = r"C:\stubs") -> None:
        target = self.host(folder)
        for p in target.iterdir():
            if p.suffix in (".exit", ".sleep") or p.name == "calls.log":
                p.unlink()

    def calls(self, folder: str = r"C:\stubs") -> list[str]:
        log = self.host(folder) / "calls.log"
        if not log.exists():
            return []
        # cmd passes the space before a following "&&" on to the program: not part of the call
        return [line.rstrip() for line in log.read_text("utf-8").splitlines()]

    def wait_for_call(self, prefix: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(c.startswith(prefix) for c in self.calls()):
                return
            time.sleep(0.2)
        raise AssertionError(f"no call starting {prefix!r}; calls: {self.calls()}")

    # -- services --------------------------------------------------------------------------

    def sc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("sc", *args)

    def service_start(self, name: str) -> int | None:
        """The service's ``Start`` value (2 automatic, 4 disabled), or ``None`` when it is not
        registered (read with Wine's own reg: its sc has no ``qc``)."""
        proc = self.run("reg", "query", rf"HKLM\System\CurrentControlSet\Services\{name}",
                        "/v", "Start")
        for line in proc.stdout.splitlines():
            parts = line.split()
            if parts and parts[0] == "Start":
                return int(parts[-1], 0)
        return None


def cmd_flake(log: str) -> str | None:
    """The line where Wine's cmd failed to start a stub it had started a moment before ("Can't
    recognize 'reg add ...' as an internal or external command"): under load Wine's process
    creation fails now and then, and its cmd reports that as an unknown command. On Windows the
    agent would retry at the next boot; a test that wants one clean boot runs again instead."""
    for line in log.splitlines():
        if "Can't recognize '" in line:
            program = line.split("Can't recognize '", 1)[1].split(" ", 1)[0].lower()
            if program in STUBBED:
                return line.strip()
    return None

