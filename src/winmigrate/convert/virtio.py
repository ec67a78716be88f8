"""The virtio-win drivers a guest needs, chosen from a virtio-win source: a folder (the ISO's
contents, copied or mounted) or the ISO file itself, read with pycdlib and never mounted.

virtio-win lays its drivers out as ``<driver>/<Windows>/<arch>/`` -- ``viostor/2k8R2/amd64``,
``NetKVM/w10/amd64``, ``viostor/xp/x86`` -- with one folder per Windows release (``xp``, ``2k3``,
``2k8`` for Vista and 2008, ``w7``, ``2k8R2``, ``w8``, ``2k12``, ``w8.1``, ``2k12R2``, ``w10``,
``2k16``, ``2k19``, ``2k22``, ``w11``, ``2k25``). Newer ISOs also hold every driver of a release
together in ``<arch>/<Windows>/`` (``amd64/w10/viostor.inf``), and the oldest ones
``<Windows>/<arch>/`` with other release names (``wxp``, ``wnet``, ``wlh``, ``win7``); all three
are read, every name case-insensitively.

When the source has no build for the guest's own release, the nearest older one of the same
generation is taken, as virt-v2v does -- a client release before a server one of the same kernel
for a client, the other way round for a server -- and the choice says so. A Windows 5.x guest
(XP, 2003) never gets a driver made for Vista or later, nor the other way round: their storage
driver models differ.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError
from .volume import ConversionError

if TYPE_CHECKING:
    from .inf import InfInfo

__all__ = ["OS_FOLDERS", "DriverBuild", "DriverNotFoundError", "DriverSource", "SourceFile",
           "choose_driver", "open_driver_source", "os_folder_candidates"]


class DriverNotFoundError(ConversionError):
    """The virtio-win source has no build of a driver for this guest."""


@dataclass(frozen=True)
class _Release:
    folder: str  # virtio-win's name for it
    server: bool | None  # None: both (2k8 is Vista and Server 2008)
    major: int
    minor: int
    min_build: int
    aliases: tuple[str, ...] = ()


#: virtio-win's folder per Windows release, newest first, with the names older ISOs used.
OS_FOLDERS: tuple[_Release, ...] = (
    _Release("2k25", True, 10, 0, 26100, ("win2025",)),
    _Release("w11", False, 10, 0, 22000, ("win11",)),
    _Release("2k22", True, 10, 0, 20348, ("win2022",)),
    _Release("2k19", True, 10, 0, 17763, ("win2019",)),
    _Release("2k16", True, 10, 0, 14393, ("win2016",)),
    _Release("w10", False, 10, 0, 10240, ("win10",)),
    _Release("w8.1", False, 6, 3, 0, ("win8.1",)),
    _Release("2k12R2", True, 6, 3, 0, ("win2012r2",)),
    _Release("w8", False, 6, 2, 0, ("win8",)),
    _Release("2k12", True, 6, 2, 0, ("win2012",)),
    _Release("w7", False, 6, 1, 0, ("win7",)),
    _Release("2k8R2", True, 6, 1, 0, ("win2008r2",)),
    _Release("2k8", None, 6, 0, 0, ("wlh", "vista", "win2008")),
    _Release("2k3", True, 5, 2, 0, ("wnet", "win2003")),
    _Release("xp", False, 5, 1, 0, ("wxp", "winxp")),
)
#: virtio-win's architecture folders, by the guest architecture (``GuestInfo.arch``).
ARCH_FOLDERS = {"amd64": ("amd64", "x64"), "x86": ("x86", "i386"), "ARM64": ("ARM64",)}


def os_folder_candidates(major: int, minor: int, build: int | None,
                         server: bool | None) -> list[str]:
    """virtio-win's release folders that suit a guest, best first (see the module docstring).
    ``build`` unknown on Windows 10/11: the first release of that generation is assumed."""
    if build is None:
        build = 14393 if server else 10240
    guest = (major, minor, build)
    modern = major >= 6

    def fits(r: _Release) -> bool:
        if (r.major >= 6) != modern:
            return False
        if (r.major, r.minor) == (5, 2) or (major, minor) == (5, 2):
            return (r.major, r.minor) <= (major, minor)  # XP x64 and 2003 share a kernel
        return (r.major, r.minor, r.min_build) <= guest

    def rank(r: _Release) -> tuple[int, int, int, int]:
        same_kind = r.server is None or server is None or r.server == server
        # by kernel release, newest first; within one, the guest's own kind first
        return (-r.major, -r.minor, 0 if same_kind else 1, -r.min_build)

    return [r.folder for r in sorted((r for r in OS_FOLDERS if fits(r)), key=rank)]


# -- the source --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    path: str  # as spelled in the source, with "/" and no leading one
    size: int


class DriverSource:
    """A virtio-win tree, folder or ISO: its files by lower-case path."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._files: dict[str, SourceFile] | None = None

    def _walk(self) -> Iterator[SourceFile]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read(self, path: str) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def files(self) -> dict[str, SourceFile]:
        if self._files is None:
            self._files = {f.path.lower(): f for f in self._walk()}
        return self._files

    def folders(self) -> set[str]:
        """Every folder holding a file, lower-case."""
        out = set()
        for path in self.files:
            folder = posixpath.dirname(path)
            while folder and folder not in out:
                out.add(folder)
                folder = posixpath.dirname(folder)
        return out

    def listing(self, folder: str) -> list[SourceFile]:
        """The files directly in ``folder`` (any case), in name order."""
        prefix = folder.lower().strip("/") + "/"
        return sorted((f for p, f in self.files.items()
                       if p.startswith(prefix) and "/" not in p[len(prefix):]),
                      key=lambda f: f.path.lower())

    def read(self, path: str) -> bytes:
        """The bytes of a file (path in any case)."""
        found = self.files.get(path.lower().strip("/"))
        if found is None:
            raise ConversionError(f"{self.label}: no file {path}")
        try:
            return self._read(found.path)
        except OSError as e:
            raise ConversionError(f"{self.label}: cannot read {found.path}: {e}") from None

    def close(self) -> None:
        pass

    def __enter__(self) -> DriverSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FolderSource(DriverSource):
    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.root = root

    def _walk(self) -> Iterator[SourceFile]:
        for folder, dirs, names in os.walk(self.root, onerror=None):
            dirs.sort()
            for name in sorted(names):
                host = os.path.join(folder, name)
                try:
                    size = os.stat(host).st_size
                except OSError:
                    continue
                rel = os.path.relpath(host, self.root).replace(os.sep, "/")
                yield SourceFile(rel, size)

    def _read(self, path: str) -> bytes:
        with open(os.path.join(self.root, *path.split("/")), "rb") as f:
            return f.read()


