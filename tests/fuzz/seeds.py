"""Seeds for the fuzzers: small synthetic hives built with winmigrate's writer (every record kind,
a SYSTEM layout the network and service readers understand, dirty variants with logs of both
formats), the small fixtures, and small corpus hives when the shared corpus is there.

Synthetic seeds are made deterministic (timestamps normalised, checksum recomputed) so that a
campaign index names the same input on every machine with the same winmigrate writer; a failure
is saved with its bytes anyway.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import winmigrate
from winmigrate.regf import layout as L
from winmigrate.regf.baseblock import checksum
from winmigrate.regf.marvin import marvin32

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "hives"
FIXED_FILETIME = 0x01D9_0000_0000_0000  # 2022-10 or so; any constant will do
CORPUS_MAX = 300 * 1024
GUID = "{6B1B2E5C-3F2A-4C1D-9E8F-0123456789AB}"
NET_CLASS = "{4D36E972-E325-11CE-BFC1-08002BE10318}"


@dataclass(frozen=True)
class Seed:
    """One seed: a primary hive and, for dirty seeds, its logs by role (``LOG1``...)."""

    name: str
    data: bytes
    logs: dict[str, bytes] = field(default_factory=dict)
    weight: float = 1.0

    @property
    def size(self) -> int:
        return len(self.data) + sum(len(v) for v in self.logs.values())

    def __repr__(self) -> str:  # (Hypothesis prints the seed of a failing example)
        return f"Seed({self.name!r}, {len(self.data)} bytes, logs={sorted(self.logs)})"

    def digest(self) -> str:
        h = hashlib.sha256(self.data)
        for role in sorted(self.logs):
            h.update(role.encode() + self.logs[role])
        return h.hexdigest()[:16]


# -- synthetic hives ------------------------------------------------------------------------------


def normalise(data: bytes | bytearray, *, sequence: int | None = None) -> bytes:
    """Fixed timestamps in the base block, the bin headers and every key node; checksum redone."""
    buf = bytearray(data)
    struct.pack_into("<Q", buf, 12, FIXED_FILETIME)
    if sequence is not None:
        struct.pack_into("<II", buf, 4, sequence, sequence)
    bins_end = 4096 + struct.unpack_from("<I", buf, 40)[0]
    pos = 4096
    while pos + 32 <= min(bins_end, len(buf)) and buf[pos:pos + 4] == b"hbin":
        size = struct.unpack_from("<I", buf, pos + 8)[0]
        if size < 4096:
            break
        struct.pack_into("<Q", buf, pos + 20, FIXED_FILETIME)
        cell = pos + 32
        while cell + 8 <= pos + size:
            csize = struct.unpack_from("<i", buf, cell)[0]
            length = abs(csize)
            if length < 8:
                break
            if csize < 0 and buf[cell + 4:cell + 6] == b"nk":
                struct.pack_into("<Q", buf, cell + 8, FIXED_FILETIME)
            cell += length
        pos += size
    struct.pack_into("<I", buf, L.CHECKSUM_OFFSET, checksum(buf))
    return bytes(buf)


def _fill_types(key: winmigrate.Key) -> None:
    key.set_value("", "default value")
    key.set_value("sz", "text", 1)
    key.set_value("expand", r"%SystemRoot%\x", 2)
    key.set_value("binary", bytes(range(40)), 3)
    key.set_value("resident", b"\x01\x02", 3)
    key.set_value("empty", b"", 3)
    key.set_value("dword", 0x12345678, 4)
    key.set_value("dword_be", 0x12345678, 5)
    key.set_value("link", r"\Registry\Machine\System", 6)
    key.set_value("multi", ["a", "bc", "def"], 7)
    key.set_value("resource", raw=bytes(24), type=8)
    key.set_value("qword", 1 << 40, 11)
    key.set_value("devprop", raw=b"\x00" * 6, type=0xFFFF0012)
    key.set_value("значение", "юникод")


def _system_layout(root: winmigrate.Key, sets: tuple[int, ...] = (1, 2)) -> None:
    select = root.create_key("Select")
    for name, number in (("Current", 1), ("Default", 1), ("LastKnownGood", 2), ("Failed", 0)):
        select.set_value(name, number)
    for cs in sets:
        ccs = root.create_key(f"ControlSet{cs:03d}")
        params = ccs.create_key(r"Services\Tcpip\Parameters")
        params.set_value("Hostname", "host1")
        params.set_value("NV Hostname", "host2")
        params.set_value("Domain", "example.com")
        params.set_value("SearchList", "a.example,b.example")
        params.create_key("PersistentRoutes").set_value("10.1.0.0,255.255.0.0,10.0.0.1,5", "")
        nic = params.create_key(rf"Interfaces\{GUID}")
        nic.set_value("EnableDHCP", 0)
        nic.set_value("IPAddress", ["10.0.0.5", "10.0.0.6"])
        nic.set_value("SubnetMask", ["255.255.255.0", "255.255.0.0"])
        nic.set_value("DefaultGateway", ["10.0.0.1"])
        nic.set_value("DefaultGatewayMetric", ["0"])
        nic.set_value("NameServer", "10.0.0.2,10.0.0.3")
        nic.set_value("Domain", "corp.example")
        ccs.create_key(rf"Services\Tcpip6\Parameters\Interfaces\{GUID}").set_value(
            "NameServer", "fe80::1 fe80::2")
        ccs.create_key(rf"Services\NetBT\Parameters\Interfaces\Tcpip_{GUID}").set_value(
            "NameServerList", ["10.0.0.9"])
        xen = ccs.create_key(r"Services\xenvbd")
        xen.set_value("Type", 1)
        xen.set_value("Start", 0)
        xen.set_value("ErrorControl", 1)
        xen.set_value("ImagePath", r"system32\drivers\xenvbd.sys", 2)
        xen.set_value("Group", "Boot Bus Extender")
        spool = ccs.create_key(r"Services\Spooler")
        spool.set_value("Type", 0x10)
        spool.set_value("Start", "2")  # a Start stored as REG_SZ, as some hives have it
        spool.set_value("ImagePath", r"%SystemRoot%\System32\spoolsv.exe", 2)
        spool.set_value("ObjectName", "LocalSystem")
        spool.set_value("DependOnService", ["RPCSS", "http"])
        spool.create_key("Parameters").set_value("ServiceDll", r"C:\x.dll", 2)
        ccs.create_key(r"Services\XEN").set_value("Unplug", 0)
        adapter = ccs.create_key(rf"Control\Class\{NET_CLASS}\0000")
        adapter.set_value("NetCfgInstanceId", GUID)
        adapter.set_value("DriverDesc", "Xen Net Device Driver")
        adapter.set_value("ComponentId", r"xen\vif")
        adapter.set_value("NetLuidIndex", 7)
        adapter.set_value("*IfType", 6)
        conn = ccs.create_key(rf"Control\Network\{NET_CLASS}\{GUID}\Connection")
        conn.set_value("Name", "Ethernet")
        conn.set_value("PnPInstanceId", r"XEN\VIF\0")
        nsi = ccs.create_key(r"Control\Nsi\{eb004a00-9b1a-11d4-9123-0050047759bc}\10")
        nsi.set_value("0000000700000600" + "0a000005" + "00000000", raw=bytes(16) + b"\x18"
                      + bytes(31))
        ccs.create_key(r"Control\ComputerName\ComputerName").set_value("ComputerName", "HOST1")


def build_system(version: tuple[int, int] = (1, 5), *, sets: tuple[int, ...] = (1, 2),
                 extras: bool = True) -> bytes:
    """A small SYSTEM-like hive: control sets with network and service keys, values of every
    type, a class name, a second security descriptor, a deep chain, non-Latin-1 names."""
    from winmigrate.regf.security import build_descriptor

    hive = winmigrate.create("ROOT", version)
    root = hive.root
    _system_layout(root, sets)
    if extras:
        types = root.create_key("Types")
        _fill_types(types)
        types.set_class_name("ClassName")
        deep = root
        for i in range(12):
            deep = deep.create_key(f"d{i}")
        deep.set_value("bottom", 1)
        other = root.create_key("Ключ")
        other.set_security(build_descriptor(
            owner="S-1-5-18", group="S-1-5-18",
            dacl=[(0, 0x02, 0xF003F, "S-1-5-18"), (1, 0, 0x20019, "S-1-1-0")]))
    return normalise(hive.to_bytes())


def build_bigdata(version: tuple[int, int] = (1, 5)) -> bytes:
    """Big data (``db`` and segments for 1.4+, one long cell for 1.3) next to small values."""
    hive = winmigrate.create("ROOT", version)
    key = hive.root.create_key("Big")
    key.set_value("big", raw=bytes(i & 0xFF for i in range(20_000)))
    key.set_value("small", 5)
    key.set_value("edge", raw=b"\xab" * 16_344)
    return normalise(hive.to_bytes())


def build_ri(count: int = 520) -> bytes:
    """A key with more subkeys than one leaf holds: an ``ri`` list of two ``lh`` leaves."""
    hive = winmigrate.create("ROOT", (1, 5))
    parent = hive.root.create_key("Many")
    for i in range(count):
        parent.create_key(f"k{i:03d}")
    parent.subkey("k000").set_value("v", 1)
    return normalise(hive.to_bytes())


# -- dirty seeds -----------------------------------------------------------------------------------


def _changed(data: bytes, step: int) -> bytes:
    """``data`` after a write Windows would log: a few keys and values added or changed."""
    hive = winmigrate.Hive.from_bytes(data, writable=True)
    root = hive.root
    root.create_key(f"Added{step}").set_value("v", f"step {step}")
    select = root.get_subkey("Select")
    if select is not None:
        select.set_value("Current", 2 if step % 2 else 1)
    root.create_key(rf"Grown{step}").set_value("blob", raw=bytes([step]) * 6000)
    data = hive.to_bytes()
    return normalise(data, sequence=struct.unpack_from("<I", data, 4)[0])


def _pages(old: bytes, new: bytes, page: int) -> list[tuple[int, bytes]]:
    """``(offset in hive bins, data)`` of every page of ``new``'s bins that differs from ``old``."""
    bins_new = new[4096:4096 + struct.unpack_from("<I", new, 40)[0]]
    bins_old = old[4096:4096 + struct.unpack_from("<I", old, 40)[0]]
    out = []
    for off in range(0, len(bins_new), page):
        chunk = bins_new[off:off + page]
        if chunk != bins_old[off:off + page]:
            out.append((off, chunk))
    return out


