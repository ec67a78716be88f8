"""plan_xen_to_kvm end to end: on small fixtures made from scratch (always run) and on Xen guests
derived from real corpus SYSTEM hives (Windows 7, 8.1, 10; skipped without the corpus).

After apply and save, for every guest: the hive passes check(); a logical diff of before and
after (read by winmigrate, and by hivex, python-registry and regipy where available) equals the
plan; no filter list names a Xen service, and no filter names a disabled or missing service that
did not already before; every control set in use boots the virtio disk (storage_ready)."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import assert_written_ok
from tests.migration.tools import (
    FIXTURES,
    assert_diff_is_plan,
    dump,
    filter_problems,
    fixture_hive,
    fixture_script,
    writable_copy,
    xen_filter_entries,
)
from tests.oracles import (
    OracleError,
    hivex_available,
    hivex_dump,
    hivexml_available,
    hivexml_ok,
    python_registry_available,
    python_registry_dump,
    regipy_available,
    regipy_dump,
)
from tests.oracles.cmlib import hivecheck_exe, hivecheck_verdict
from winmigrate.convert import (
    STORAGE_DRIVERS,
    ConversionOptions,
    FirstBootService,
    plan_xen_to_kvm,
    storage_ready,
)
from winmigrate.errors import DirtyHiveError, UsageError
from winmigrate.windows import drivers, services
from winmigrate.windows.changes import ChangeKind, find_key
from winmigrate.windows.controlsets import ControlSetError
from winmigrate.windows.version import WindowsFamily

FIRSTBOOT = r"C:\Program Files\KvmConv\kvmconv.exe"
WITH_SERVICE = ConversionOptions(first_boot=FirstBootService(FIRSTBOOT))
PACKAGE_RE = re.compile(r"^viostor\.inf_amd64_[0-9a-f]{16}$|^vioscsi\.inf_amd64_[0-9a-f]{16}$")


def _check_converted(before: winmigrate.Hive, after: winmigrate.Hive, changes: tuple,  # type: ignore[type-arg]
                     storage: str = "viostor") -> None:
    assert_written_ok(after, unreferenced=False)
    assert_diff_is_plan(dump(before), dump(after), changes)
    assert xen_filter_entries(after) == []
    assert filter_problems(after) <= filter_problems(before)
    assert storage_ready(after, storage) == []


# -- small fixtures ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xen_win7_small.hiv", "xen_win10_small.hiv", "xen_cs10.hiv"])
@pytest.mark.parametrize("storage", ["viostor", "vioscsi"])
def test_small_guests_convert(name: str, storage: str) -> None:
    before = fixture_hive(name)
    hive = writable_copy(before)
    plan = plan_xen_to_kvm(hive, None, replace(WITH_SERVICE, storage_driver=storage))
    assert dump(hive) == dump(before)  # planning never writes
    done = plan.apply()
    assert done == plan.changes
    after = winmigrate.Hive.from_bytes(hive.to_bytes())
    _check_converted(before, after, plan.changes, storage)
    # applying twice, or planning again, changes nothing
    assert plan.apply() == ()
    assert plan_xen_to_kvm(hive, None, replace(WITH_SERVICE, storage_driver=storage)).changes == ()


def test_every_control_set_in_use_is_handled() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    plan = plan_xen_to_kvm(hive)
    assert plan.control_sets == ("ControlSet001", "ControlSet002")
    touched = {c.key.split("\\")[0] for c in plan.changes}
    assert touched == {"ControlSet001", "ControlSet002"}
    plan.apply()
    for cs in plan.control_sets:
        svc = services.get_service(hive, "viostor", cs)
        assert svc is not None and svc.start == services.StartType.BOOT
        for hwid in STORAGE_DRIVERS["viostor"].hardware_ids:
            key = find_key(hive, f"{cs}\\Control\\CriticalDeviceDatabase\\"
                                 + hwid.replace("\\", "#").lower())
            assert key is not None and key.get("Service") == "viostor"
            assert key.get("ClassGUID") == "{4D36E97B-E325-11CE-BFC1-08002BE10318}"


def test_control_sets_numbered_ten_and_up() -> None:
    hive = fixture_hive("xen_cs10.hiv")
    plan = plan_xen_to_kvm(hive)
    assert plan.control_sets == ("ControlSet010", "ControlSet011")
    assert {c.key.split("\\")[0] for c in plan.changes} == {"ControlSet010", "ControlSet011"}


def test_storage_service_values() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    plan_xen_to_kvm(hive, None, ConversionOptions(storage_driver="vioscsi")).apply()
    key = find_key(hive, r"ControlSet001\Services\vioscsi")
    assert key is not None
    assert {v.name: (v.type, v.data) for v in key.values()} == {
        "Type": (winmigrate.RegType.DWORD, 1), "Start": (winmigrate.RegType.DWORD, 0),
        "ErrorControl": (winmigrate.RegType.DWORD, 1),
        "ImagePath": (winmigrate.RegType.EXPAND_SZ, r"system32\drivers\vioscsi.sys"),
        "Group": (winmigrate.RegType.SZ, "SCSI miniport")}


def test_windows8_gets_driver_database_not_cdd() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    plan = plan_xen_to_kvm(hive)
    assert plan.version.family is WindowsFamily.DRIVER_DATABASE
    assert not any("CriticalDeviceDatabase" in c.key for c in plan.changes)
    plan.apply()
    for hwid in STORAGE_DRIVERS["viostor"].hardware_ids:
        matches = drivers.find_drivers(hive, hwid)
        assert [m.service for m in matches] == ["viostor"]
        assert PACKAGE_RE.match(matches[0].package or "")
        assert "_tmp" not in (matches[0].package or "")


def test_windows7_gets_cdd_not_driver_database() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    plan = plan_xen_to_kvm(hive)
    assert plan.version.family is WindowsFamily.LEGACY_CDD
    assert not any(c.key.startswith("DriverDatabase") for c in plan.changes)


def test_start_override_is_removed() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    # an existing viostor kept off by StartOverride (as Windows 8+ does for inbox boot drivers)
    services.register_service(hive, services.Service(
        "viostor", type=services.ServiceType.KERNEL_DRIVER, start=services.StartType.DEMAND,
        error_control=services.ErrorControl.NORMAL))
    hive.key(r"ControlSet001\Services\viostor").create_key("StartOverride").set_value("0", 3)
    plan = plan_xen_to_kvm(hive, None, ConversionOptions(ide_fallback=True))
    deleted = {c.key for c in plan.changes if c.kind is ChangeKind.DELETE_KEY}
    assert r"ControlSet001\Services\viostor\StartOverride" in deleted
    assert r"ControlSet001\Services\atapi\StartOverride" in deleted  # ide fallback
    plan.apply()
    assert services.get_service(hive, "viostor").start_override == {}  # type: ignore[union-attr]
    assert storage_ready(hive) == []


def test_hive_that_already_has_viostor_is_idempotent() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    plan_xen_to_kvm(hive, None, ConversionOptions(neutralise_xen=False)).apply()
    # a proper install spells things its own way: keep them
    for cs in ("ControlSet001", "ControlSet002"):
        key = hive.key(cs + r"\Services\viostor")
        key.set_value("ImagePath", r"\SystemRoot\System32\drivers\viostor.sys",
                      winmigrate.RegType.EXPAND_SZ)
        key.set_value("Group", "SCSI Miniport")
    plan = plan_xen_to_kvm(hive)
    assert not any("viostor" in c.key.lower() for c in plan.changes)
    assert not any("1AF4" in c.key.upper() for c in plan.changes)


def test_firstboot_service() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    service = FirstBootService(FIRSTBOOT, name="KvmConv", description="Finishes the KVM move",
                               depend_on=["Tcpip"], delayed=True,
                               parameters={"Application": FIRSTBOOT})
    plan = plan_xen_to_kvm(hive, None, ConversionOptions(first_boot=service))
    plan.apply()
    svc = services.get_service(hive, "KvmConv")
    assert svc is not None
    assert svc.type == services.ServiceType.WIN32_OWN_PROCESS
    assert svc.start == services.StartType.AUTO
    assert svc.error_control == services.ErrorControl.NORMAL
    assert svc.image_path == f'"{FIRSTBOOT}"'
    assert svc.object_name == "LocalSystem"
    assert svc.display_name == "KvmConv"
    assert svc.depend_on_service == ("Tcpip",)
    assert svc.delayed_auto_start is True
    assert svc.parameters == {"Application": FIRSTBOOT}
    key = hive.key(r"ControlSet001\Services\KvmConv")
    assert key.value("ImagePath").type == winmigrate.RegType.EXPAND_SZ
    assert key.value("DependOnService").type == winmigrate.RegType.MULTI_SZ
    # the new key inherits its parent's security descriptor
    assert key.security is not None and key.parent is not None
    assert key.security.to_sddl() == key.parent.security.to_sddl()  # type: ignore[union-attr]


def test_no_firstboot_service_without_image() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    plan = plan_xen_to_kvm(hive)
    assert not any("KvmConv" in c.key for c in plan.changes)


def test_software_changes_certificate_and_device_path() -> None:
    from tests.migration.test_certs import TEST_CERT_PEM

    system = fixture_hive("xen_win7_small.hiv")
    software = fixture_hive("xen_software_small.hiv")
    before = dump(software)
    options = ConversionOptions(trust_certificates=[TEST_CERT_PEM],
                                device_path=r"C:\Windows\KvmConv\drivers")
    plan = plan_xen_to_kvm(system, software, options)
    assert plan.version.product_name == "Windows Server 2008 R2 Enterprise"
    assert plan.version.family is WindowsFamily.LEGACY_CDD
    assert any("Citrix XenServer Tools" in n for n in plan.first_boot)
    assert plan.software_changes
    plan.apply()
    assert_diff_is_plan(before, dump(software), plan.changes, "SOFTWARE")
    assert software.key(r"Microsoft\Windows\CurrentVersion").get("DevicePath") == (
        r"%SystemRoot%\inf;C:\Windows\KvmConv\drivers")
    assert plan_xen_to_kvm(system, software, options).changes == ()


def test_apply_is_all_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    before = dump(hive)
    plan = plan_xen_to_kvm(hive, None, WITH_SERVICE)
    calls = {"n": 0}
    real = winmigrate.Key.set_value

    def failing(self: winmigrate.Key, *a: object, **kw: object) -> object:
        calls["n"] += 1
        if calls["n"] == 25:
            raise OSError("disk on fire")
        return real(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(winmigrate.Key, "set_value", failing)
    with pytest.raises(OSError):
        plan.apply()
    monkeypatch.undo()
    assert dump(hive) == before


def test_software_failure_rolls_back_system(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.migration.test_certs import TEST_CERT_PEM

    system = fixture_hive("xen_win7_small.hiv")
    software = fixture_hive("xen_software_small.hiv")
    before = (dump(system), dump(software))
    plan = plan_xen_to_kvm(system, software, ConversionOptions(trust_certificates=[TEST_CERT_PEM]))
    real = winmigrate.Key.set_value

    def failing(self: winmigrate.Key, name: str, *a: object, **kw: object) -> object:
        if name == "Blob":
            raise OSError("no space left")
        return real(self, name, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(winmigrate.Key, "set_value", failing)
    with pytest.raises(OSError):
        plan.apply()
    monkeypatch.undo()
    assert (dump(system), dump(software)) == before


def test_select_pointing_at_a_missing_control_set() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    hive.key("Select").set_value("LastKnownGood", 3)
    with pytest.raises(ControlSetError, match=r"LastKnownGood names ControlSet003"):
        plan_xen_to_kvm(hive)


def test_missing_select_is_refused() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    hive.root.delete_key("Select", recursive=True)
    with pytest.raises(ControlSetError, match="no Select key"):
        plan_xen_to_kvm(hive)


def test_bad_arguments() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    with pytest.raises(UsageError):
        plan_xen_to_kvm(hive, None, ConversionOptions(storage_driver="ahci"))
    with pytest.raises(UsageError):
        plan_xen_to_kvm(hive, None, ConversionOptions(device_path=r"C:\x"))  # needs SOFTWARE


def test_plan_is_readable_and_typed() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    plan = plan_xen_to_kvm(hive)
    text = [str(c) for c in plan.changes]
    assert any(t.startswith(r"[SYSTEM] ControlSet001\Services\xenvbd: set Start = REG_DWORD 4")
               and "was REG_DWORD 0" in t for t in text)
    d = plan.to_dict()
    assert d["storage_driver"] == "viostor" and len(d["changes"]) == len(plan.changes)  # type: ignore[arg-type]


# -- dirty hives ---------------------------------------------------------------------------------


def _refused_without_replay(path: Path) -> None:
    """A dirty hive read as it stands (logs ignored): the plan warns, applying it is refused,
    and nothing changed."""
    with winmigrate.open(path, writable=True, logs="ignore") as hive:
        assert hive.dirty
        before = dump(hive)
        plan = plan_xen_to_kvm(hive)
        assert any("dirty" in w for w in plan.warnings)
        with pytest.raises(DirtyHiveError):
            plan.apply()
        assert dump(hive) == before


def test_dirty_hive_without_replay_is_refused(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "mkorman90_regipy/regipy_tests/data/SYSTEM_B"
    if not src.is_file():
        pytest.skip("SYSTEM_B is not in the corpus")
    path = tmp_path / "SYSTEM"
    shutil.copyfile(src, path)
    original = path.read_bytes()
    _refused_without_replay(path)
    assert path.read_bytes() == original


@pytest.mark.parametrize("fixture", ["xen_win7_small.hiv", "xen_win10_small.hiv"])
def test_dirty_fixture_refused_without_its_logs_and_replayed_with_them(tmp_path: Path,
                                                                         fixture: str) -> None:
    """Without the corpus: a Xen guest fixture made dirty the way Windows 8.1+ leaves a hive
    (the primary a write behind, two new-format logs holding it), then migrated."""
    from tests.fuzz.seeds import build_dirty_new
    from tests.helpers import FIXTURES
    from winmigrate.cli import main

    primary, logs = build_dirty_new((FIXTURES / fixture).read_bytes())
    path = tmp_path / "SYSTEM"
    path.write_bytes(primary)
    _refused_without_replay(path)
    with winmigrate.open(path, writable=True) as hive:  # dirty, and no logs to replay it
        assert hive.recovery is not None and not hive.recovery.applied
        with pytest.raises(DirtyHiveError):
            plan_xen_to_kvm(hive).apply()
    assert main(["migrate", "xen-to-kvm", "--system", str(path)]) == 1
    assert path.read_bytes() == primary
    for role, data in logs.items():
        (tmp_path / f"SYSTEM.{role}").write_bytes(data)
    assert main(["migrate", "xen-to-kvm", "--system", str(path)]) == 0
    assert (tmp_path / "SYSTEM.bak").read_bytes() == primary  # backed up with its logs
    assert (tmp_path / "SYSTEM.LOG1.bak").read_bytes() == logs["LOG1"]
    with winmigrate.open(path) as saved:
        assert not saved.dirty
        assert_written_ok(saved, unreferenced=False)
        assert saved.get_key("Added2") is not None  # what the logs held is kept
        assert storage_ready(saved) == []
    assert all((tmp_path / f"SYSTEM.{role}").stat().st_size == 0 for role in logs)


def test_dirty_hive_is_replayed_first(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "mkorman90_regipy/regipy_tests/data/SYSTEM_B"
    if not src.is_file():
        pytest.skip("SYSTEM_B is not in the corpus")
    for ext in ("", ".LOG1", ".LOG2"):
        shutil.copyfile(src.with_name(src.name + ext), tmp_path / ("SYSTEM" + ext))
    with winmigrate.open(tmp_path / "SYSTEM", writable=True, logs="auto") as hive:
        assert hive.recovery is not None and hive.recovery.applied
        plan = plan_xen_to_kvm(hive)
        assert not any("dirty" in w for w in plan.warnings)
        plan.apply()
        hive.save(backup=True)
    assert (tmp_path / "SYSTEM.bak").is_file() and (tmp_path / "SYSTEM.LOG1.bak").is_file()
    with winmigrate.open(tmp_path / "SYSTEM") as saved:
        assert not saved.dirty
        assert_written_ok(saved, unreferenced=False)
        assert storage_ready(saved) == []


# -- guests derived from corpus hives ------------------------------------------------------------


def _oracle_dumps(_path: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    if hivex_available():
        out["hivex"] = hivex_dump
    if python_registry_available():
        out["python-registry"] = python_registry_dump
    if regipy_available():
        out["regipy"] = regipy_dump
    return out


def _convert_file(src: Path, dst: Path, options: ConversionOptions) -> tuple:  # type: ignore[type-arg]
    shutil.copyfile(src, dst)
    with winmigrate.open(dst, writable=True) as hive:
        plan = plan_xen_to_kvm(hive, None, options)
        done = plan.apply()
        hive.save()
    return plan, done


_CONVERTED: dict[str, tuple[Path, Path, object, tuple]] = {}  # type: ignore[type-arg]


def converted(kind: str, request: pytest.FixtureRequest) -> tuple:  # type: ignore[type-arg]
    """(guest, converted file, plan, applied changes) for a corpus guest, once per session."""
    if kind not in _CONVERTED:
        guest: Path = request.getfixturevalue(f"{kind}_guest")
        out = guest.with_name(guest.name + ".kvm")
        plan, done = _convert_file(guest, out, WITH_SERVICE)
        _CONVERTED[kind] = (guest, out, plan, done)
    return _CONVERTED[kind]


@pytest.mark.corpus
@pytest.mark.parametrize("kind", ["win7", "win81", "win10"])
def test_corpus_guest_converts(kind: str, request: pytest.FixtureRequest) -> None:
    guest, out, plan, done = converted(kind, request)
    assert done == plan.changes
    with winmigrate.open(guest) as before, winmigrate.open(out) as after:
        _check_converted(before, after, plan.changes)
        assert plan.xen.found
        assert any(n.is_xen for n in plan.xen.nics)
        want = (WindowsFamily.LEGACY_CDD if kind == "win7" else WindowsFamily.DRIVER_DATABASE)
        assert plan.version.family is want
        if kind != "win7":
            for hwid in STORAGE_DRIVERS["viostor"].hardware_ids:
                (match,) = drivers.find_drivers(after, hwid)
                assert match.service == "viostor" and PACKAGE_RE.match(match.package or "")
        again = plan_xen_to_kvm(after, None, WITH_SERVICE)
        assert again.changes == ()


def _read_back(kind: str, request: pytest.FixtureRequest, oracles: dict[str, object]) -> None:
    if not oracles:
        pytest.skip("no independent parser available")
    guest, out, plan, _ = converted(kind, request)
    for name, fn in oracles.items():
        try:
            before, after = fn(guest), fn(out)  # type: ignore[operator]
        except OracleError as e:
            pytest.fail(f"{name} cannot read the converted hive: {e}")
        assert_diff_is_plan(before, after, plan.changes)
    if hivexml_available():
        assert hivexml_ok(out) is True
    if hivecheck_exe() is not None:
        assert (verdict := hivecheck_verdict(out))[0], verdict[1]


@pytest.mark.corpus
@pytest.mark.oracle
def test_corpus_guest_read_back_hivex(request: pytest.FixtureRequest) -> None:
    """hivex sees exactly the planned changes in the converted Windows 7 guest (CDD), and
    hivexml accepts it. The other parsers and guests: the slow test below."""
    _read_back("win7", request, {"hivex": hivex_dump} if hivex_available() else {})


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.oracle
@pytest.mark.parametrize("kind", ["win7", "win81", "win10"])
def test_corpus_guest_read_back_all_parsers(kind: str, request: pytest.FixtureRequest) -> None:
    """hivex, python-registry and regipy each see exactly the planned changes."""
    _read_back(kind, request, _oracle_dumps(Path()))


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["xen_win7_small.hiv", "xen_win10_small.hiv", "xen_cs10.hiv"])
def test_small_guest_read_back_by_other_parsers(name: str, tmp_path: Path) -> None:
    src = FIXTURES / name
    plan, _ = _convert_file(src, tmp_path / name,
                             WITH_SERVICE)
    oracles = _oracle_dumps(src)
    if not oracles:
        pytest.skip("no independent parser available")
    for oracle, fn in oracles.items():
        try:
            before, after = fn(src), fn(tmp_path / name)  # type: ignore[operator]
        except OracleError as e:
            pytest.fail(f"{oracle} cannot read the converted hive: {e}")
        assert_diff_is_plan(before, after, plan.changes)
    if hivexml_available():
        assert hivexml_ok(tmp_path / name) is True
    if hivecheck_exe() is not None:
        assert (verdict := hivecheck_verdict(tmp_path / name))[0], verdict[1]


def test_fixture_script_is_deterministic() -> None:
    """The committed fixtures are what the script writes (frozen timestamps)."""
    script = fixture_script()
    for name, build in script.FIXTURES.items():
        assert script.frozen_bytes(build()) == (FIXTURES / name).read_bytes(), name


@pytest.mark.parametrize("name", ["xen_win7_small.hiv", "xen_win10_small.hiv"])
def test_winmigrate_diff_equals_plan(name: str) -> None:
    """The project's own logical diff (winmigrate.hive.diff) agrees with the plan."""
    wdiff = pytest.importorskip("winmigrate.hive.diff")
    before = fixture_hive(name)
    hive = writable_copy(before)
    plan = plan_xen_to_kvm(hive, None, WITH_SERVICE)
    plan.apply()
    added, removed, values = set(), set(), {}
    for ch in wdiff.diff(before, hive).changes:
        path = tuple(p.upper() for p in ch.path.split("\\"))
        if ch.kind == "key_added":
            added.add(path)
        elif ch.kind == "key_removed":
            removed.add(path)
        elif ch.kind == "value_removed":
            values[(path, ch.name.upper())] = None
        elif ch.kind in ("value_added", "value_changed"):
            new = (ch.type, ch.raw) if ch.kind == "value_added" else (ch.new_type, ch.new_raw)
            values[(path, ch.name.upper())] = new
    from tests.migration.tools import plan_effect

    created, deleted, planned = plan_effect(plan.changes)
    assert (added, removed) == (created, deleted)
    assert values == planned