class IsoSource(DriverSource):
    """The virtio-win ISO read in place with pycdlib (the ``iso`` extra): Joliet names when the
    image has them (virtio-win's do), else Rock Ridge, else plain ISO 9660 ones."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        try:
            import pycdlib
            from pycdlib.pycdlibexception import PyCdlibException
        except ImportError:
            raise UsageError(f"{path}: reading an ISO needs pycdlib: pip install "
                             "'winmigrate[iso]' (or give the ISO's contents as a folder)"
                             ) from None
        self._error = PyCdlibException
        self._iso = pycdlib.PyCdlib()
        try:
            self._iso.open(path)
        except (PyCdlibException, OSError, ValueError, IndexError, KeyError) as e:
            raise ConversionError(f"{path}: not an ISO image pycdlib can read ({e})") from None
        if self._iso.has_joliet():
            self._kind = "joliet_path"
        elif self._iso.has_rock_ridge():
            self._kind = "rr_path"
        else:
            self._kind = "iso_path"

    def _walk(self) -> Iterator[SourceFile]:
        try:
            for folder, _dirs, names in self._iso.walk(**{self._kind: "/"}):
                for name in sorted(names):
                    full = posixpath.join(folder, name)
                    record = self._iso.get_record(**{self._kind: full})
                    shown = name
                    if self._kind == "iso_path":  # "VIOSTOR.INF;1" -> "VIOSTOR.INF"
                        shown = name.split(";")[0].rstrip(".")
                    rel = posixpath.join(folder, shown).lstrip("/")
                    yield SourceFile(rel + "\0" + full, int(record.get_data_length()))
        except self._error as e:
            raise ConversionError(f"{self.label}: unreadable ISO directory ({e})") from None

    @property
    def files(self) -> dict[str, SourceFile]:
        if self._files is None:
            self._files = {}
            self._iso_names: dict[str, str] = {}
            for entry in self._walk():
                shown, full = entry.path.split("\0")
                self._files[shown.lower()] = SourceFile(shown, entry.size)
                self._iso_names[shown.lower()] = full
        return self._files

    def _read(self, path: str) -> bytes:
        import io

        out = io.BytesIO()
        try:
            self._iso.get_file_from_iso_fp(out, **{self._kind: self._iso_names[path.lower()]})
        except self._error as e:
            raise OSError(str(e)) from None
        return out.getvalue()

    def close(self) -> None:
        try:
            self._iso.close()
        except self._error:  # pragma: no cover - nothing to release
            pass


def _is_iso(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0x8001)
            return f.read(5) == b"CD001"  # the primary volume descriptor's identifier
    except OSError:
        return False


def open_driver_source(path: str | os.PathLike[str]) -> DriverSource:
    """The virtio-win source at ``path``: a folder, or an ISO image (read with pycdlib)."""
    text = os.fspath(path)
    if os.path.isdir(text):
        return FolderSource(text)
    if not os.path.exists(text):
        raise UsageError(f"{text}: no such virtio-win folder or ISO")
    if _is_iso(text):
        return IsoSource(text)
    raise UsageError(f"{text}: neither a folder nor an ISO 9660 image")


# -- choosing a driver -------------------------------------------------------------------------


@dataclass(frozen=True)
class DriverBuild:
    """The build of one virtio driver chosen for a guest. ``files`` are source paths (the INF
    first); ``exact``: the source has a build for the guest's own release."""

    driver: str  # as the caller asked: viostor, vioscsi, NetKVM
    folder: str  # the source folder, as spelled
    os_folder: str  # virtio-win's release name
    arch: str
    exact: bool
    inf: str  # source path of the INF
    files: tuple[str, ...]
    info: InfInfo | None = None
    warnings: tuple[str, ...] = ()

    @property
    def inf_name(self) -> str:
        return posixpath.basename(self.inf)

    def to_dict(self) -> dict[str, object]:
        return {"driver": self.driver, "folder": self.folder, "release": self.os_folder,
                "arch": self.arch, "exact": self.exact, "inf": self.inf,
                "files": list(self.files),
                "inf_info": None if self.info is None else self.info.to_dict(),
                "warnings": list(self.warnings)}


