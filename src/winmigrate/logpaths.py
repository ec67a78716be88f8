"""Finding a hive's transaction logs on disk: the sibling ``NAME.LOG``, ``NAME.LOG1`` and
``NAME.LOG2`` files. Kept apart from ``logs`` (the replay) so that a save next to no logs at all,
the common case, costs one directory listing and imports nothing more."""

from __future__ import annotations

import os

#: The roles of a primary's logs, in the order they are reported.
LOG_ROLES = ("LOG", "LOG1", "LOG2")


def find_logs(primary_path: str | os.PathLike[str]) -> list[str]:
    """The primary's sibling transaction logs that exist, in the order ``.LOG``, ``.LOG1``,
    ``.LOG2``, matched in any letter case (Windows' file names are case-insensitive: a hive copied
    from NTFS may be ``SYSTEM`` next to ``system.LOG1``)."""
    path = os.fspath(primary_path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path).lower()
    wanted = {base + "." + role.lower(): role for role in LOG_ROLES}
    found: dict[str, str] = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    for name in names:
        role = wanted.get(name.lower())
        if role is not None and role not in found:
            full = os.path.join(folder, name)
            if os.path.isfile(full):
                found[role] = full
    return [found[role] for role in LOG_ROLES if role in found]
