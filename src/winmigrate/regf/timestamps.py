"""FILETIME (100 ns ticks since 1601-01-01 UTC) to and from timezone-aware datetimes.

``datetime`` is imported on first use so that a point lookup does not pay for it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

_EPOCH_DELTA_TICKS = 116444736000000000  # 1601-01-01 -> 1970-01-01 in 100 ns ticks
MAX_FILETIME = 0xFFFFFFFFFFFFFFFF


def filetime_to_datetime(ticks: int) -> datetime | None:
    """The moment ``ticks`` names, in UTC; ``None`` when it cannot be a date (beyond year 9999)."""
    from datetime import datetime, timedelta, timezone

    try:
        return datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None


#: The last tick a ``datetime`` can hold (9999-12-31 23:59:59.9999999).
_LAST_TICK = 2650467743999999999


def format_filetime(ticks: int) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) of ``ticks``, as ``filetime_to_datetime(ticks).strftime``
    gives it, without importing ``datetime`` (a listing's start-up); ``None`` past year 9999."""
    import time

    if not 0 <= ticks <= _LAST_TICK:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S",
                         time.gmtime((ticks - _EPOCH_DELTA_TICKS) // 10_000_000))


def datetime_to_filetime(moment: datetime) -> int:
    """FILETIME ticks of an aware datetime (naive datetimes are taken as UTC)."""
    from datetime import datetime, timezone

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1601, 1, 1, tzinfo=timezone.utc)
    ticks = (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    return max(0, min(ticks, MAX_FILETIME))


def now_filetime() -> int:
    """The current time as FILETIME ticks."""
    import time

    return time.time_ns() // 100 + _EPOCH_DELTA_TICKS
