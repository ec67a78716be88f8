"""Finding the hives to survey: files, folders searched recursively, mounted guest roots.

- A **file** named by the caller is always surveyed (a file that is no hive becomes a row with
  its error).
- A **folder** is searched recursively (symbolic links to folders are not followed; links to
  files are); a file in it is a hive when it starts with the ``regf`` signature. Other files are
  passed over silently.
- A **guest root** -- a folder holding ``Windows\\System32\\config``, at any depth -- is not
  searched file by file: only the places Windows keeps hives are looked at (``config`` and its
  ``RegBack`` and ``systemprofile``, ``ServiceProfiles\\*``, ``AppCompat\\Programs``,
  ``Users\\*`` and ``Documents and Settings\\*`` with their ``UsrClass.dat`` folders, ``Boot``
  and ``EFI\\Microsoft\\Boot``), every folder name matched in any letter case. ``deep=True``
  searches guest roots like any folder. Each hive found below a guest root carries it
  (``guest``).
- **Logs**: ``NAME.LOG``, ``NAME.LOG1`` and ``NAME.LOG2`` (any case) next to a file ``NAME`` are
  its transaction logs, not hives of their own; a log whose primary is missing is surveyed (a
  row of kind ``log``).
- **SOFTWARE sibling**: a file named ``SOFTWARE`` (any case) in the same folder is handed to
  every other hive of that folder; the worker uses it when the hive turns out to be SYSTEM.

The same path is never yielded twice (paths are made absolute, not resolved: two links to one
file are two rows). Folders are read in sorted order, so discovery is deterministic; nothing is
kept but the set of paths already yielded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["GUEST_HIVE_FOLDERS", "HiveTask", "discover", "guest_root_of", "is_guest_root"]

_SIGNATURE = b"regf"
_LOG_SUFFIXES = (".log", ".log1", ".log2")

#: Where a Windows installation keeps hives, below its root (``*``: every subfolder).
GUEST_HIVE_FOLDERS: tuple[tuple[str, ...], ...] = (
    ("Windows", "System32", "config"),
    ("Windows", "System32", "config", "RegBack"),
    ("Windows", "System32", "config", "systemprofile"),
    ("Windows", "ServiceProfiles", "*"),
    ("Windows", "AppCompat", "Programs"),
    ("Users", "*"),
    ("Users", "*", "AppData", "Local", "Microsoft", "Windows"),
    ("Documents and Settings", "*"),
    ("Documents and Settings", "*", "Local Settings", "Application Data", "Microsoft",
     "Windows"),
    ("Boot",),
    ("EFI", "Microsoft", "Boot"),
)


@dataclass(frozen=True)
class HiveTask:
    """One file to survey, and what discovery learnt about it: its ``logs``, the ``software``
    hive beside it, the ``guest`` root above it, whether the caller named it (``explicit``).

    ``known_sha256``: when resuming, the digests this path already has rows for; the worker
    skips the file when it still has one of them."""

    path: str
    logs: tuple[str, ...] = ()
    software: str | None = None
    guest: str | None = None
    explicit: bool = False
    known_sha256: frozenset[str] = field(default_factory=frozenset)


def _entries(folder: str) -> tuple[dict[str, str], list[str]]:
    """(files by lower-case name -> name, subfolder names), sorted; symlinked folders left out."""
    files: dict[str, str] = {}
    dirs: list[str] = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        dirs.append(entry.name)
                    elif entry.is_file():
                        files.setdefault(entry.name.lower(), entry.name)
                except OSError:
                    continue
    except OSError:
        return {}, []
    return dict(sorted(files.items(), key=lambda kv: kv[1])), sorted(dirs)


def _child(folder: str, name: str) -> str | None:
    """The subfolder ``name`` of ``folder`` in any letter case (exact spelling first)."""
    exact = os.path.join(folder, name)
    if os.path.isdir(exact):
        return exact
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.lower() == name.lower() and entry.is_dir():
                    return entry.path
    except OSError:
        pass
    return None


def _subdirs(folder: str) -> list[str]:
    return [os.path.join(folder, d) for d in _entries(folder)[1]]


def is_guest_root(folder: str) -> bool:
    """Whether ``folder`` holds ``Windows\\System32\\config`` (any letter case)."""
    here: str | None = folder
    for part in ("Windows", "System32", "config"):
        here = _child(here, part) if here is not None else None
    return here is not None


def guest_root_of(path: str) -> str | None:
    """The guest root above ``path`` (the nearest ancestor that is one), or None."""
    folder = os.path.dirname(os.path.abspath(path))
    while True:
        if is_guest_root(folder):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _is_hive_file(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == _SIGNATURE
    except OSError:
        return False


def _primary_of(lower: str, files: dict[str, str]) -> str | None:
    for suffix in _LOG_SUFFIXES:
        if lower.endswith(suffix) and lower[:-len(suffix)] in files:
            return lower[:-len(suffix)]
    return None


def _logs_of(lower: str, folder: str, files: dict[str, str]) -> tuple[str, ...]:
    return tuple(os.path.join(folder, files[lower + s]) for s in _LOG_SUFFIXES
                 if lower + s in files)


class _Discovery:
    def __init__(self, deep: bool) -> None:
        self.deep = deep
        self.seen: set[str] = set()

    def _task(self, path: str, folder: str, files: dict[str, str], guest: str | None,
              explicit: bool = False) -> Iterator[HiveTask]:
        if path in self.seen:
            return
        self.seen.add(path)
        software = files.get("software")
        software_path = os.path.join(folder, software) if software else None
        yield HiveTask(path, _logs_of(os.path.basename(path).lower(), folder, files),
                       software_path if software_path != path else None, guest, explicit)

    def folder_files(self, folder: str, guest: str | None) -> Iterator[HiveTask]:
        """The hives directly in ``folder`` (no recursion)."""
        files, _ = _entries(folder)
        for lower, name in files.items():
            if _primary_of(lower, files) is not None:
                continue  # a log of a primary that is here: reported with it
            path = os.path.join(folder, name)
            if path not in self.seen and _is_hive_file(path):
                yield from self._task(path, folder, files, guest)

    def guest(self, root: str) -> Iterator[HiveTask]:
        for parts in GUEST_HIVE_FOLDERS:
            folders = [root]
            for part in parts:
                if part == "*":
                    folders = [sub for f in folders for sub in _subdirs(f)]
                else:
                    folders = [c for f in folders if (c := _child(f, part)) is not None]
            for folder in folders:
                yield from self.folder_files(folder, root)

    def tree(self, top: str, guest: str | None) -> Iterator[HiveTask]:
        stack = [(top, guest)]
        while stack:
            folder, inherited = stack.pop()
            here = inherited
            if here is None and is_guest_root(folder):
                here = folder
                if not self.deep:
                    yield from self.guest(folder)
                    continue
            yield from self.folder_files(folder, here)
            subs = _entries(folder)[1]
            stack.extend((os.path.join(folder, d), here) for d in reversed(subs))

    def file(self, path: str) -> Iterator[HiveTask]:
        folder = os.path.dirname(path)
        yield from self._task(path, folder, _entries(folder)[0], guest_root_of(path),
                              explicit=True)


def discover(paths: Iterable[str | os.PathLike[str]], *, deep: bool = False
             ) -> Iterator[HiveTask]:
    """The hives named by or found below ``paths`` (see the module docstring), lazily."""
    d = _Discovery(deep)
    for given in paths:
        path = os.path.abspath(os.fspath(given))
        if os.path.isdir(path):
            yield from d.tree(path, guest_root_of(path))
        else:
            yield from d.file(path)
