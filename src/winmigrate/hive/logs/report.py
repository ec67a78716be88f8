"""What log recovery found and did: ``RecoveryReport`` (``hive.recovery``), one
``LogFileReport`` per log file and the ``Rejection`` of anything not applied."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["LogFileReport", "RecoveryReport", "Rejection"]

@dataclass(frozen=True)
class Rejection:
    """Something in a log that was not applied, and why. ``file`` is the log's name, ``offset``
    the position in it of the offending structure. ``kind``: ``"invalid"`` (damaged: bad checksum,
    hash, size, signature ...), ``"gap"`` (a sequence number is missing), ``"stale"`` (older than
    the primary, already in it), ``"not-applicable"`` (old format: written for another state of
    the primary), ``"unused"`` (valid but not the log Windows would pick)."""

    file: str
    offset: int | None
    reason: str
    kind: str
    sequence: int | None = None

    def __str__(self) -> str:
        where = self.file if self.offset is None else f"{self.file} @ 0x{self.offset:x}"
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "offset": self.offset, "reason": self.reason,
                "kind": self.kind, "sequence": self.sequence}


@dataclass(frozen=True)
class LogFileReport:
    """One log file found next to the primary (or given), what it is and what was used from it."""

    path: str
    role: str  # "LOG", "LOG1" or "LOG2" (from the name)
    size: int
    format: str | None  # "old" or "new"; None when the file is empty or not a valid log
    sequence: int | None = None  # the log's base block sequence number (valid logs)
    timestamp: int | None = None  # its last-written FILETIME (valid logs)
    used: bool = False
    entries_applied: tuple[int, ...] = ()  # new format: sequence numbers applied from this file
    pages_applied: int = 0  # pages written into the image (old format: 512-byte pages)
    bytes_applied: int = 0
    end: str | None = None  # new format: where the run of valid entries ended, and why

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "role": self.role, "size": self.size, "format": self.format,
                "sequence": self.sequence, "timestamp": self.timestamp, "used": self.used,
                "entries_applied": list(self.entries_applied),
                "pages_applied": self.pages_applied, "bytes_applied": self.bytes_applied,
                "end": self.end}

    def describe(self) -> str:
        """One line for people: format, sequence, what was applied."""
        if self.format is None:
            return f"{self.name}: {'empty' if self.size == 0 else 'not a valid log'}"
        head = f"{self.name}: {self.format} format, sequence {self.sequence}"
        if self.entries_applied:
            first, last = self.entries_applied[0], self.entries_applied[-1]
            span = f"{first}" if first == last else f"{first}-{last}"
            n = len(self.entries_applied)
            return (f"{head}, {n} {'entry' if n == 1 else 'entries'} applied ({span}, "
                    f"{self.pages_applied} pages)")
        if self.used and self.format == "old":
            return f"{head}, {self.pages_applied} dirty pages applied"
        return f"{head}, nothing applied"


@dataclass(frozen=True)
class RecoveryReport:
    """What log recovery found and did (``hive.recovery``).

    ``primary_dirty``: the primary on disk was dirty. ``applied``: log data was replayed and the
    image is a clean, consolidated hive. ``replaced_image``: the image is a new buffer, not the
    file's. ``sequence_floor``: the highest sequence number in any valid log base block, in any
    log entry of the run that follows one (applied or not; hashes not required) and in the
    primary's own valid base block; a save numbers itself past it.
    """

    primary_dirty: bool
    applied: bool
    replaced_image: bool
    sequence_floor: int
    primary: str = ""
    primary_sequence: tuple[int, int] = (0, 0)
    primary_base_block_valid: bool = True
    format: str | None = None
    logs: tuple[LogFileReport, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    final_sequence: int | None = None
    bins_size_before: int | None = None
    bins_size_after: int | None = None
    base_block_from: str | None = None
    notes: tuple[str, ...] = field(default=())
    applied_order: tuple[int, ...] = ()

    @property
    def entries_applied(self) -> tuple[int, ...]:
        """Sequence numbers of the new-format entries applied, in the order they were applied."""
        return self.applied_order

    @property
    def pages_applied(self) -> int:
        return sum(log.pages_applied for log in self.logs)

    def to_dict(self) -> dict[str, object]:
        return {
            "primary": self.primary, "primary_dirty": self.primary_dirty,
            "primary_sequence": list(self.primary_sequence),
            "primary_base_block_valid": self.primary_base_block_valid,
            "applied": self.applied, "replaced_image": self.replaced_image,
            "format": self.format, "final_sequence": self.final_sequence,
            "sequence_floor": self.sequence_floor,
            "entries_applied": list(self.entries_applied), "pages_applied": self.pages_applied,
            "bins_size_before": self.bins_size_before, "bins_size_after": self.bins_size_after,
            "base_block_from": self.base_block_from,
            "logs": [log.to_dict() for log in self.logs],
            "rejected": [r.to_dict() for r in self.rejected],
            "notes": list(self.notes), "summary": self.summary(),
        }

    def summary(self) -> str:
        """One readable line."""
        s1, s2 = self.primary_sequence
        state = f"sequence {s1}/{s2}" + ("" if self.primary_base_block_valid else
                                           ", invalid base block")
        problems = [r for r in self.rejected if r.kind in ("invalid", "gap", "not-applicable")]
        if not self.primary_dirty:
            return f"primary is clean ({state}): logs not replayed"
        if not self.applied:
            why = "; ".join(str(r) for r in problems[:2]) or "no transaction logs found"
            more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
            return f"dirty primary ({state}) NOT recovered: {why}{more}"
        used = ", ".join(log.name for log in self.logs if log.used)
        entries = self.entries_applied
        if self.format == "new":
            span = f"{entries[0]}-{entries[-1]}" if len(entries) > 1 else f"{entries[0]}"
            what = (f"{len(entries)} new-format log {'entry' if len(entries) == 1 else 'entries'}"
                    f" ({span})")
        else:
            what = f"{self.pages_applied} dirty pages of an old-format log"
        line = (f"dirty primary ({state}) recovered to sequence {self.final_sequence}: "
                f"{what} applied from {used}")
        if problems:
            line += f"; stopped/rejected: {problems[0]}"
            if len(problems) > 1:
                line += f" (+{len(problems) - 1} more)"
        return line

