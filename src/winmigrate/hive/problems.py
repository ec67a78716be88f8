"""A finding in a hive: what a tolerant read skipped, or a problem or note of ``Hive.check``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """``offset`` is the absolute file offset (``None`` when not tied to one place); ``path`` the
    key path concerned, when known (``""`` is the root). ``rule`` names the check that found it
    (``hive.check``'s rule ids, see ``winmigrate.hive.check.RULES``); ``None`` for what a
    tolerant read skipped."""

    offset: int | None
    path: str | None
    message: str
    rule: str | None = None

    @property
    def text(self) -> str:
        """The whole finding as one line: where (offset, key) and what."""
        return str(self)

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"offset 0x{self.offset:x}")
        if self.path is not None:
            where.append(f"key {self.path or '(root)'}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        return {"offset": self.offset, "path": self.path, "message": self.message,
                "rule": self.rule}
