"""Choosing virtio-win drivers: the release folders, the nearest older fallback, the three
layouts, an ISO read in place, and a clear error naming what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.convert.tools import make_virtio
from winmigrate.convert.virtio import (
    DriverNotFoundError,
    choose_driver,
    open_driver_source,
    os_folder_candidates,
)
from winmigrate.errors import UsageError

# (major, minor, build, server, arch) -> virtio-win's folder (what virt-v2v picks too)
EXACT = [
    ((5, 1, 2600, False, "x86"), "xp"),
    ((5, 2, 3790, True, "x86"), "2k3"),
    ((5, 2, 3790, True, "amd64"), "2k3"),
    ((6, 0, 6002, True, "amd64"), "2k8"),
    ((6, 0, 6002, False, "x86"), "2k8"),
    ((6, 1, 7601, False, "amd64"), "w7"),
    ((6, 1, 7601, True, "amd64"), "2k8R2"),
    ((6, 2, 9200, False, "amd64"), "w8"),
    ((6, 2, 9200, True, "amd64"), "2k12"),
    ((6, 3, 9600, False, "x86"), "w8.1"),
    ((6, 3, 9600, True, "amd64"), "2k12R2"),
    ((10, 0, 19045, False, "amd64"), "w10"),
    ((10, 0, 19045, False, "x86"), "w10"),
    ((10, 0, 14393, True, "amd64"), "2k16"),
    ((10, 0, 17763, True, "amd64"), "2k19"),
    ((10, 0, 20348, True, "amd64"), "2k22"),
    ((10, 0, 22631, False, "amd64"), "w11"),
    ((10, 0, 26100, True, "amd64"), "2k25"),
    ((10, 0, 22631, False, "ARM64"), "w11"),
]


@pytest.mark.parametrize(("guest", "folder"), EXACT, ids=[f for _g, f in EXACT])
def test_release_folder(virtio_tree: Path, guest: tuple, folder: str) -> None:
    major, minor, build, server, arch = guest
    assert os_folder_candidates(major, minor, build, server)[0] == folder
    with open_driver_source(virtio_tree) as source:
        driver = "NetKVM" if arch == "ARM64" else "viostor"
        build_ = choose_driver(source, driver, major=major, minor=minor, build=build,
                               server=server, arch=arch)
    assert build_.os_folder == folder and build_.exact
    assert build_.folder.lower() == f"{driver}/{folder}/{arch}".lower()
    assert build_.inf_name == f"{driver.lower()}.inf"
    names = sorted(Path(f).name for f in build_.files)
    assert not any(n.endswith(".pdb") for n in names)  # debug symbols stay out of the guest
    assert f"{driver.lower()}.sys" in names and f"{driver.lower()}.cat" in names


def test_candidates_never_cross_the_nt6_line() -> None:
    assert os_folder_candidates(5, 1, 2600, False) == ["xp"]
    assert set(os_folder_candidates(5, 2, 3790, True)) == {"2k3", "xp"}
    assert "xp" not in os_folder_candidates(6, 0, 6002, False)
    # newer builds are never taken for an older Windows
    assert "w11" not in os_folder_candidates(10, 0, 19045, False)
    assert os_folder_candidates(10, 0, 17763, True)[:3] == ["2k19", "2k16", "w10"]
    assert os_folder_candidates(10, 0, 19045, False)[:2] == ["w10", "2k19"]


def test_nearest_older_fallback(tmp_path: Path) -> None:
    tree = make_virtio(tmp_path / "vw", releases=["2k16", "w8.1", "w7"])
    with open_driver_source(tree) as source:
        got = choose_driver(source, "viostor", major=10, minor=0, build=20348, server=True,
                            arch="amd64")
        assert got.os_folder == "2k16" and not got.exact
        assert "nearest older" in " ".join(got.warnings)
        got = choose_driver(source, "viostor", major=6, minor=3, build=9600, server=True,
                            arch="amd64")
        assert got.os_folder == "w8.1"  # the client build of the same kernel first
        with pytest.raises(DriverNotFoundError) as e:
            choose_driver(source, "viostor", major=5, minor=1, build=2600, server=False,
                          arch="x86")
    message = str(e.value)
    assert "viostor/xp/x86" in message and "w7" in message


def test_missing_architecture_is_named(tmp_path: Path) -> None:
    tree = make_virtio(tmp_path / "vw", releases=["2k19"])
    with open_driver_source(tree) as source, pytest.raises(DriverNotFoundError) as e:
        choose_driver(source, "viostor", major=10, minor=0, build=19045, server=False,
                      arch="x86")
    assert "x86" in str(e.value)


@pytest.mark.parametrize("layout", ["arch-first"])
def test_other_layouts(tmp_path: Path, layout: str) -> None:
    tree = make_virtio(tmp_path / "vw", releases=["w10", "2k19"], layout=layout)
    with open_driver_source(tree) as source:
        got = choose_driver(source, "NetKVM", major=10, minor=0, build=19045, server=False,
                            arch="amd64")
    assert got.folder.lower() == "amd64/w10"
    names = sorted(Path(f).name for f in got.files)
    # the folder holds every driver: only NetKVM's files are taken (its INF says which)
    assert names == ["netkvm.cat", "netkvm.inf", "netkvm.sys", "netkvmco.dll"]


def test_old_iso_layout(tmp_path: Path) -> None:
    """The oldest ISOs: ``win7/amd64/viostor.inf`` (release first, older names)."""
    tree = make_virtio(tmp_path / "vw", releases=["w7"])
    old = tmp_path / "old"
    (old / "win7" / "AMD64").mkdir(parents=True)
    for f in (tree / "viostor" / "w7" / "amd64").iterdir():
        (old / "win7" / "AMD64" / f.name.upper()).write_bytes(f.read_bytes())
    with open_driver_source(old) as source:
        got = choose_driver(source, "viostor", major=6, minor=1, build=7601, server=False,
                            arch="amd64")
    assert got.folder == "win7/AMD64" and got.exact


def test_iso_reads_like_the_folder(virtio_tree: Path, virtio_iso: Path) -> None:
    with open_driver_source(virtio_tree) as folder, open_driver_source(virtio_iso) as iso:
        assert set(folder.files) == set(iso.files)
        for guest, _release in EXACT[::4]:
            major, minor, build, server, arch = guest
            a = choose_driver(folder, "viostor" if arch != "ARM64" else "NetKVM", major=major,
                              minor=minor, build=build, server=server, arch=arch)
            b = choose_driver(iso, "viostor" if arch != "ARM64" else "NetKVM", major=major,
                              minor=minor, build=build, server=server, arch=arch)
            assert a.files == b.files
            for f in a.files:
                assert folder.read(f) == iso.read(f)


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such"):
        open_driver_source(tmp_path / "nothing")
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"not an iso" * 100)
    with pytest.raises(UsageError, match="neither a folder nor an ISO"):
        open_driver_source(junk)
