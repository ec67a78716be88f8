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
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HiveFormatError
from ..regf import layout as L
from ..regf.baseblock import BaseBlock
from ..regf.image import Image
from ..regf.names import collation_key, lf_hint_matches, lh_hash, utf16_length
from ..regf.security import SecurityDescriptor
from .problems import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .edit.editor import Editor
    from .model import HiveModel

_BASE = L.BASE_BLOCK_SIZE
_U32 = L.U32


@dataclass(frozen=True)
class CheckReport:
    """Result of ``Hive.check``. ``ok`` is true when no problem was found."""

    problems: tuple[Problem, ...]
    keys: int
    values: int
    allocated_bytes: int
    free_bytes: int
    unreferenced_cells: tuple[int, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "problems": [p.to_dict() for p in self.problems],
                "keys": self.keys, "values": self.values,
                "allocated_bytes": self.allocated_bytes, "free_bytes": self.free_bytes,
                "unreferenced_cells": list(self.unreferenced_cells)}

    def __str__(self) -> str:
        head = (f"{'OK' if self.ok else 'PROBLEMS'}: {self.keys} keys, {self.values} values, "
                f"{len(self.problems)} problem(s)")
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class _Checker:
    def __init__(self, bb: BaseBlock, img: Image, limit: int) -> None:
        self.bb = bb
        self.img = img
        self.minor = bb.minor
        self.problems: list[Problem] = []
        self.limit = limit
        self.allocated: dict[int, int] = {}  # cell offset -> cell size, allocated cells only
        self.referenced: set[int] = set()
        self.free_bytes = 0
        self.sk_refs: dict[int, int] = {}
        self.lists_seen: set[int] = set()
        self.keys = 0
        self.values = 0

    def add(self, message: str, cell: int | None = None, path: str | None = None,
            absolute: int | None = None) -> None:
        if len(self.problems) < self.limit:
            offset = absolute if absolute is not None else (
                None if cell is None else cell + _BASE)
            self.problems.append(Problem(offset, path, message))

    # -- base block and bins ------------------------------------------------------------------

    def base_block(self, file_size: int) -> None:
        bb = self.bb
        if not bb.checksum_ok:
            self.add(f"base block checksum is 0x{bb.stored_checksum:08x}, should be "
                     f"0x{bb.computed_checksum:08x}", absolute=L.CHECKSUM_OFFSET)
        if not bb.sequences_match:
            self.add(f"sequence numbers differ ({bb.primary_sequence} != "
                     f"{bb.secondary_sequence}): the last write did not complete", absolute=4)
        if bb.major != 1 or bb.minor not in (3, 4, 5, 6):
            self.add(f"unsupported version {bb.major}.{bb.minor}", absolute=20)
        if bb.file_type != L.FILE_TYPE_PRIMARY:
            self.add(f"file type {bb.file_type} is not a primary hive", absolute=28)
        if bb.file_format != L.FILE_FORMAT_DIRECT_MEMORY_LOAD:
            self.add(f"file format {bb.file_format} is not 1 (direct memory load)", absolute=32)
        if bb.hive_bins_size % L.BIN_ALIGN or not bb.hive_bins_size:
            self.add(f"hive bins size 0x{bb.hive_bins_size:x} is not a multiple of 4096",
                     absolute=40)
        if _BASE + bb.hive_bins_size > file_size:
            self.add(f"file ({file_size} bytes) is shorter than its hive bins", absolute=40)

    def bins(self) -> None:
        img = self.img
        try:
            bins = img.walk_bins()
        except HiveFormatError as e:
            self.add(e.message, absolute=e.offset)
            bins = img.walk_bins(stop_on_error=True)
        total = 0
        for b in bins:
            total += b.size
            try:
                cells = img.iter_cells(b)
            except HiveFormatError as e:
                self.add(e.message, absolute=e.offset)
                continue
            for off, size in cells:
                if size < 0:
                    self.allocated[off] = -size
                else:
                    self.free_bytes += size
        if bins and total != img.bins_size:
            self.add(f"bins cover 0x{total:x} bytes but the base block says "
                     f"0x{img.bins_size:x}", absolute=40)
        img._bins = bins
        img._bin_starts = [b.offset for b in bins]

    # -- references ----------------------------------------------------------------------------

    def cell(self, off: int, what: str, path: str | None) -> tuple[int, int] | None:
        """Payload (start, length) of the allocated cell ``off``, or None after a problem."""
        if off == L.NIL:
            self.add(f"{what} reference is empty", None, path)
            return None
        size = self.allocated.get(off)
        if size is None:
            if off >= self.img.bins_size or off & 7:
                self.add(f"{what} offset 0x{off:x} is outside the hive bins", None, path)
            else:
                self.add(f"{what} cell is not an allocated cell", off, path)
            return None
        if off in self.referenced and what not in ("security", "subkey list leaf"):
            self.add(f"{what} cell is referenced more than once", off, path)
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
                self.add("key is reached twice (shared or cyclic subkey lists)", off, path)
                continue
            seen.add(off)
            if progress is not None and not len(seen) & 0x3FF:
                progress(len(seen))
            if depth > L.MAX_KEY_DEPTH:
                self.add(f"keys nested deeper than {L.MAX_KEY_DEPTH}", off, path)
                continue
            payload = self.cell(off, "key node", path)
            if payload is None:
                continue
            pstart, plen = payload
            if plen < L.NK_FIXED_SIZE:
                self.add("key node cell too small", off, path)
                continue
            nk = L.NK.unpack_from(buf, pstart)
            if nk[0] != L.NK_SIGNATURE:
                self.add(f"expected a key node, found {bytes(nk[0])!r}", off, path)
                continue
            self.keys += 1
            name = self.node_name(off, pstart, plen, nk, path)
            # (The root's hive-entry flag is not required: offreg, Microsoft's own offline
            # library, writes roots without it -- nt-hive's testhive.)
            if parent is not None and nk[L.NK_PARENT] != parent:
                self.add(f"parent field is 0x{nk[L.NK_PARENT]:x}, the key is listed under "
                         f"0x{parent:x}", off, path)
            self.node_class(nk, path)
            self.node_security(nk, off, path)
            self.node_values(nk, path)
            children = self.node_subkeys(nk, off, path)
            for child_off, child_name in reversed(children):
                child_path = f"{path}\\{child_name}" if path else child_name
                stack.append((child_off, off, depth + 1, child_path))
            del name

    def node_name(self, off: int, pstart: int, plen: int, nk: tuple, path: str) -> str:  # type: ignore[type-arg]
        n = nk[L.NK_NAME_LENGTH]
        if n == 0:
            self.add("key name is empty", off, path)
        if L.NK_FIXED_SIZE + n > plen:
            self.add(f"key name ({n} bytes) does not fit its cell", off, path)
            n = plen - L.NK_FIXED_SIZE
        raw = bytes(self.img.buf[pstart + L.NK_FIXED_SIZE:pstart + L.NK_FIXED_SIZE + n])
        if nk[L.NK_FLAGS] & L.KEY_COMP_NAME:
            return raw.decode("latin-1")
        if n & 1:
            self.add("UTF-16 key name has an odd length", off, path)
            raw = raw[:-1]
        return raw.decode("utf-16-le", "surrogatepass")

    def node_class(self, nk: tuple, path: str) -> None:  # type: ignore[type-arg]
        if nk[L.NK_CLASS] == L.NIL or not nk[L.NK_CLASS_LENGTH]:
            return
        payload = self.cell(nk[L.NK_CLASS], "class name", path)
        if payload is not None and nk[L.NK_CLASS_LENGTH] > payload[1]:
            self.add("class name does not fit its cell", nk[L.NK_CLASS], path)

    def node_security(self, nk: tuple, off: int, path: str) -> None:  # type: ignore[type-arg]
        sk = nk[L.NK_SECURITY]
        if sk == L.NIL:
            self.add("key has no security descriptor", off, path)
            return
        self.sk_refs[sk] = self.sk_refs.get(sk, 0) + 1

    def node_values(self, nk: tuple, path: str) -> None:  # type: ignore[type-arg]
        count = nk[L.NK_VALUE_COUNT]
        if not count:
            return
        payload = self.cell(nk[L.NK_VALUE_LIST], "value list", path)
        if payload is None:
            return
        start, length = payload
        if 4 * count > length:
            self.add(f"value list of {count} entries does not fit its cell",
                     nk[L.NK_VALUE_LIST], path)
            count = length // 4
        names: set[str] = set()
        for voff in L.u32_array(count).unpack_from(self.img.buf, start):
            name = self.value(voff, path)
            if name is None:
                continue
            folded = collation_key(name)
            if folded in names:
                self.add(f"two values are called {name!r}", voff, path)
            names.add(folded)

    def value(self, voff: int, path: str) -> str | None:
        buf = self.img.buf
        payload = self.cell(voff, "value", path)
        if payload is None:
            return None
        start, length = payload
        if length < L.VK_FIXED_SIZE:
            self.add("value cell too small", voff, path)
            return None
        sig, nlen, size, data, _type, flags, _spare = L.VK.unpack_from(buf, start)
        if sig != L.VK_SIGNATURE:
            self.add(f"expected a value, found {bytes(sig)!r}", voff, path)
            return None
        self.values += 1
        if L.VK_FIXED_SIZE + nlen > length:
            self.add(f"value name ({nlen} bytes) does not fit its cell", voff, path)
            nlen = length - L.VK_FIXED_SIZE
        raw = bytes(buf[start + L.VK_FIXED_SIZE:start + L.VK_FIXED_SIZE + nlen])
        name = raw.decode("latin-1") if flags & L.VALUE_COMP_NAME else raw[:nlen & ~1].decode(
            "utf-16-le", "surrogatepass")
        if size & L.DATA_RESIDENT:
            if size & 0x7FFFFFFF > L.RESIDENT_MAX:
                self.add(f"resident data of {size & 0x7FFFFFFF} bytes (at most 4)", voff, path)
            return name
        if size == 0:
            return name
        if size > L.BIG_DATA_THRESHOLD and self.minor >= L.BIG_DATA_MIN_MINOR:
            self.big_data(data, size, path)
            return name
        dpayload = self.cell(data, "value data", path)
        if dpayload is not None and size > dpayload[1]:
            self.add(f"value data ({size} bytes) does not fit its cell", data, path)
        return name

    def big_data(self, db: int, size: int, path: str) -> None:
        payload = self.cell(db, "big data", path)
        if payload is None:
            return
        start, length = payload
        if length < 8:
            self.add("big data cell too small", db, path)
            return
        sig, count, seg_list = L.DB.unpack_from(self.img.buf, start)
        if sig != L.DB_SIGNATURE:
            self.add(f"{size}-byte data must be big data (db), found {bytes(sig)!r}", db, path)
            return
        needed = -(-size // L.BIG_DATA_SEGMENT)
        if count != needed:
            self.add(f"big data has {count} segments, {needed} needed", db, path)
        lpayload = self.cell(seg_list, "big data segment list", path)
        if lpayload is None:
            return
        if 4 * count > lpayload[1]:
            self.add("big data segment list does not fit its cell", seg_list, path)
            return
        remaining = size
        for seg in L.u32_array(count).unpack_from(self.img.buf, lpayload[0]):
            spayload = self.cell(seg, "big data segment", path)
            take = min(remaining, L.BIG_DATA_SEGMENT)
            if spayload is not None and take > spayload[1]:
                self.add("big data segment too small", seg, path)
            remaining -= take

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
            self.add("subkey list is shared with another key", list_off, path)
            return []
        self.lists_seen.add(list_off)
        payload = self.cell(list_off, "subkey list", path)
        if payload is None:
            return []
        sig, n = L.LIST_HEADER.unpack_from(self.img.buf, payload[0])
        leaves: list[int]
        if sig == L.RI_SIGNATURE:
            if 4 + 4 * n > payload[1]:
                self.add("ri list does not fit its cell", list_off, path)
                return []
            leaves = list(L.u32_array(n).unpack_from(self.img.buf, payload[0] + 4))
            if not leaves:
                self.add("ri list is empty", list_off, path)
        else:
            leaves = [list_off]
            self.referenced.discard(list_off)
        out: list[tuple[int, str]] = []
        previous: str | None = None
        for leaf in leaves:
            entries = self.leaf(leaf, path, inside_ri=sig == L.RI_SIGNATURE)
            if entries is None:
                continue
            for child, hint, leaf_sig in entries:
                name = self.child_name(child)
                if name is None:
                    out.append((child, f"<0x{child:x}>"))
                    continue
                key = collation_key(name)
                if previous is not None and not previous < key:
                    self.add(f"subkeys out of order: {name!r} follows a key that sorts after or "
                             "equal to it (Windows would not find it)", child, path)
                previous = key
                if leaf_sig == L.LH_SIGNATURE and hint != lh_hash(name):
                    self.add(f"lh hash of {name!r} is 0x{hint:08x}, should be "
                             f"0x{lh_hash(name):08x}", leaf, path)
                elif leaf_sig == L.LF_SIGNATURE and not lf_hint_matches(
                        hint.to_bytes(4, "little"), name):
                    self.add(f"lf hint of {name!r} does not match its name (Windows' binary "
                             "search would miss it)", leaf, path)
                out.append((child, name))
        if len(out) != count:
            self.add(f"key says {count} subkeys, its lists hold {len(out)}", off, path)
        max_field = nk[L.NK_MAX_NAME] & 0xFFFF
        names = [n for _o, n in out if not n.startswith("<0x")]
        if names and max(2 * utf16_length(n) for n in names) > max_field:
            self.add("max subkey name length is smaller than the longest subkey name", off, path)
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
            self.add("an ri list points to another ri list", leaf, path)
            return None
        if sig == L.LH_SIGNATURE and self.minor < L.LH_MIN_MINOR:
            self.add(f"lh list in a version 1.{self.minor} hive (needs 1.5)", leaf, path)
        if sig in (L.LH_SIGNATURE, L.LF_SIGNATURE):
            if 4 + 8 * n > length:
                self.add(f"{sig.decode()} list does not fit its cell", leaf, path)
                return None
            pairs = L.u32_array(2 * n).unpack_from(self.img.buf, start + 4)
            return [(pairs[2 * i], pairs[2 * i + 1], sig) for i in range(n)]
        if sig == L.LI_SIGNATURE:
            if 4 + 4 * n > length:
                self.add("li list does not fit its cell", leaf, path)
                return None
            return [(o, 0, sig) for o in L.u32_array(n).unpack_from(self.img.buf, start + 4)]
        self.add(f"unknown subkey list signature {sig!r}", leaf, path)
        return None

    def child_name(self, child: int) -> str | None:
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
            return raw.decode("latin-1")
        return raw[:n & ~1].decode("utf-16-le", "surrogatepass")

    # -- security records -------------------------------------------------------------------

    def security(self) -> None:
        buf = self.img.buf
        for sk, refs in sorted(self.sk_refs.items()):
            payload = self.cell(sk, "security", None)
            if payload is None:
                continue
            start, length = payload
            if length < L.SK_FIXED_SIZE:
                self.add("security cell too small", sk)
                continue
            sig, _r, flink, blink, count, dlen = L.SK.unpack_from(buf, start)
            if sig != L.SK_SIGNATURE:
                self.add(f"expected a security record, found {bytes(sig)!r}", sk)
                continue
            if count != refs:
                self.add(f"security record says {count} keys use it, {refs} do", sk)
            if L.SK_FIXED_SIZE + dlen > length:
                self.add("security descriptor does not fit its cell", sk)
            else:
                try:
                    SecurityDescriptor.parse(
                        bytes(buf[start + L.SK_FIXED_SIZE:start + L.SK_FIXED_SIZE + dlen]))
                except HiveFormatError as e:
                    self.add(e.message, sk)
            for other, field_name in ((flink, "flink"), (blink, "blink")):
                if other not in self.allocated:
                    self.add(f"security record {field_name} 0x{other:x} is not a cell", sk)
                    continue
                ostart = other + _BASE + 4
                if bytes(buf[ostart:ostart + 2]) != L.SK_SIGNATURE:
                    self.add(f"security record {field_name} does not point to a security "
                             "record", sk)
                    continue
                back = _U32.unpack_from(buf, ostart + (8 if field_name == "flink" else 4))[0]
                if back != sk:
                    self.add(f"security ring is broken at {field_name} 0x{other:x}", sk)
        # Records in the ring that no key uses (Windows frees them when the count drops to 0).
        for sk in self.sk_refs:
            self.referenced.add(sk)


def check_hive(hive: HiveModel, editor: Editor | None = None, *, limit: int = 1000,
               progress: Callable[[int], None] | None = None) -> CheckReport:
    """Run every check on ``hive`` (its current in-memory image, as ``editor`` would save it
    when it holds changes). At most ``limit`` problems are listed; ``progress`` is called now
    and then with the number of keys checked."""
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
    return CheckReport(tuple(c.problems), c.keys, c.values, allocated, c.free_bytes, unreferenced)
