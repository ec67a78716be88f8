"""Windows' load-time checks of a hive, as a report (``hive.check()``).

What Windows verifies before it mounts a hive (``HvpBuildMap`` and ``CmCheckRegistry``, re-done
in ReactOS's ``cmlib/cmcheck.c``), and what it "self-heals" by dropping data when a check fails:
the base block; every bin header and the tiling of cells in each bin; then, from the root down,
every key node (signature, parent back-pointer, name, class), subkey list (kind allowed by the
version, counts, strictly increasing collation order, ``lh`` hashes), value list, value record and
data cell (resident sizes, big data only where the version allows it), security record
(descriptor, reference count, the flink/blink ring), and a nesting depth of at most 512.

Every reference must point at the start of an allocated cell (known exactly from the bin walk).
Allocated cells that nothing references are listed separately: they waste space but Windows
accepts them.

Each finding comes from one rule of :data:`RULES`, which says once, for every rule, whether it is
a *problem* (some Windows refuses the hive, or loads it only by dropping keys or values; ``ok`` is
false) or a *note* (every Windows loads it with nothing lost -- at most it rewrites a derived field
such as a buffer-size hint; ``ok`` stays true), and what Windows does. ``docs/format.md`` ("What
check() reports") gives the evidence for each rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..errors import HiveFormatError
from ..regf import layout as L
from ..regf.baseblock import BaseBlock
from ..regf.image import Image
from ..regf.names import collation_key, lf_hint_matches, lh_hash
from ..regf.security import SecurityDescriptor
from .problems import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .edit.editor import Editor
    from .model import HiveModel

__all__ = ["RULES", "CheckReport", "Rule", "Severity", "check_hive"]

_BASE = L.BASE_BLOCK_SIZE
_U32 = L.U32
#: The largest key node payload Windows and ReactOS accept (``CMP_KEY_SIZE_THRESHOLD``).
_KEY_NODE_MAX = 0x45C


class Severity(Enum):
    """How much a finding matters to Windows."""

    #: Some Windows refuses the hive, or loads it only by dropping keys or values.
    PROBLEM = "problem"
    #: Every Windows loads the hive with nothing lost (it may rewrite a derived field).
    NOTE = "note"


@dataclass(frozen=True)
class Rule:
    """One rule of the checker: its severity and what Windows does with a hive that breaks it."""

    severity: Severity
    windows: str


_P, _N = Severity.PROBLEM, Severity.NOTE
_REFUSES = "refuses to load the hive"
_DIRTY = "takes the hive for dirty: recovers it from its logs, or refuses it"
_DROPS_KEY = "refuses the hive, or self-healing drops the key"
_DROPS_VALUE = "refuses the hive, or self-healing drops the value"
_DROPS_SUBKEYS = "refuses the hive, or self-healing drops the key's subkeys"
_DROPS_OWNER = "refuses the hive, or self-healing drops the key or value holding the reference"
_HINT = ("Windows XP ignores it; Windows 10 raises it on load (self-healing); a buffer-size hint "
         "for RegQueryInfoKey, nothing is lost")

#: Every rule of the checker, by id. The evidence for each severity is in docs/format.md
#: ("What check() reports"); tests/hive/test_check_rules.py keeps the two in step.
RULES: dict[str, Rule] = {
    # base block (HvpVerifyHiveHeader) and the file
    "base-checksum": Rule(_P, _DIRTY),
    "base-sequence": Rule(_P, _DIRTY),
    "base-version": Rule(_P, _REFUSES),
    "base-file-type": Rule(_P, _REFUSES),
    "base-format": Rule(_P, _REFUSES),
    "base-cluster": Rule(_P, _REFUSES),
    "base-bins-size": Rule(_P, _REFUSES),
    "file-truncated": Rule(_P, _REFUSES),
    # bins and cells (HvpInitializeMemoryHive, HvValidateBin)
    "bin-header": Rule(_P, _REFUSES),
    "cell-tiling": Rule(_P, _REFUSES),
    "bins-size": Rule(_P, _REFUSES),
    # references between cells
    "ref-nil": Rule(_P, _DROPS_OWNER),
    "ref-outside": Rule(_P, _DROPS_OWNER),
    "ref-unallocated": Rule(_P, _DROPS_OWNER),
    "ref-shared": Rule(_P, "refuses a key node or value list reached twice; any other shared "
                           "cell is freed by the first delete while still in use"),
    # key nodes
    "key-shared": Rule(_P, _DROPS_KEY),
    "key-depth": Rule(_P, _REFUSES),
    "key-cell-small": Rule(_P, _DROPS_KEY),
    "key-cell-large": Rule(_P, _DROPS_KEY),
    "key-signature": Rule(_P, "refuses the hive, or self-healing rewrites the signature"),
    "key-name-empty": Rule(_P, _DROPS_KEY),
    "key-name-fits": Rule(_P, _DROPS_KEY),
    "key-name-odd": Rule(_P, _DROPS_KEY),
    "key-parent": Rule(_P, "refuses the hive, or self-healing rewrites the parent field"),
    "key-security-nil": Rule(_P, "refuses the hive, or self-healing gives the key its "
                                 "parent's descriptor"),
    "class-fits": Rule(_P, "refuses the hive, or self-healing drops the class name"),
    "class-length-nil": Rule(_N, "sets the class length to 0 on load (Windows XP always, "
                                 "Windows 10 by self-healing); nothing is lost"),
    "class-unused": Rule(_N, "Windows 10 drops the reference on load (self-healing), older "
                             "versions ignore it; the cell is merely leaked"),
    # values
    "value-list-fits": Rule(_P, "refuses the hive, or self-healing drops all the key's values"),
    "value-cell-small": Rule(_P, _DROPS_VALUE),
    "value-signature": Rule(_P, _DROPS_VALUE),
    "value-name-fits": Rule(_P, _DROPS_VALUE),
    "value-duplicate": Rule(_N, "loads it; a lookup by name finds one of the two"),
    "value-resident-size": Rule(_P, _DROPS_VALUE),
    "value-empty-data": Rule(_P, _DROPS_VALUE),
    "value-data-fits": Rule(_P, _DROPS_VALUE),
    "bigdata-cell-small": Rule(_P, _DROPS_VALUE),
    "bigdata-signature": Rule(_P, _DROPS_VALUE),
    "bigdata-count": Rule(_P, _DROPS_VALUE),
    "bigdata-list-fits": Rule(_P, _DROPS_VALUE),
    "bigdata-segment": Rule(_P, _DROPS_VALUE),
    # subkey lists
    "list-shared": Rule(_P, _DROPS_KEY),
    "list-signature": Rule(_P, _DROPS_SUBKEYS),
    "list-fits": Rule(_P, _DROPS_SUBKEYS),
    "list-ri-empty": Rule(_P, _DROPS_SUBKEYS),
    "list-ri-nested": Rule(_P, _DROPS_SUBKEYS),
    "list-lh-version": Rule(_P, "Windows 2000 refuses it; later versions load it, but their "
                                "code assumes the version's list kinds (CVE-2022-38037)"),
    "subkey-order": Rule(_P, "refuses the hive, or self-healing drops the key; lookups by "
                             "name miss it"),
    "subkey-lh-hash": Rule(_P, "refuses the hive, or self-healing rewrites the hash; lookups "
                               "by name miss the key until then"),
    "subkey-lf-hint": Rule(_P, "refuses the hive, or self-healing rewrites the hint; lookups "
                               "by name miss the key until then"),
    "subkey-count": Rule(_P, "refuses the hive, or self-healing rewrites the count"),
    "max-name": Rule(_N, _HINT),
    "max-class": Rule(_N, _HINT),
    "max-value-name": Rule(_N, _HINT),
    "max-value-data": Rule(_N, _HINT),
    # security records
    "sk-cell-small": Rule(_P, _REFUSES),
    "sk-signature": Rule(_P, _REFUSES),
    "sk-descriptor-fits": Rule(_P, _REFUSES),
    "sk-descriptor": Rule(_P, _REFUSES),
    "sk-ring": Rule(_P, _REFUSES),
    "sk-count-low": Rule(_P, "refuses the hive (Windows 8) or rewrites the count (Windows 10); "
                             "the last delete frees a descriptor still in use"),
    "sk-count-high": Rule(_N, "ignores it (Windows 8) or rewrites the count on load "
                              "(Windows 10); the record is merely never freed"),
}


@dataclass(frozen=True)
class CheckReport:
    """Result of ``Hive.check``. ``ok`` is true when no problem was found; ``notes`` are what
    Windows tolerates (each finding's ``rule`` is a key of :data:`RULES`)."""

    problems: tuple[Problem, ...]
    keys: int
    values: int
    allocated_bytes: int
    free_bytes: int
    unreferenced_cells: tuple[int, ...] = field(default=())
    notes: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "problems": [_finding(p) for p in self.problems],
                "notes": [_finding(p) for p in self.notes],
                "keys": self.keys, "values": self.values,
                "allocated_bytes": self.allocated_bytes, "free_bytes": self.free_bytes,
                "unreferenced_cells": list(self.unreferenced_cells)}

    def __str__(self) -> str:
        head = (f"{'OK' if self.ok else 'PROBLEMS'}: {self.keys} keys, {self.values} values, "
                f"{len(self.problems)} problem(s)")
        if self.notes:
            head += f", {len(self.notes)} note(s)"
        return "\n".join([head, *(f"  {p}" for p in self.problems),
                          *(f"  note: {p}" for p in self.notes)])


