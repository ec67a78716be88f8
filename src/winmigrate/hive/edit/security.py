"""Security records (``sk``): shared between keys with identical descriptors, counted exactly,
linked in one ring (flink/blink) and freed when the last key lets go of them."""

from __future__ import annotations

from ...errors import HiveFormatError, UsageError
from ...regf import layout as L
from ...regf.build import build_sk
from ...regf.records import read_sk
from .cells import CellEditor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..key import Key

__all__ = ["SecurityRecords"]

_U32 = L.U32


class SecurityRecords(CellEditor):
    """Reference counting of security records, and ``set_security``."""

    def _add_sk_reference(self, sk_off: int, delta: int) -> None:
        count = self._get(_U32, sk_off, L.SK_OFF_REFCOUNT) + delta
        if count > 0:
            self._set(_U32, sk_off, L.SK_OFF_REFCOUNT, count)
            return
        # Unreferenced: unlink from the ring and free (unless it is the only record).
        flink = self._get(_U32, sk_off, L.SK_OFF_FLINK)
        blink = self._get(_U32, sk_off, L.SK_OFF_BLINK)
        if flink == sk_off:
            self._set(_U32, sk_off, L.SK_OFF_REFCOUNT, 0)
            return
        self._set(_U32, blink, L.SK_OFF_FLINK, flink)
        self._set(_U32, flink, L.SK_OFF_BLINK, blink)
        self._free(sk_off)

    def _iter_sk_ring(self, start: int) -> list[int]:
        out = [start]
        off = self._get(_U32, start, L.SK_OFF_FLINK)
        limit = self.img.bins_size // 24 + 1
        while off != start:
            out.append(off)
            if len(out) > limit:
                raise self.img.error("the security record ring does not close", start)
            read_sk(self.img, off)  # checked: allocated and signed
            off = self._get(_U32, off, L.SK_OFF_FLINK)
        return out

    def set_security(self, key: Key, descriptor: bytes) -> None:
        from ...regf.security import SecurityDescriptor

        self._alive(key)
        if not isinstance(descriptor, (bytes, bytearray, memoryview)):
            raise UsageError("descriptor must be the bytes of a self-relative security "
                             f"descriptor, not {type(descriptor).__name__}")
        descriptor = bytes(descriptor)
        try:
            SecurityDescriptor.parse(descriptor)
        except HiveFormatError as e:
            raise UsageError(
                f"not a valid self-relative security descriptor: {e.message}") from None
        nk = key._fields()
        current = nk[L.NK_SECURITY]
        ring_start = current if current != L.NIL else self.hive.root._fields()[L.NK_SECURITY]
        target = None
        if ring_start != L.NIL:
            for off in self._iter_sk_ring(ring_start):
                if read_sk(self.img, off)[1] == descriptor:
                    target = off
                    break
        if target is not None and target == current:
            return
        if target is not None:
            self._add_sk_reference(target, 1)
        else:
            if ring_start == L.NIL:
                target = self._new_cell(build_sk(flink=0, blink=0, reference_count=1,
                                                 descriptor=descriptor))
                self._set(_U32, target, L.SK_OFF_FLINK, target)
                self._set(_U32, target, L.SK_OFF_BLINK, target)
            else:
                # Insert after the current record: new.flink = cur.flink, new.blink = cur.
                nxt = self._get(_U32, ring_start, L.SK_OFF_FLINK)
                target = self._new_cell(build_sk(flink=nxt, blink=ring_start, reference_count=1,
                                                 descriptor=descriptor))
                self._set(_U32, ring_start, L.SK_OFF_FLINK, target)
                self._set(_U32, nxt, L.SK_OFF_BLINK, target)
        self._set(_U32, key._off, L.NK_OFF_SECURITY, target)
        if current != L.NIL:
            self._add_sk_reference(current, -1)
        self._changed()
