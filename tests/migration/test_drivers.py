"""winmigrate.windows.drivers: the DriverDatabase layout as the corpus's Windows 8.1 and 10
hives hold it, and the boot-critical registration written into it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import winmigrate
from tests.migration.tools import assert_diff_is_plan, dump, fixture_hive
from winmigrate.errors import UsageError
from winmigrate.regf.regtype import RegType
from winmigrate.windows import drivers
from winmigrate.windows.changes import find_key

DATA = "mkorman90_regipy/regipy_tests/data/"
DDB_HIVES = ["SYSTEM_2", "SYSTEM_B", "SYSTEM_WIN_10_1709"]
VIOSTOR = drivers.BootDriver(
    "viostor", "viostor.inf", (r"PCI\VEN_1AF4&DEV_1001&REV_00", r"PCI\VEN_1AF4&DEV_1042&REV_01"),
    "{4D36E97B-E325-11CE-BFC1-08002BE10318}", "rhelscsi_inst", "Red Hat VirtIO SCSI controller")
PACKAGE_RE = re.compile(r"^viostor\.inf_amd64_[0-9a-f]{16}$")


def _open(corpus: Path, name: str) -> winmigrate.Hive:
    path = corpus / DATA / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the corpus")
    return winmigrate.open(path)


@pytest.mark.corpus
@pytest.mark.parametrize("name", DDB_HIVES)
def test_inbox_chain_resolves(corpus: Path, name: str) -> None:
    """DeviceIds -> DriverInfFiles Active -> package Descriptors -> Configurations -> Service,
    followed for an inbox storage driver."""
    with _open(corpus, name) as hive:
        (match,) = drivers.find_drivers(hive, r"PCI\CC_010802")
        assert match.inf == "stornvme.inf"
        assert match.rank == b"\x01\xff\x00\x00"
        assert match.package and match.package.startswith("stornvme.inf_amd64_")
        assert (match.configuration, match.service) == ("Stornvme_Inst", "stornvme")
        (match,) = drivers.find_drivers(hive, r"pci\cc_010601")  # case-insensitive
        assert (match.inf, match.configuration, match.service) == (
            "mshdc.inf", "msahci_Inst", "storahci")
        assert drivers.find_drivers(hive, r"PCI\VEN_1AF4&DEV_1001&REV_00") == ()
        info = drivers.driver_database_info(hive)
        assert info is not None and info.arch_name == "amd64"
        assert info.windows10 is (name != "SYSTEM_2")


@pytest.mark.corpus
@pytest.mark.parametrize("name", DDB_HIVES)
def test_package_layout(corpus: Path, name: str) -> None:
    """Every package: a 48-byte Version (flags 0xFF inbox / 0x00 third-party, 0xFF, the
    architecture, the setup class GUID, the DriverVer date and version), the package name of
    the form <inf>_<arch>_<16 hex>, DriverInfFiles listing it, and DeviceIds\\{class} listing
    the inf as REG_NONE."""
    with _open(corpus, name) as hive:
        ddb = hive.key("DriverDatabase")
        classes = {k.name.lower(): k for k in ddb.subkey("DeviceIds").subkeys()
                   if k.name.startswith("{")}
        infs = {k.name.lower(): k for k in ddb.subkey("DriverInfFiles").subkeys()}
        third_party = 0
        for pkg in ddb.subkey("DriverPackages").subkeys():
            assert re.match(r"^[^_]+(?:_[^_]+)*\.inf_amd64_[0-9a-f]{16}$", pkg.name, re.I), pkg
            version = pkg.value("Version")
            assert version.type == RegType.BINARY
            parsed = drivers.parse_version_blob(version.raw)
            assert parsed is not None and parsed.architecture == 9
            assert version.raw[1] == 0xFF and parsed.flags in (0x00, 0xFF)
            inf = str(pkg.get("")).lower()
            assert pkg.name.lower() in [p.lower() for p in infs[inf].get("")]
            if parsed.third_party:
                third_party += 1
                assert inf.startswith("oem") and pkg.get("InfName")
                signer = (pkg.get("SignerName"), pkg.get("SignerScore"))
                # WHQL-signed, or (VirtualBox) Authenticode-signed by the vendor
                assert signer == (drivers.WHQL_SIGNER, drivers.WHQL_SIGNER_SCORE) or (
                    signer[0] and signer[1] == drivers.AUTHENTICODE_SIGNER_SCORE), signer
            cls = classes.get(parsed.class_guid.lower())
            if cls is not None and inf in {v.name.lower() for v in cls.values()}:
                assert cls.value(inf).type == RegType.NONE and cls.value(inf).raw == b""
            if not any(parsed.tail):
                assert drivers.version_blob(
                    parsed.class_guid, parsed.architecture, parsed.date.date(),  # type: ignore[union-attr]
                    parsed.version, third_party=parsed.third_party) == version.raw
        assert third_party >= 1


@pytest.mark.corpus
def test_known_versions(corpus: Path) -> None:
    with _open(corpus, "SYSTEM_2") as hive:
        pkg = find_key(hive, r"DriverDatabase\DriverPackages")
        assert pkg is not None
        nvme = next(k for k in pkg.subkeys() if k.name.startswith("stornvme.inf_"))
        v = drivers.parse_version_blob(nvme.value("Version").raw)
        assert v is not None and not v.third_party
        assert v.class_guid == "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
        assert v.version == (6, 3, 9600, 16421)
        assert v.date is not None and v.date.date() == dt.date(2006, 6, 21)
        vbox = next(k for k in pkg.subkeys() if k.name.startswith("vboxguest.inf_"))
        v = drivers.parse_version_blob(vbox.value("Version").raw)
        assert v is not None and v.third_party and v.version == (5, 0, 10, 0)
        assert vbox.get("") == "oem1.inf" and vbox.get("InfName") == "VBoxGuest.inf"


def test_register_on_windows10() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    before = dump(hive)
    changes = drivers.register_boot_driver(hive, VIOSTOR)
    assert_diff_is_plan(before, dump(hive), changes)
    for hwid in VIOSTOR.hardware_ids:
        (m,) = drivers.find_drivers(hive, hwid)
        assert (m.inf, m.rank, m.configuration, m.service) == (
            "viostor.inf", drivers.RANK_HARDWARE_ID, "rhelscsi_inst", "viostor")
        assert m.package is not None and PACKAGE_RE.match(m.package) and "_tmp" not in m.package
    pkg = hive.key(r"DriverDatabase\DriverPackages").subkey(m.package)
    v = drivers.parse_version_blob(pkg.value("Version").raw)
    assert v is not None and v.third_party and v.architecture == 9
    assert v.class_guid == VIOSTOR.class_guid and v.version == (0, 0, 0, 1)
    assert pkg.get("") == "viostor.inf" and pkg.get("InfName") == "viostor.inf"
    assert pkg.get("SignerScore") == drivers.WHQL_SIGNER_SCORE
    assert len(pkg.get("ImportDate")) == 8  # Windows 10 packages have it
    conf = pkg.subkey(r"Configurations\rhelscsi_inst")
    assert conf.get("ConfigScope") == 7 and conf.get("ConfigFlags") == 0
    desc = pkg.subkey(r"Descriptors\PCI\VEN_1AF4&DEV_1042&REV_01")
    assert desc.get("Description") == "%devicedesc%"
    assert pkg.subkey("Strings").get("devicedesc") == "Red Hat VirtIO SCSI controller"
    inf = hive.key(r"DriverDatabase\DriverInfFiles\viostor.inf")
    assert inf.get("") == [m.package] and inf.get("Active") == m.package
    assert inf.get("Configurations") == ["rhelscsi_inst"]
    cls = hive.key(r"DriverDatabase\DeviceIds\{4d36e97b-e325-11ce-bfc1-08002be10318}")
    assert cls.value("viostor.inf").type == RegType.NONE
    assert drivers.register_boot_driver(hive, VIOSTOR) == ()


def test_package_name_is_stable_and_can_be_given() -> None:
    a = VIOSTOR.package_for("amd64")
    assert a == VIOSTOR.package_for("amd64") and PACKAGE_RE.match(a)
    assert a != VIOSTOR.package_for("x86")
    given = drivers.BootDriver(**{**VIOSTOR.__dict__,
                                  "package_id": "viostor.inf_amd64_0123456789ABCDEF"})
    assert given.package_for("amd64") == "viostor.inf_amd64_0123456789abcdef"
    for bad in ("viostor.inf_tmp", "viostor.inf_amd64_xyz", "vioscsi.inf_amd64_0123456789abcdef"):
        with pytest.raises(UsageError):
            drivers.BootDriver(**{**VIOSTOR.__dict__, "package_id": bad}).package_for("amd64")


def test_partial_registration_adds_missing_ids_only() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    one = drivers.BootDriver(**{**VIOSTOR.__dict__, "hardware_ids": VIOSTOR.hardware_ids[:1]})
    drivers.register_boot_driver(hive, one)
    changes = drivers.plan_register_boot_driver(hive, VIOSTOR)
    ids = {c.key for c in changes if c.key.startswith(r"DriverDatabase\DeviceIds\PCI")}
    assert ids == {r"DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1042&REV_01"}


def test_refused_without_driver_database() -> None:
    with pytest.raises(UsageError, match="no DriverDatabase"):
        drivers.plan_register_boot_driver(fixture_hive("xen_win7_small.hiv"), VIOSTOR)


def test_unknown_architecture() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    hive.key("DriverDatabase").set_value("Architecture", 77)
    with pytest.raises(UsageError, match="architecture"):
        drivers.plan_register_boot_driver(hive, VIOSTOR)


def test_remove_start_override() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    before = dump(hive)
    changes = drivers.remove_start_override(hive, "atapi")
    assert_diff_is_plan(before, dump(hive), changes)
    assert [(c.key, c.value) for c in changes] == [
        (r"ControlSet001\Services\atapi\StartOverride", "0"),
        (r"ControlSet001\Services\atapi\StartOverride", None)]
    assert drivers.remove_start_override(hive, "atapi") == ()
    assert drivers.remove_start_override(hive, "not-there") == ()


@pytest.mark.corpus
def test_register_on_windows81_guest(win81_guest: Path) -> None:
    hive = winmigrate.Hive.from_bytes(win81_guest.read_bytes(), writable=True)
    drivers.register_boot_driver(hive, VIOSTOR)
    (m,) = drivers.find_drivers(hive, VIOSTOR.hardware_ids[0])
    pkg = hive.key(r"DriverDatabase\DriverPackages").subkey(m.package or "")
    assert "ImportDate" not in pkg  # Windows 8.1 packages do not have it
    assert "ConfigScope" not in pkg.subkey(r"Configurations\rhelscsi_inst")
