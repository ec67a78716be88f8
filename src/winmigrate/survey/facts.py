"""The facts row of one hive file (``HiveFacts``): what it is, its state, its problems, and for a
SYSTEM hive (with its SOFTWARE sibling) the Windows facts a conversion depends on.

How each fact is read:

- the file is opened read-only with ``logs="auto"`` (a dirty hive is replayed from its logs
  when they allow it), strictly; when the strict open fails, tolerantly (``read_mode``);
- ``state``: ``clean``, ``recovered`` (dirty on disk, logs replayed) or ``unrecovered``;
- ``problems``: Windows' load-time checks (``Hive.check``) plus what a tolerant read skipped;
  ``notes``: what the checks found that Windows tolerates or repairs on load;
- ``kind``: ``winmigrate.survey.kinds``;
- SYSTEM: control sets (``Select``), ``ComputerName``, the architecture from
  ``<current set>\\Control\\Session Manager\\Environment\\PROCESSOR_ARCHITECTURE``, the NICs of
  the current set, the Xen PV drivers, the Windows version and the conversion verdict
  (``winmigrate.survey.conversion``), with the SOFTWARE sibling when there is one;
- SOFTWARE: the version from ``Microsoft\\Windows NT\\CurrentVersion`` and the architecture from
  its ``BuildLabEx`` (``7601.17514.amd64fre...``), else from ``Wow6432Node`` (then only
  ``64-bit`` is known: x64 and arm64 cannot be told apart).

A SYSTEM hive without ``PROCESSOR_ARCHITECTURE`` takes the architecture of its SOFTWARE
sibling. Nothing here raises for a bad hive: what cannot be read becomes ``error`` (nothing could
be read) or a line in ``problems``.
"""

from __future__ import annotations

import copy
import os
import re
from contextlib import ExitStack

from ..errors import HiveFileError, WinmigrateError
from ..hive import Hive
from ..regf import layout as L
from ..version import __version__
from ..windows import network
from ..windows.changes import find_key
from ..windows.controlsets import ControlSetError, control_sets, control_sets_present
from ..windows.netsettings import Interface
from ..windows.version import VersionSource, WindowsVersion
from ..windows.xen import XenReport, detect
from .conversion import assess_conversion
from .kinds import detect_kind, kind_from_name
from .schema import SCHEMA_VERSION, HiveFacts, NicFacts, clean_text

__all__ = ["MAX_PROBLEMS", "blank_facts", "hive_facts", "normalize_architecture"]

#: The problems listed in a row (``problem_count`` counts them all).
MAX_PROBLEMS = 20

_ARCH = {"x86": "x86", "amd64": "x64", "x64": "x64", "arm64": "arm64", "ia64": "ia64",
         "arm": "arm", "woa": "arm"}
_BUILDLAB_ARCH = re.compile(r"\.(x86|amd64|arm64|ia64|arm|woa)(?:fre|chk)\b", re.IGNORECASE)


def normalize_architecture(text: str) -> str:
    """``x86``, ``x64``, ``arm64``, ``ia64``, ``arm`` for Windows' spellings (``AMD64``...);
    other text is returned as it is."""
    return _ARCH.get(text.strip().lower(), text.strip())


def blank_facts(path: str, sha256: str | None = None, size: int | None = None,
                seconds: float = 0.0) -> HiveFacts:
    """A facts row with nothing known beyond the file."""
    return HiveFacts(
        path=path, sha256=sha256, size=size, guest=None, kind="other", kind_evidence=None,
        logs=[], regf_version=None, root_name=None, embedded_name=None, last_written=None,
        state=None, recovery=None, read_mode=None, check_ok=None, problem_count=0, problems=[],
        notes=[], keys=None, values=None, error=None, error_type=None, windows_product=None,
        windows_version=None, windows_build=None, windows_family=None, windows_source=None,
        architecture=None, architecture_source=None, computer_name=None,
        control_set_current=None, control_sets_in_use=[], control_sets_present=[],
        xen_found=None, xen_services=[], xen_devices=[], xen_uninstallers=[], nics=[],
        software=None, convert_ok=None, convert_blockers=[], convert_warnings=[],
        convert_changes=None, seconds=seconds, winmigrate_version=__version__,
        schema=SCHEMA_VERSION)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _text(data: object) -> str | None:
    return data.strip() or None if isinstance(data, str) else None


def _clean(text: str | None) -> str | None:
    return None if text is None else clean_text(text)


