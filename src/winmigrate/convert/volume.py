"""A Windows volume as the host sees it: paths resolved case-insensitively, and the Windows
installation found on it.

Windows' file names are case-insensitive; a volume mounted on Linux (ntfs-3g, guestmount, a loop
mount) is not: guests have ``system32``, ``System32`` and ``SYSTEM32``, ``config\\SYSTEM`` next to
``config\\system.LOG1``. Every path of the conversion goes through ``Volume.find`` (an existing
path, whatever its case on disk) or ``Volume.path`` (the same, with the components that do not
exist yet spelled as given), so the conversion never creates ``System32`` beside ``system32``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import UsageError, WinmigrateError

__all__ = ["SYSTEM_ROOT_NAMES", "ConversionError", "GuestFileError", "GuestNotFoundError", "Volume",
           "WindowsInstall", "find_windows", "guest_parent"]

#: Folder names a Windows installation lives in (NT 4 and 2000 used WINNT).
SYSTEM_ROOT_NAMES = ("Windows", "WINNT")


class ConversionError(WinmigrateError):
    """A conversion cannot be planned, carried out or undone (the message says why)."""


class GuestNotFoundError(ConversionError):
    """No Windows installation (or more than one) under the given root."""


class GuestFileError(ConversionError, OSError):
    """A file of the guest cannot be read or written (``errno`` and ``filename`` set)."""


def guest_parent(guest_path: str) -> str:
    """The folder of a guest path (``Windows\\Drivers\\x.inf`` -> ``Windows\\Drivers``)."""
    return guest_path.rsplit("\\", 1)[0] if "\\" in guest_path else ""


class Volume:
    """The root folder of a mounted Windows volume (what the guest calls ``C:\\``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise UsageError(f"{self.root}: not a folder (give the mount point of the guest's "
                             "Windows volume)")
        self._listings: dict[str, dict[str, str]] = {}

    def _entries(self, folder: str) -> dict[str, str]:
        """Lower-case name -> name on disk, for the entries of ``folder`` (cached: a conversion
        resolves many paths in the same folders; ``forget`` drops what it changes)."""
        cached = self._listings.get(folder)
        if cached is None:
            cached = {}
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                names = []
            for name in names:
                cached.setdefault(name.lower(), name)  # two spellings: the first in order
            self._listings[folder] = cached
        return cached

    def forget(self, folder: str) -> None:
        """Drop the cached listing of ``folder`` (after creating or removing entries in it)."""
        self._listings.pop(folder, None)

    def forget_all(self) -> None:
        """Drop every cached listing (after removing a whole tree)."""
        self._listings.clear()

    @staticmethod
    def parts(windows_path: str) -> list[str]:
        """``Windows\\System32\\drivers`` (or with ``/``, or ``C:\\...``) as components."""
        path = windows_path.replace("/", "\\")
        if len(path) >= 2 and path[1] == ":":
            path = path[2:]
        return [p for p in path.split("\\") if p not in ("", ".")]

    def find(self, windows_path: str) -> str | None:
        """The host path of an existing file or folder, matched case-insensitively at every
        level; ``None`` when some component does not exist."""
        here = self.root
        for part in self.parts(windows_path):
            if part == "..":
                raise UsageError(f"{windows_path!r}: '..' is not allowed in a guest path")
            name = self._entries(here).get(part.lower())
            if name is None:
                return None
            here = os.path.join(here, name)
        return here

    def path(self, windows_path: str) -> str:
        """The host path for ``windows_path``: existing components as they are spelled on disk,
        the rest as given (so a file is created beside its existing siblings, never in a second
        folder that differs only in case)."""
        here = self.root
        missing = False
        for part in self.parts(windows_path):
            if part == "..":
                raise UsageError(f"{windows_path!r}: '..' is not allowed in a guest path")
            name = None if missing else self._entries(here).get(part.lower())
            if name is None:
                missing = True
                name = part
            here = os.path.join(here, name)
        return here

    def relative(self, host_path: str) -> str:
        """``host_path`` as a guest path below the root, with backslashes."""
        rel = os.path.relpath(host_path, self.root)
        return rel.replace(os.sep, "\\")


@dataclass(frozen=True)
class WindowsInstall:
    """A Windows installation on a volume: its folder (``Windows``, ``WINNT``...) as spelled on
    disk, and the hive files of ``System32\\config`` (host paths)."""

    volume: Volume
    system_root: str  # the folder's name on disk, e.g. "WINDOWS"
    system_hive: str
    software_hive: str | None

    def path(self, *parts: str) -> str:
        """Host path below the installation's folder (see ``Volume.path``)."""
        return self.volume.path("\\".join((self.system_root, *parts)))

    def find(self, *parts: str) -> str | None:
        return self.volume.find("\\".join((self.system_root, *parts)))


def find_windows(root: str | os.PathLike[str] | Volume) -> WindowsInstall:
    """The one Windows installation on the volume mounted at ``root``: a top-level folder
    (``Windows``, ``WINDOWS``, ``WINNT``... in any case) holding ``System32\\config\\SYSTEM``.
    None, or more than one: ``GuestNotFoundError`` listing what was found."""
    volume = root if isinstance(root, Volume) else Volume(root)
    candidates = []
    looked = []
    for lower, name in sorted(volume._entries(volume.root).items()):
        if not os.path.isdir(os.path.join(volume.root, name)):
            continue
        system = volume.find(f"{name}\\System32\\config\\SYSTEM")
        if system is not None and os.path.isfile(system):
            candidates.append((name, system))
        elif lower in (n.lower() for n in SYSTEM_ROOT_NAMES):
            looked.append(f"{name} (no System32\\config\\SYSTEM)")
    if not candidates:
        top = sorted(volume._entries(volume.root).values())
        shown = ", ".join(top[:20]) + (", ..." if len(top) > 20 else "") if top else "nothing"
        extra = f"; {'; '.join(looked)}" if looked else ""
        raise GuestNotFoundError(f"{volume.root}: no Windows installation found (a folder with "
                                 f"System32\\config\\SYSTEM); the volume holds: {shown}{extra}")
    if len(candidates) > 1:
        names = ", ".join(f"{name} ({volume.relative(system)})" for name, system in candidates)
        raise GuestNotFoundError(f"{volume.root}: {len(candidates)} Windows installations "
                                 f"found: {names}; convert one at a time (give its volume)")
    name, system = candidates[0]
    software = volume.find(f"{name}\\System32\\config\\SOFTWARE")
    return WindowsInstall(volume, name, system,
                          software if software is not None and os.path.isfile(software) else None)
