"""The INF reader against virtio-win-shaped INFs and the syntax corners of the format."""

from __future__ import annotations

import pytest

from tests.convert.tools import script
from winmigrate.convert.inf import InfError, parse_inf


def test_fake_virtio_infs() -> None:
    mk = script("make_virtio_win")
    for driver in mk.DRIVERS:
        for arch in ("amd64", "x86"):
            data = mk.package(driver, "w10", arch)[f"{driver.lower()}.inf"]
            info = parse_inf(data, f"{driver}.inf")
            assert info.ids_for(arch) == mk.HARDWARE_IDS[driver]
            assert info.services == (driver.lower(),)
            assert info.driver_version == mk.VERSION and info.driver_date == "08/15/2024"
            assert info.catalog_files == (f"{driver.lower()}.cat",)
            assert info.provider == "Red Hat, Inc."
            assert info.class_guid is not None and info.class_guid.startswith("{4D36E97")


def test_syntax_corners() -> None:
    text = "\r\n".join([
        "; comment", "[version]", 'Signature = "$Windows NT$"', "Class = %cls% ; trailing",
        "ClassGuid={4d36e97b-e325-11ce-bfc1-08002be10318}", "Provider = %P%",
        "DriverVer=01/02/2023", "[Manufacturer]", "%P%=Models,NTamd64.6.1,NTx86",
        "[Models.NTamd64.6.1]", r'"Desc; with semicolon" = inst, PCI\VEN_1&DEV_2, ' + "\\",
        r"   PCI\VEN_1&DEV_3", "[Models.NTx86]", r"%d%=inst,PCI\VEN_9&DEV_9",
        "[Models]", r"%d%=inst,ROOT\X", "[Strings]", 'cls = "SCSIAdapter"', "P=\"A %% B\"",
        "[SourceDisksFiles.amd64]", "a.sys=1", "[inst.NT.Services]",
        "AddService=svc,2,sec", "AddService=,2", ""])
    info = parse_inf(text.encode("cp1252"))
    assert info.class_name == "SCSIAdapter"
    assert info.class_guid == "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
    assert info.provider == "A % B"
    assert info.driver_date == "01/02/2023" and info.driver_version is None
    assert info.ids_for("amd64") == (r"PCI\VEN_1&DEV_2", r"PCI\VEN_1&DEV_3")
    assert info.ids_for("x86") == (r"PCI\VEN_9&DEV_9",)
    assert info.ids_for("ARM64") == (r"ROOT\X",)
    assert info.services == ("svc",) and info.source_files == ("a.sys",)
    # the same file as UTF-16 with a BOM, and as UTF-8 with one
    assert parse_inf(b"\xff\xfe" + text.encode("utf-16-le")) == info
    assert parse_inf(b"\xef\xbb\xbf" + text.encode("utf-8")) == info


@pytest.mark.parametrize("data", [b"", b"[Strings]\r\na=b", b"\x00\x01\x02" * 100,
                                  b"[Version]" + b"x" * (5 << 20)])
def test_not_an_inf(data: bytes) -> None:
    with pytest.raises(InfError):
        parse_inf(data, "x.inf")
