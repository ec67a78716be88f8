"""The agent executables shipped as package data: what they are (checked with pefile on any
machine) and that they are exactly what agent/build.sh makes from agent/kvmconv.c (rebuilt and
compared byte for byte where the same mingw-w64 packages are installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "src" / "winmigrate" / "convert" / "data"
EXES = {"kvmconv-x86.exe": (0x14C, (5, 1)), "kvmconv-x64.exe": (0x8664, (5, 2))}
#: KERNEL32 functions Windows XP SP2 / Server 2003 have; the agent may import nothing newer.
_XP_NAMES = """
AssignProcessToJobObject CloseHandle CreateEventW CreateFileW CreateJobObjectW CreatePipe
CreateProcessW DeleteCriticalSection DeleteFileW EnterCriticalSection ExpandEnvironmentStringsW
FindClose FindFirstFileW FindNextFileW FlushFileBuffers FreeLibrary GetEnvironmentVariableW
GetExitCodeProcess GetFileSize GetLastError GetLocalTime GetModuleFileNameW GetModuleHandleA
GetModuleHandleW GetPrivateProfileIntW GetPrivateProfileSectionW GetPrivateProfileStringW
GetProcAddress GetProcessHeap GetStartupInfoW GetStdHandle GetSystemDirectoryW GetTickCount
HeapAlloc HeapFree InitializeCriticalSection IsDBCSLeadByteEx LeaveCriticalSection LoadLibraryA
LoadLibraryW MoveFileExW MultiByteToWideChar PeekNamedPipe ReadFile RemoveDirectoryW
ResumeThread SetEnvironmentVariableW SetEvent SetHandleInformation SetInformationJobObject
SetUnhandledExceptionFilter Sleep TerminateJobObject TerminateProcess TlsGetValue VirtualProtect
VirtualQuery WaitForSingleObject WideCharToMultiByte WriteConsoleW WriteFile lstrcmpiW lstrcpynW
"""
XP_KERNEL32 = frozenset(_XP_NAMES.split())


@pytest.mark.parametrize("name", list(EXES))
def test_shipped_executable(name: str) -> None:
    pefile = pytest.importorskip("pefile")
    pe = pefile.PE(str(DATA / name))
    machine, subsystem = EXES[name]
    assert pe.FILE_HEADER.Machine == machine
    assert pe.FILE_HEADER.TimeDateStamp == 0  # reproducible: no build time
    assert (pe.OPTIONAL_HEADER.MajorSubsystemVersion,
            pe.OPTIONAL_HEADER.MinorSubsystemVersion) == subsystem  # starts on XP / 2003
    assert pe.OPTIONAL_HEADER.Subsystem == 3  # console: a service, and `kvmconv run` by hand
    dlls = {e.dll.decode().lower(): {i.name.decode() for i in e.imports if i.name}
            for e in pe.DIRECTORY_ENTRY_IMPORT}
    assert set(dlls) == {"advapi32.dll", "kernel32.dll", "msvcrt.dll"}
    assert dlls["kernel32.dll"] <= XP_KERNEL32, dlls["kernel32.dll"] - XP_KERNEL32


def _installed(package: str) -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                          text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def test_rebuild_gives_the_same_bytes(tmp_path: Path) -> None:
    if shutil.which("x86_64-w64-mingw32-gcc") is None or \
            shutil.which("i686-w64-mingw32-gcc") is None:
        pytest.skip("mingw-w64 is not installed (apt-get install gcc-mingw-w64)")
    recorded = dict(line.split() for line in (REPO / "agent" / "COMPILER").read_text()
                    .splitlines() if line.strip())
    different = {p: (v, _installed(p)) for p, v in recorded.items() if _installed(p) != v}
    if different:
        pytest.skip(f"these mingw-w64 packages differ from the ones the shipped agent was "
                    f"built with (agent/COMPILER): {different}")
    subprocess.run(["sh", str(REPO / "agent" / "build.sh"), str(tmp_path)], check=True,
                   capture_output=True)
    for name in EXES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            f"{name} is not what agent/build.sh makes from agent/kvmconv.c: rebuild it")