def _file_type(path: str) -> int | None:
    """The base block's file type when the file starts like a hive, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    if len(head) < 512 or head[:4] != L.REGF_SIGNATURE:
        return None
    return int.from_bytes(head[0x1C:0x20], "little")


def _open(path: str, strict: bool) -> Hive:
    return Hive.open(path, logs="auto", strict=strict)


def hive_facts(path: str, *, sha256: str | None, size: int | None, logs: tuple[str, ...] = (),
               software: str | None = None, guest: str | None = None) -> HiveFacts:
    """The facts row of the hive file at ``path`` (see the module docstring)."""
    base = blank_facts(path, sha256, size)
    base["guest"] = guest
    base["logs"] = [os.path.basename(p) for p in logs]
    file_type = _file_type(path)
    if file_type not in (None, 0):
        base["kind"] = "log"
        base["kind_evidence"] = f"base block file type {file_type}"
        _finish(base, [f"a transaction log (file type {file_type}) without its primary file "
                       "next to it"])
        return base
    strict_error: WinmigrateError | None = None
    for strict in (True, False):
        # A strict read can fail when opening or later, on a damaged key deep down: then the
        # whole row is made again from a tolerant read.
        row = copy.deepcopy(base)
        problems = [] if strict_error is None else [
            f"strict read failed: {_one_line(strict_error)}"]
        try:
            hive = _open(path, strict)
        except HiveFileError as e:
            return _failed(row, e)
        except WinmigrateError as e:
            if strict:
                strict_error = e
                continue
            return _failed(row, strict_error or e, path)
        try:
            with hive:
                row["read_mode"] = "strict" if strict else "tolerant"
                _describe_hive(row, hive, problems)
                if row["kind"] == "SYSTEM":
                    _system_facts(row, hive, software, problems)
                elif row["kind"] == "SOFTWARE":
                    _software_facts(row, hive, problems)
                problems.extend(str(p) for p in hive.problems)
        except WinmigrateError as e:
            if strict:
                strict_error = e
                continue
            return _failed(row, strict_error or e, path)
        _finish(row, problems)
        return row
    raise AssertionError("unreachable")  # pragma: no cover


def _failed(row: HiveFacts, e: BaseException, path: str | None = None) -> HiveFacts:
    row["error"] = clean_text(_one_line(e))
    row["error_type"] = type(e).__name__
    if path is not None:
        try:
            with open(path, "rb") as f:
                signature = f.read(4)
        except OSError:
            signature = b""
        if signature != L.REGF_SIGNATURE and not row["logs"]:
            row["kind"] = "not-a-hive"
            row["kind_evidence"] = "no regf signature"
        else:
            by_name = kind_from_name(path)
            if by_name is not None:
                row["kind"] = by_name
                row["kind_evidence"] = clean_text(f"file name {os.path.basename(path)}")
    return row


def _finish(row: HiveFacts, problems: list[str]) -> None:
    row["problem_count"] = len(problems)
    row["problems"] = [clean_text(p) for p in problems[:MAX_PROBLEMS]]


def _describe_hive(row: HiveFacts, hive: Hive, problems: list[str]) -> None:
    bb = hive.base_block
    row["regf_version"] = f"{bb.major}.{bb.minor}"
    row["root_name"] = clean_text(hive.root.name)
    row["embedded_name"] = clean_text(bb.file_name) or None
    row["last_written"] = bb.last_written
    recovery = hive.recovery
    if not hive.dirty:
        row["state"] = "clean"
    else:
        row["state"] = "recovered" if recovery is not None and recovery.applied \
            else "unrecovered"
        row["recovery"] = clean_text(recovery.summary()) if recovery is not None else \
            "dirty primary; transaction logs not looked at"
    kind, evidence = detect_kind(hive, os.path.basename(row["path"]))
    row["kind"] = kind
    row["kind_evidence"] = clean_text(evidence)
    try:
        report = hive.check()
    except WinmigrateError as e:
        problems.append(f"the checks stopped: {_one_line(e)}")
        row["check_ok"] = False
        return
    row["check_ok"] = report.ok
    row["notes"] = [clean_text(str(n)) for n in report.notes[:MAX_PROBLEMS]]
    row["keys"] = report.keys
    row["values"] = report.values
    problems.extend(str(p) for p in report.problems)


def _texts(items: list[object] | tuple[object, ...]) -> list[str]:
    return [clean_text(str(i)) for i in items]


def _nic(nic: Interface) -> NicFacts:
    return NicFacts(
        guid=nic.guid, name=_clean(nic.name), description=_clean(nic.driver_desc),
        service=_clean(nic.service), is_xen=nic.is_xen, dhcp=nic.dhcp,
        ipv4=_texts(list(nic.ipv4)), gateways=[str(g.address) for g in nic.gateways],
        dns_servers=_texts(list(nic.dns_servers)), dns_suffix=_clean(nic.dns_suffix),
        ipv6=_texts(list(nic.ipv6)), ipv6_dns_servers=_texts(list(nic.ipv6_dns_servers)),
        mac_override=_clean(nic.mac_override), static=nic.has_static_config)


def _system_facts(row: HiveFacts, hive: Hive, software_path: str | None,
                  problems: list[str]) -> None:
    row["control_sets_present"] = list(control_sets_present(hive))
    in_use: list[str] = []
    try:
        in_use = list(control_sets(hive).in_use)
    except ControlSetError as e:
        problems.append(f"control sets: {_one_line(e)}")
    row["control_sets_in_use"] = in_use
    current: str | None = None
    try:
        current = network.resolve_control_set(hive)
    except WinmigrateError:
        pass
    row["control_set_current"] = current
    if current is not None:
        try:
            _current_set_facts(row, hive, current, problems)
        except WinmigrateError as e:  # damage below the current set: the rest still counts
            problems.append(f"{current}: {_one_line(e)}")
    with ExitStack() as stack:
        software: Hive | None = None
        notes: list[str] = []
        if software_path is not None:
            try:
                software = stack.enter_context(_open(software_path, strict=True))
                row["software"] = software_path
            except WinmigrateError as e:
                notes.append(f"the SOFTWARE hive beside it could not be read: {_one_line(e)}")
        try:
            verdict = assess_conversion(hive, software, notes=tuple(notes))
        except WinmigrateError as e:  # damage the planner ran into
            row["convert_ok"] = False
            row["convert_blockers"] = [clean_text(f"{type(e).__name__}: {_one_line(e)}")]
            return
        row["convert_ok"] = verdict.ok
        row["convert_blockers"] = [clean_text(b) for b in verdict.blockers]
        row["convert_warnings"] = [clean_text(w) for w in verdict.warnings]
        row["convert_changes"] = verdict.changes
        if row["check_ok"] is False:
            row["convert_warnings"].append("Windows' load-time checks found problems in SYSTEM "
                                           "(see problems)")
        _version_facts(row, verdict.version)
        xen = verdict.xen
        sets = in_use or ([current] if current else [])
        if xen is None and sets:
            try:
                xen = detect(hive, software, control_sets=sets)
            except WinmigrateError as e:
                problems.append(f"Xen detection: {_one_line(e)}")
        _xen_facts(row, xen)
        if row["architecture"] is None and software is not None:
            _software_architecture(row, software)


def _current_set_facts(row: HiveFacts, hive: Hive, current: str, problems: list[str]) -> None:
    name = find_key(hive, rf"{current}\Control\ComputerName\ComputerName")
    row["computer_name"] = _clean(_text(name.get("ComputerName")) if name else None)
    env = find_key(hive, rf"{current}\Control\Session Manager\Environment")
    arch = _text(env.get("PROCESSOR_ARCHITECTURE")) if env is not None else None
    if arch:
        row["architecture"] = clean_text(normalize_architecture(arch))
        row["architecture_source"] = "SYSTEM PROCESSOR_ARCHITECTURE"
    try:
        row["nics"] = [_nic(n) for n in network.interfaces(hive, current)]
    except WinmigrateError as e:
        problems.append(f"network settings: {_one_line(e)}")


def _version_facts(row: HiveFacts, version: WindowsVersion | None) -> None:
    if version is None:
        return
    row["windows_family"] = version.family.value
    row["windows_source"] = "SOFTWARE" if version.source is VersionSource.SOFTWARE else "SYSTEM"
    row["windows_product"] = _clean(version.product_name)
    if version.major is not None:
        row["windows_version"] = f"{version.major}.{version.minor}" + (
            f".{version.build}" if version.build else "")
    row["windows_build"] = version.build


def _xen_facts(row: HiveFacts, xen: XenReport | None) -> None:
    if xen is None:
        return
    row["xen_found"] = xen.found
    row["xen_services"] = [clean_text(s) for s in xen.service_names]
    row["xen_devices"] = [clean_text(d) for d in dict.fromkeys(d.instance for d in xen.devices)]
    row["xen_uninstallers"] = [clean_text(u.display_name) for u in xen.uninstallers]


def _software_architecture(row: HiveFacts, software: Hive) -> None:
    cv = find_key(software, r"Microsoft\Windows NT\CurrentVersion")
    lab = _text(cv.get("BuildLabEx")) if cv is not None else None
    m = _BUILDLAB_ARCH.search(lab or "")
    if m:
        row["architecture"] = normalize_architecture(m.group(1))
        row["architecture_source"] = "SOFTWARE BuildLabEx"
    elif software.root.get_subkey("Wow6432Node") is not None:
        row["architecture"] = "64-bit"
        row["architecture_source"] = "SOFTWARE has Wow6432Node"


def _software_facts(row: HiveFacts, hive: Hive, problems: list[str]) -> None:
    try:
        cv = find_key(hive, r"Microsoft\Windows NT\CurrentVersion")
        if cv is not None:
            row["windows_source"] = "SOFTWARE"
            row["windows_product"] = _clean(_text(cv.get("ProductName")))
            major, minor = cv.get("CurrentMajorVersionNumber"), cv.get("CurrentMinorVersionNumber")
            if not isinstance(major, int):
                m = re.fullmatch(r"([0-9]+)\.([0-9]+)", _text(cv.get("CurrentVersion")) or "")
                major, minor = (int(m.group(1)), int(m.group(2))) if m else (None, None)
            minor = minor if isinstance(minor, int) else 0
            build = _text(cv.get("CurrentBuildNumber")) or _text(cv.get("CurrentBuild"))
            if build is not None and build.isdigit():
                row["windows_build"] = int(build)
            if major is not None:
                row["windows_version"] = f"{major}.{minor}" + (
                    f".{row['windows_build']}" if row["windows_build"] else "")
                row["windows_family"] = ("driver-database" if (major, minor) >= (6, 2)
                                         else "legacy-cdd")
        _software_architecture(row, hive)
    except WinmigrateError as e:
        problems.append(f"Windows version: {_one_line(e)}")