def _finding(p: Problem) -> dict[str, object]:
    out = p.to_dict()
    rule = RULES.get(p.rule or "")
    if rule is not None:
        out["windows"] = rule.windows
    return out


class _Checker:
    def __init__(self, bb: BaseBlock, img: Image, limit: int) -> None:
        self.bb = bb
        self.img = img
        self.minor = bb.minor
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []
        self.limit = limit
        self.allocated: dict[int, int] = {}  # cell offset -> cell size, allocated cells only
        self.referenced: set[int] = set()
        self.free_bytes = 0
        self.sk_refs: dict[int, int] = {}
        self.lists_seen: set[int] = set()
        self.keys = 0
        self.values = 0

    def add(self, rule: str, message: str, cell: int | None = None, path: str | None = None,
            absolute: int | None = None) -> None:
        found = self.problems if RULES[rule].severity is Severity.PROBLEM else self.notes
        if len(found) < self.limit:
            offset = absolute if absolute is not None else (
                None if cell is None else cell + _BASE)
            found.append(Problem(offset, path, message, rule))

    # -- base block and bins ------------------------------------------------------------------

    def base_block(self, file_size: int) -> None:
        bb = self.bb
        if not bb.checksum_ok:
            self.add("base-checksum", f"base block checksum is 0x{bb.stored_checksum:08x}, "
                     f"should be 0x{bb.computed_checksum:08x}", absolute=L.CHECKSUM_OFFSET)
        if not bb.sequences_match:
            self.add("base-sequence", f"sequence numbers differ ({bb.primary_sequence} != "
                     f"{bb.secondary_sequence}): the last write did not complete", absolute=4)
        if bb.major != 1 or bb.minor not in (3, 4, 5, 6):
            self.add("base-version", f"unsupported version {bb.major}.{bb.minor}", absolute=20)
        if bb.file_type != L.FILE_TYPE_PRIMARY:
            self.add("base-file-type", f"file type {bb.file_type} is not a primary hive",
                     absolute=28)
        if bb.file_format != L.FILE_FORMAT_DIRECT_MEMORY_LOAD:
            self.add("base-format", f"file format {bb.file_format} is not 1 (direct memory "
                     "load)", absolute=32)
        if bb.clustering_factor != 1:
            self.add("base-cluster", f"clustering factor {bb.clustering_factor} is not 1",
                     absolute=L.CLUSTERING_OFFSET)
        if bb.hive_bins_size % L.BIN_ALIGN or not bb.hive_bins_size:
            self.add("base-bins-size", f"hive bins size 0x{bb.hive_bins_size:x} is not a "
                     "multiple of 4096", absolute=40)
        if _BASE + bb.hive_bins_size > file_size:
            self.add("file-truncated", f"file ({file_size} bytes) is shorter than its hive "
                     "bins", absolute=40)

    def bins(self) -> None:
        img = self.img
        try:
            bins = img.walk_bins()
        except HiveFormatError as e:
            self.add("bin-header", e.message, absolute=e.offset)
            bins = img.walk_bins(stop_on_error=True)
        total = 0
        for b in bins:
            total += b.size
            try:
                cells = img.iter_cells(b)
            except HiveFormatError as e:
                self.add("cell-tiling", e.message, absolute=e.offset)
                continue
            for off, size in cells:
                if size < 0:
                    self.allocated[off] = -size
                else:
                    self.free_bytes += size
        if bins and total != img.bins_size:
            self.add("bins-size", f"bins cover 0x{total:x} bytes but the base block says "
                     f"0x{img.bins_size:x}", absolute=40)
        img._bins = bins
        img._bin_starts = [b.offset for b in bins]

    # -- references ----------------------------------------------------------------------------

    def cell(self, off: int, what: str, path: str | None) -> tuple[int, int] | None:
        """Payload (start, length) of the allocated cell ``off``, or None after a problem."""
        if off == L.NIL:
            self.add("ref-nil", f"{what} reference is empty", None, path)
            return None
        size = self.allocated.get(off)
        if size is None:
            if off >= self.img.bins_size or off & 7:
                self.add("ref-outside", f"{what} offset 0x{off:x} is outside the hive bins",
                         None, path)
            else:
                self.add("ref-unallocated", f"{what} cell is not an allocated cell", off, path)
            return None
        if off in self.referenced and what not in ("security", "subkey list leaf"):
            self.add("ref-shared", f"{what} cell is referenced more than once", off, path)
        self.referenced.add(off)
        return off + _BASE + 4, size - 4

    # -- the tree ------------------------------------------------------------------------------

    def tree(self, root: int, progress: Callable[[int], None] | None = None) -> None:
        buf = self.img.buf
        start = self.cell(root, "root key node", "")
        if start is None:
            return
        seen: set[int] = set()
        # (nk offset, expected parent, depth, path)
        stack: list[tuple[int, int | None, int, str]] = [(root, None, 0, "")]
        self.referenced.discard(root)
        while stack:
            off, parent, depth, path = stack.pop()
            if off in seen:
                self.add("key-shared", "key is reached twice (shared or cyclic subkey lists)",
                         off, path)
                continue
            seen.add(off)
            if progress is not None and not len(seen) & 0x3FF:
                progress(len(seen))
            if depth > L.MAX_KEY_DEPTH:
                self.add("key-depth", f"keys nested deeper than {L.MAX_KEY_DEPTH}", off, path)
                continue
            payload = self.cell(off, "key node", path)
            if payload is None:
                continue
            pstart, plen = payload
            if plen < L.NK_FIXED_SIZE:
                self.add("key-cell-small", "key node cell too small", off, path)
                continue
            nk = L.NK.unpack_from(buf, pstart)
            if nk[0] != L.NK_SIGNATURE:
                self.add("key-signature", f"expected a key node, found {bytes(nk[0])!r}", off,
                         path)
                continue
            self.keys += 1
            if plen > _KEY_NODE_MAX:
                self.add("key-cell-large", f"key node cell holds {plen} bytes (Windows accepts "
                         f"at most {_KEY_NODE_MAX})", off, path)
            self.node_name(off, plen, nk, path)
            # (The root's hive-entry flag is not required: offreg, Microsoft's own offline
            # library, writes roots without it -- nt-hive's testhive.)
            if parent is not None and nk[L.NK_PARENT] != parent:
                self.add("key-parent", f"parent field is 0x{nk[L.NK_PARENT]:x}, the key is "
                         f"listed under 0x{parent:x}", off, path)
            self.node_class(nk, off, path)
            self.node_security(nk, off, path)
            self.node_values(nk, off, path)
            children = self.node_subkeys(nk, off, path)
            for child_off, child_name in reversed(children):
                child_path = f"{path}\\{child_name}" if path else child_name
                stack.append((child_off, off, depth + 1, child_path))

    def node_name(self, off: int, plen: int, nk: tuple, path: str) -> None:  # type: ignore[type-arg]
        n = nk[L.NK_NAME_LENGTH]
        if n == 0:
            self.add("key-name-empty", "key name is empty", off, path)
        if L.NK_FIXED_SIZE + n > plen:
            self.add("key-name-fits", f"key name ({n} bytes) does not fit its cell", off, path)
        elif n & 1 and not nk[L.NK_FLAGS] & L.KEY_COMP_NAME:
            self.add("key-name-odd", "UTF-16 key name has an odd length", off, path)

    def node_class(self, nk: tuple, off: int, path: str) -> None:  # type: ignore[type-arg]
        cls, length = nk[L.NK_CLASS], nk[L.NK_CLASS_LENGTH]
        if cls == L.NIL:
            if length:
                self.add("class-length-nil", f"class length is {length} but the key has no "
                         "class cell", off, path)
            return
        if not length:
            self.add("class-unused", f"class length is 0 but the key points to a class cell "
                     f"(0x{cls:x})", off, path)
            return
        payload = self.cell(cls, "class name", path)
        if payload is not None and length > payload[1]:
            self.add("class-fits", "class name does not fit its cell", cls, path)

    def node_security(self, nk: tuple, off: int, path: str) -> None:  # type: ignore[type-arg]
        sk = nk[L.NK_SECURITY]
        if sk == L.NIL:
            self.add("key-security-nil", "key has no security descriptor", off, path)
            return
        self.sk_refs[sk] = self.sk_refs.get(sk, 0) + 1

    def node_values(self, nk: tuple, off: int, path: str) -> None:  # type: ignore[type-arg]
        count = nk[L.NK_VALUE_COUNT]
        if not count:
            return
        payload = self.cell(nk[L.NK_VALUE_LIST], "value list", path)
        if payload is None:
            return
        start, length = payload
        if 4 * count > length:
            self.add("value-list-fits", f"value list of {count} entries does not fit its cell",
                     nk[L.NK_VALUE_LIST], path)
            count = length // 4
        names: set[str] = set()
        max_name = max_data = 0
        for voff in L.u32_array(count).unpack_from(self.img.buf, start):
            found = self.value(voff, path)
            if found is None:
                continue
            name, name_bytes, data_size = found
            max_name = max(max_name, name_bytes)
            max_data = max(max_data, data_size)
            folded = collation_key(name)
            if folded in names:
                self.add("value-duplicate", f"two values are called {name!r}", voff, path)
            names.add(folded)
        if max_name > nk[L.NK_MAX_VALUE_NAME]:
            self.add("max-value-name", f"max value name length is {nk[L.NK_MAX_VALUE_NAME]}, "
                     f"a value name takes {max_name} bytes", off, path)
        if max_data > nk[L.NK_MAX_VALUE_DATA]:
            self.add("max-value-data", f"max value data size is {nk[L.NK_MAX_VALUE_DATA]}, a "
                     f"value holds {max_data} bytes", off, path)

    def value(self, voff: int, path: str) -> tuple[str, int, int] | None:
        """``(name, name length in UTF-16 bytes, data size)`` of a value record, or ``None``."""
        buf = self.img.buf
        payload = self.cell(voff, "value", path)
        if payload is None:
            return None
        start, length = payload
        if length < L.VK_FIXED_SIZE:
            self.add("value-cell-small", "value cell too small", voff, path)
            return None
        sig, nlen, size, data, _type, flags, _spare = L.VK.unpack_from(buf, start)
        if sig != L.VK_SIGNATURE:
            self.add("value-signature", f"expected a value, found {bytes(sig)!r}", voff, path)
            return None
        self.values += 1
        if L.VK_FIXED_SIZE + nlen > length:
            self.add("value-name-fits", f"value name ({nlen} bytes) does not fit its cell",
                     voff, path)
            nlen = length - L.VK_FIXED_SIZE
        raw = bytes(buf[start + L.VK_FIXED_SIZE:start + L.VK_FIXED_SIZE + nlen])
        if flags & L.VALUE_COMP_NAME:
            name, name_bytes = raw.decode("latin-1"), 2 * nlen
        else:
            name, name_bytes = raw[:nlen & ~1].decode("utf-16-le", "surrogatepass"), nlen
        if size & L.DATA_RESIDENT:
            size &= 0x7FFFFFFF
            if size > L.RESIDENT_MAX:
                self.add("value-resident-size", f"resident data of {size} bytes (at most 4)",
                         voff, path)
            return name, name_bytes, size
        if size == 0:
            if data != L.NIL:
                self.add("value-empty-data", f"zero-length value has a data offset "
                         f"(0x{data:x}, Windows requires 0xffffffff)", voff, path)
            return name, name_bytes, 0
        if size > L.BIG_DATA_THRESHOLD and self.minor >= L.BIG_DATA_MIN_MINOR:
            self.big_data(data, size, path)
            return name, name_bytes, size
        dpayload = self.cell(data, "value data", path)
        if dpayload is not None and size > dpayload[1]:
            self.add("value-data-fits", f"value data ({size} bytes) does not fit its cell",
                     data, path)
        return name, name_bytes, size

    def big_data(self, db: int, size: int, path: str) -> None:
        payload = self.cell(db, "big data", path)
        if payload is None:
            return
        start, length = payload
        if length < 8:
            self.add("bigdata-cell-small", "big data cell too small", db, path)
            return
        sig, count, seg_list = L.DB.unpack_from(self.img.buf, start)
        if sig != L.DB_SIGNATURE:
            self.add("bigdata-signature", f"{size}-byte data must be big data (db), found "
                     f"{bytes(sig)!r}", db, path)
            return
        needed = -(-size // L.BIG_DATA_SEGMENT)
        if count != needed:
            self.add("bigdata-count", f"big data has {count} segments, {needed} needed", db,
                     path)
        lpayload = self.cell(seg_list, "big data segment list", path)
        if lpayload is None:
            return
        if 4 * count > lpayload[1]:
            self.add("bigdata-list-fits", "big data segment list does not fit its cell",
                     seg_list, path)
            return
        for seg in L.u32_array(count).unpack_from(self.img.buf, lpayload[0]):
            spayload = self.cell(seg, "big data segment", path)
            # Windows gives every segment, the last one included, a whole 16344-byte cell, and
            # its load-time check (CmpCheckValueList) requires that of each.
            if spayload is not None and spayload[1] < L.BIG_DATA_SEGMENT:
                self.add("bigdata-segment", f"big data segment cell holds {spayload[1]} "
                         f"bytes, Windows requires {L.BIG_DATA_SEGMENT}", seg, path)

    def node_subkeys(self, nk: tuple, off: int, path: str) -> list[tuple[int, str]]:  # type: ignore[type-arg]
        count = nk[L.NK_SUBKEY_COUNT]
        if not count:
            if nk[L.NK_SUBKEY_LIST] != L.NIL:
                pass  # Windows ignores a stale list pointer when the count is 0
            return []
        list_off = nk[L.NK_SUBKEY_LIST]
        if list_off in self.lists_seen:
            # Walking a shared list again would cost keys x list length (and the keys in it
            # are reached already): report the sharing once and go on.
            self.add("list-shared", "subkey list is shared with another key", list_off, path)
            return []
        self.lists_seen.add(list_off)
        payload = self.cell(list_off, "subkey list", path)
        if payload is None:
            return []
        sig, n = L.LIST_HEADER.unpack_from(self.img.buf, payload[0])
        leaves: list[int]
        if sig == L.RI_SIGNATURE:
            if 4 + 4 * n > payload[1]:
                self.add("list-fits", "ri list does not fit its cell", list_off, path)
                return []
            leaves = list(L.u32_array(n).unpack_from(self.img.buf, payload[0] + 4))
            if not leaves:
                self.add("list-ri-empty", "ri list is empty", list_off, path)
        else:
            leaves = [list_off]
            self.referenced.discard(list_off)
        out: list[tuple[int, str]] = []
        previous: str | None = None
        max_name = max_class = 0
        for leaf in leaves:
            entries = self.leaf(leaf, path, inside_ri=sig == L.RI_SIGNATURE)
            if entries is None:
                continue
            for child, hint, leaf_sig in entries:
                found = self.child_name(child)
                if found is None:
                    out.append((child, f"<0x{child:x}>"))
                    continue
                name, name_bytes, class_length = found
                max_name = max(max_name, name_bytes)
                max_class = max(max_class, class_length)
                key = collation_key(name)
                if previous is not None and not previous < key:
                    self.add("subkey-order", f"subkeys out of order: {name!r} follows a key "
                             "that sorts after or equal to it (Windows would not find it)",
                             child, path)
                previous = key
                if leaf_sig == L.LH_SIGNATURE and hint != lh_hash(name):
                    self.add("subkey-lh-hash", f"lh hash of {name!r} is 0x{hint:08x}, should "
                             f"be 0x{lh_hash(name):08x}", leaf, path)
                elif leaf_sig == L.LF_SIGNATURE and not lf_hint_matches(
                        hint.to_bytes(4, "little"), name):
                    self.add("subkey-lf-hint", f"lf hint of {name!r} does not match its name "
                             "(Windows' binary search would miss it)", leaf, path)
                out.append((child, name))
        if len(out) != count:
            self.add("subkey-count", f"key says {count} subkeys, its lists hold {len(out)}",
                     off, path)
        max_field = nk[L.NK_MAX_NAME] & L.NK_MAX_NAME_LENGTH_MASK
        if max_name > max_field:
            self.add("max-name", f"max subkey name length is {max_field}, a subkey name takes "
                     f"{max_name} bytes", off, path)
        if max_class > nk[L.NK_MAX_CLASS]:
            self.add("max-class", f"max subkey class length is {nk[L.NK_MAX_CLASS]}, a "
                     f"subkey's class takes {max_class} bytes", off, path)
        return out

    def leaf(self, leaf: int, path: str, *, inside_ri: bool
             ) -> list[tuple[int, int, bytes]] | None:
        payload = self.cell(leaf, "subkey list leaf" if inside_ri else "subkey list", path)
        if payload is None:
            return None
        start, length = payload
        sig, n = L.LIST_HEADER.unpack_from(self.img.buf, start)
        sig = bytes(sig)
        if sig == L.RI_SIGNATURE:
            self.add("list-ri-nested", "an ri list points to another ri list", leaf, path)
            return None
        if sig == L.LH_SIGNATURE and self.minor < L.LH_MIN_MINOR:
            self.add("list-lh-version", f"lh list in a version 1.{self.minor} hive (needs 1.5)",
                     leaf, path)
        if sig in (L.LH_SIGNATURE, L.LF_SIGNATURE):
            if 4 + 8 * n > length:
                self.add("list-fits", f"{sig.decode()} list does not fit its cell", leaf, path)
                return None
            pairs = L.u32_array(2 * n).unpack_from(self.img.buf, start + 4)
            return [(pairs[2 * i], pairs[2 * i + 1], sig) for i in range(n)]
        if sig == L.LI_SIGNATURE:
            if 4 + 4 * n > length:
                self.add("list-fits", "li list does not fit its cell", leaf, path)
                return None
            return [(o, 0, sig) for o in L.u32_array(n).unpack_from(self.img.buf, start + 4)]
        self.add("list-signature", f"unknown subkey list signature {sig!r}", leaf, path)
        return None

    def child_name(self, child: int) -> tuple[str, int, int] | None:
        """``(name, name length in UTF-16 bytes, class length)`` of a listed key node, or
        ``None`` when it is not one (the walk reports that when it gets there)."""
        size = self.allocated.get(child)
        if size is None or size < 4 + L.NK_FIXED_SIZE:
            return None
        start = child + _BASE + 4
        nk = L.NK.unpack_from(self.img.buf, start)
        if nk[0] != L.NK_SIGNATURE:
            return None
        n = min(nk[L.NK_NAME_LENGTH], size - 4 - L.NK_FIXED_SIZE)
        raw = bytes(self.img.buf[start + L.NK_FIXED_SIZE:start + L.NK_FIXED_SIZE + n])
        if nk[L.NK_FLAGS] & L.KEY_COMP_NAME:
            return raw.decode("latin-1"), 2 * n, nk[L.NK_CLASS_LENGTH]
        return raw[:n & ~1].decode("utf-16-le", "surrogatepass"), n, nk[L.NK_CLASS_LENGTH]

    # -- security records -------------------------------------------------------------------

    def security(self) -> None:
        buf = self.img.buf
        for sk, refs in sorted(self.sk_refs.items()):
            payload = self.cell(sk, "security", None)
            if payload is None:
                continue
            start, length = payload
            if length < L.SK_FIXED_SIZE:
                self.add("sk-cell-small", "security cell too small", sk)
                continue
            sig, _r, flink, blink, count, dlen = L.SK.unpack_from(buf, start)
            if sig != L.SK_SIGNATURE:
                self.add("sk-signature", f"expected a security record, found {bytes(sig)!r}",
                         sk)
                continue
            if count != refs:
                self.add("sk-count-low" if count < refs else "sk-count-high",
                         f"security record says {count} keys use it, {refs} do", sk)
            if L.SK_FIXED_SIZE + dlen > length:
                self.add("sk-descriptor-fits", "security descriptor does not fit its cell", sk)
            else:
                try:
                    SecurityDescriptor.parse(
                        bytes(buf[start + L.SK_FIXED_SIZE:start + L.SK_FIXED_SIZE + dlen]))
                except HiveFormatError as e:
                    self.add("sk-descriptor", e.message, sk)
            for other, field_name in ((flink, "flink"), (blink, "blink")):
                if other not in self.allocated:
                    self.add("sk-ring", f"security record {field_name} 0x{other:x} is not a "
                             "cell", sk)
                    continue
                ostart = other + _BASE + 4
                if bytes(buf[ostart:ostart + 2]) != L.SK_SIGNATURE:
                    self.add("sk-ring", f"security record {field_name} does not point to a "
                             "security record", sk)
                    continue
                back = _U32.unpack_from(buf, ostart + (8 if field_name == "flink" else 4))[0]
                if back != sk:
                    self.add("sk-ring", f"security ring is broken at {field_name} 0x{other:x}",
                             sk)
        # Records in the ring that no key uses (Windows frees them when the count drops to 0).
        for sk in self.sk_refs:
            self.referenced.add(sk)


def check_hive(hive: HiveModel, editor: Editor | None = None, *, limit: int = 1000,
               progress: Callable[[int], None] | None = None) -> CheckReport:
    """Run every check on ``hive`` (its current in-memory image, as ``editor`` would save it
    when it holds changes). At most ``limit`` problems (and as many notes) are listed;
    ``progress`` is called now and then with the number of keys checked."""
    img = hive._img
    img.fill_all()  # every bin and cell is read (a large read-only file is filled on demand)
    bb = hive._bb
    if editor is not None and editor.modified:
        from .save import next_sequence

        editor.finalize()
        bb = BaseBlock(editor.stamped_base_block(next_sequence(hive), bb.last_written_raw))
    probe = Image(img.buf, img.bins_size, img.minor, source=img.source)
    c = _Checker(bb, probe, limit)
    c.base_block(len(img.buf))
    c.bins()
    root = hive._root._off
    c.tree(root, progress)
    c.security()
    referenced = c.referenced | {root}
    unreferenced = tuple(sorted(o for o in c.allocated if o not in referenced))
    allocated = sum(c.allocated.values())
    return CheckReport(tuple(c.problems), c.keys, c.values, allocated, c.free_bytes, unreferenced,
                       tuple(c.notes))