def _dirty_primary(data: bytes, seq1: int, seq2: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into("<II", buf, 4, seq1, seq2)
    struct.pack_into("<I", buf, L.CHECKSUM_OFFSET, checksum(buf))
    return bytes(buf)


def _log_base(primary: bytes, *, file_type: int, sequence: int, bins_size: int) -> bytearray:
    bb = bytearray(primary[:512])
    struct.pack_into("<II", bb, 4, sequence, sequence)
    struct.pack_into("<I", bb, 28, file_type)
    struct.pack_into("<I", bb, 40, bins_size)
    struct.pack_into("<I", bb, L.CHECKSUM_OFFSET, checksum(bb))
    return bb


def new_entry(sequence: int, bins_size: int, pages: list[tuple[int, bytes]], flags: int = 0
              ) -> bytes:
    """One ``HvLE`` entry with correct hashes."""
    refs = b"".join(struct.pack("<II", off, len(data)) for off, data in pages)
    body = refs + b"".join(data for _off, data in pages)
    size = -(-(40 + len(body)) // 512) * 512
    body += bytes(size - 40 - len(body))
    head = struct.pack("<4sIIIII", b"HvLE", size, flags, sequence, bins_size, len(pages))
    hash1 = marvin32(body)
    head += struct.pack("<Q", hash1)
    hash2 = marvin32(head)
    return head + struct.pack("<Q", hash2) + body


def build_dirty_new(clean: bytes) -> tuple[bytes, dict[str, bytes]]:
    """A dirty primary with two new-format logs: LOG1 holds two entries, LOG2 the third."""
    seq = struct.unpack_from("<I", clean, 4)[0]
    s1 = _changed(clean, 1)
    s2 = _changed(s1, 2)
    pages1 = _pages(clean, s1, 4096)
    pages2 = _pages(s1, s2, 4096)
    bins1 = struct.unpack_from("<I", s1, 40)[0]
    bins2 = struct.unpack_from("<I", s2, 40)[0]
    half = max(1, len(pages1) // 2)
    log1 = _log_base(clean, file_type=6, sequence=seq, bins_size=bins1)
    log1 += new_entry(seq, bins1, pages1[:half]) + new_entry(seq + 1, bins1, pages1[half:] or
                                                              pages1[:1])
    log2 = _log_base(clean, file_type=6, sequence=seq + 2, bins_size=bins2)
    log2 += new_entry(seq + 2, bins2, pages2)
    primary = _dirty_primary(clean, seq + 1, seq)
    return primary, {"LOG1": bytes(log1), "LOG2": bytes(log2)}


def build_dirty_old(clean: bytes) -> tuple[bytes, dict[str, bytes]]:
    """A dirty primary with an old-format LOG1 (``DIRT`` bitmap of 512-byte pages)."""
    seq = struct.unpack_from("<I", clean, 4)[0]
    new = _changed(clean, 1)
    bins = struct.unpack_from("<I", new, 40)[0]
    pages = dict(_pages(clean, new, 512))
    log = _log_base(clean, file_type=1, sequence=seq + 1, bins_size=bins)
    bitmap = bytearray(bins // 4096)
    for off in pages:
        index = off // 512
        bitmap[index // 8] |= 1 << (index % 8)
    log += b"DIRT" + bitmap
    log += bytes(-len(log) % 512)
    for off in sorted(pages):
        log += pages[off]
    return _dirty_primary(clean, seq + 1, seq), {"LOG1": bytes(log)}


# -- the seed sets --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def synthetic_seeds() -> tuple[Seed, ...]:
    system15 = build_system((1, 5))
    system13 = build_system((1, 3), sets=(1,))
    tiny = build_system((1, 5), sets=(1,), extras=False)
    out = [
        Seed("syn-system-1.5", system15, weight=1.5),
        Seed("syn-system-1.3", system13, weight=2.0),
        Seed("syn-system-tiny", tiny, weight=4.0),
        Seed("syn-bigdata-1.5", build_bigdata((1, 5)), weight=1.0),
        Seed("syn-bigdata-1.3", build_bigdata((1, 3)), weight=0.5),
        Seed("syn-ri", build_ri(), weight=0.1),
    ]
    primary, logs = build_dirty_new(tiny)
    out.append(Seed("syn-dirty-new", primary, logs, weight=0.35))
    primary, logs = build_dirty_old(tiny)
    out.append(Seed("syn-dirty-old", primary, logs, weight=0.25))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def fixture_seeds() -> tuple[Seed, ...]:
    out = []
    for path in sorted(FIXTURES.glob("*.hiv")):
        if path.stat().st_size <= CORPUS_MAX:
            weight = 0.05 if path.stat().st_size > 32 * 1024 else 0.5
            out.append(Seed(f"fixture:{path.name}", path.read_bytes(), weight=weight))
    return tuple(out)


def corpus_folder() -> Path | None:
    """The unpacked shared corpus, or ``None`` (never raises: fuzzing runs without it)."""
    try:
        from tests.oracles import corpus_dir

        return corpus_dir()
    except Exception:  # a broken extract script is the corpus tests' business, not ours
        return None


DIRTY_CORPUS = {
    "yarp:NewDirtyHive1": ("msuhanov_yarp/hives_for_tests/NewDirtyHive1", "NewDirtyHive"),
    "yarp:OldDirtyHive": ("msuhanov_yarp/hives_for_tests/OldDirtyHive", "OldDirtyHive"),
}


@functools.lru_cache(maxsize=1)
def corpus_seeds() -> tuple[Seed, ...]:
    """Primary hives under 300 KB from the corpus (one copy of each content), and the yarp
    dirty hives with their logs. Empty without the corpus."""
    folder = corpus_folder()
    if folder is None:
        return ()
    out: list[Seed] = []
    seen: set[bytes] = set()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.upper().endswith((".LOG", ".LOG1", ".LOG2")):
            continue
        try:
            size = path.stat().st_size
            if not 4096 < size <= CORPUS_MAX:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if data[:4] != b"regf" or struct.unpack_from("<I", data, 28)[0] != 0:
            continue
        digest = hashlib.sha256(data).digest()
        if digest in seen:
            continue
        seen.add(digest)
        rel = path.relative_to(folder).as_posix()
        out.append(Seed(f"corpus:{rel}", data, weight=0.002))
    for name, (sub, primary) in DIRTY_CORPUS.items():
        base = folder / sub
        if not (base / primary).is_file():
            continue
        logs = {}
        for role in ("LOG", "LOG1", "LOG2"):
            p = base / f"{primary}.{role}"
            if p.is_file():
                logs[role] = p.read_bytes()
        out.append(Seed(name, (base / primary).read_bytes(), logs, weight=0.01))
    return tuple(out)


def all_seeds(*, corpus: bool = True) -> tuple[Seed, ...]:
    return synthetic_seeds() + fixture_seeds() + (corpus_seeds() if corpus else ())