def _layouts(source: DriverSource, driver: str, release: _Release,
             arch: str) -> Iterator[tuple[str, bool]]:
    """Candidate folders for ``driver`` built for ``release``/``arch`` (lower-case), each with
    whether the folder holds that driver alone."""
    folders = source.folders()
    names = [release.folder.lower(), *release.aliases]
    for os_name in names:
        for arch_name in ARCH_FOLDERS.get(arch, (arch,)):
            for folder, alone in ((f"{driver.lower()}/{os_name}/{arch_name.lower()}", True),
                                  (f"{arch_name.lower()}/{os_name}", False),
                                  (f"{os_name}/{arch_name.lower()}", False)):
                if folder in folders:
                    yield folder, alone


def _package_files(source: DriverSource, folder: str, inf_path: str, alone: bool,
                   info: InfInfo | None) -> tuple[str, ...]:
    listing = source.listing(folder)
    by_name = {posixpath.basename(f.path).lower(): f.path for f in listing}
    wanted: list[str] = [inf_path]
    if info is not None and (info.source_files or info.catalog_files):
        for name in (*info.catalog_files, *info.source_files):
            found = by_name.get(name.lower())
            if found is not None and found not in wanted:
                wanted.append(found)
        return tuple(wanted)
    stem = posixpath.splitext(posixpath.basename(inf_path))[0].lower()
    for f in listing:
        base = posixpath.basename(f.path).lower()
        if base.endswith(".pdb") or f.path in wanted:
            continue  # debug symbols: not needed to install or boot
        if alone or posixpath.splitext(base)[0] == stem:
            wanted.append(f.path)
    return tuple(wanted)


def choose_driver(source: DriverSource, driver: str, *, major: int, minor: int,
                  build: int | None, server: bool | None, arch: str) -> DriverBuild:
    """The build of ``driver`` (``viostor``, ``vioscsi``, ``NetKVM``...) for this guest, the
    nearest older one when the source has none for its release (see the module docstring);
    its INF is read (``winmigrate.convert.inf``) to know the package's files."""
    from .inf import InfError, parse_inf

    candidates = os_folder_candidates(major, minor, build, server)
    releases = {r.folder: r for r in OS_FOLDERS}
    inf_name = f"{driver.lower()}.inf"
    for rank, name in enumerate(candidates):
        for folder, alone in _layouts(source, driver, releases[name], arch):
            inf = next((f.path for f in source.listing(folder)
                        if posixpath.basename(f.path).lower() == inf_name), None)
            if inf is None:
                continue
            warnings: list[str] = []
            info = None
            try:
                info = parse_inf(source.read(inf), inf)
            except InfError as e:
                warnings.append(f"{inf}: {e}; copying the folder's files by name")
            files = _package_files(source, folder, inf, alone, info)
            spelled = posixpath.dirname(inf)
            if rank:
                warnings.append(f"{source.label} has no {driver} for {candidates[0]}/{arch}; "
                                f"using the nearest older build, {name}/{arch}")
            if info is not None:
                missing = [n for n in info.source_files
                           if n.lower() not in {posixpath.basename(f).lower() for f in files}]
                if missing:
                    warnings.append(f"{inf} names files the folder does not hold: "
                                    f"{', '.join(missing)}")
            return DriverBuild(driver, spelled, name, arch, rank == 0, inf, files, info,
                               tuple(warnings))
    have = sorted({p.split("/")[1] for p in source.folders()
                   if p.count("/") == 2 and p.startswith(driver.lower() + "/")
                   and p.endswith("/" + ARCH_FOLDERS.get(arch, (arch,))[0].lower())})
    wanted = ", ".join(f"{driver}/{c}/{arch}" for c in candidates[:3]) or "none for this release"
    shown = ", ".join(have) if have else "none"
    raise DriverNotFoundError(
        f"{source.label}: no {driver} driver for Windows {major}.{minor} "
        f"({'server' if server else 'client'}, {arch}); looked for {wanted} and older; the "
        f"source has {driver} for: {shown}")

