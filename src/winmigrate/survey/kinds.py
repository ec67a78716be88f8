"""What kind of hive a file is: SYSTEM, SOFTWARE, SAM... decided by its content first, then by
the file name Windows stored in its base block, then by its own file name.

The rules, in order (the first that matches decides; names compare case-insensitively):

1. **Content** -- the root key's subkeys:

    - ``SYSTEM``: ``Select`` or a ``ControlSetNNN`` key (a differencing hive has only the
      latter);
    - ``SAM``: a ``SAM`` key; ``SECURITY``: ``Policy`` with ``RXACT`` or ``Cache``;
    - ``BCD``: ``Description`` and ``Objects``;
    - ``COMPONENTS``: ``CanonicalData`` and ``DerivedData``;
    - ``DRIVERS``: ``DriverDatabase`` (SYSTEM being ruled out above: no control set);
    - ``Amcache``: ``Root`` holding ``File``, ``Programs`` or ``InventoryApplication*``;
    - ``NTUSER``: at least two of ``AppEvents``, ``Console``, ``Control Panel``,
      ``Environment``, ``Keyboard Layout`` -- ``DEFAULT`` (the profile of LocalSystem, the
      same shape) when the embedded or the file name is ``DEFAULT``;
    - ``UsrClass``: ``Local Settings``, or a root name ending in ``_Classes``, or ``CLSID``
      with file-extension keys (``.txt``);
    - ``SOFTWARE``: ``Microsoft`` with ``Classes``, ``Policies`` or ``Clients``.

2. **Embedded name** -- the last component of the base block's file name
   (``\\SystemRoot\\System32\\Config\\SAM``, ``\\??\\C:\\Users\\x\\ntuser.dat``...).
3. **File name** -- the file's own name (``SYSTEM``, ``NTUSER.DAT``, ``UsrClass.dat``,
   ``Amcache.hve``, ``BCD``...).

Anything else is ``other`` (BBI, ELAM, Syscache, hand-made test hives). No rule reads more
than the root's subkey list and, for Amcache, one more list.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..hive import Hive

__all__ = ["KINDS", "detect_kind", "kind_from_name"]

KINDS = ("SYSTEM", "SOFTWARE", "SAM", "SECURITY", "NTUSER", "DEFAULT", "UsrClass", "Amcache",
         "BCD", "COMPONENTS", "DRIVERS", "other")

_NAMES = {
    "system": "SYSTEM", "software": "SOFTWARE", "sam": "SAM", "security": "SECURITY",
    "ntuser.dat": "NTUSER", "default": "DEFAULT", "usrclass.dat": "UsrClass",
    "amcache.hve": "Amcache", "bcd": "BCD", "bcd00000000": "BCD", "bcd-template": "BCD",
    "components": "COMPONENTS", "drivers": "DRIVERS",
}
_CONTROL_SET = re.compile(r"^controlset\d{3}$", re.IGNORECASE)
_USER_MARKERS = frozenset({"appevents", "console", "control panel", "environment",
                           "keyboard layout"})


def kind_from_name(name: str) -> str | None:
    """The kind a file name (or the last component of a Windows path) stands for."""
    base = name.replace("/", "\\").rsplit("\\", 1)[-1].strip().lower()
    return _NAMES.get(base)


def _by_content(hive: Hive, names: set[str]) -> tuple[str, str] | None:
    if "select" in names or any(_CONTROL_SET.match(n) for n in names):
        found = [n for n in ("Select", "ControlSet001") if n.lower() in names]
        return "SYSTEM", "root keys " + (", ".join(found) or "ControlSetNNN")
    if "sam" in names:
        return "SAM", "root key SAM"
    if "policy" in names and ({"rxact", "cache"} & names):
        return "SECURITY", "root keys Policy, RXACT/Cache"
    if {"description", "objects"} <= names:
        return "BCD", "root keys Description, Objects"
    if {"canonicaldata", "deriveddata"} <= names:
        return "COMPONENTS", "root keys CanonicalData, DerivedData"
    if "driverdatabase" in names:
        return "DRIVERS", "root key DriverDatabase without a control set"
    if "root" in names:
        root = hive.root.get_subkey("Root")
        if root is not None and any(
                k.name.lower() in ("file", "programs") or
                k.name.lower().startswith("inventoryapplication") for k in root.subkeys()):
            return "Amcache", "Root\\File, Root\\Programs or Root\\InventoryApplication*"
    user = _USER_MARKERS & names
    if len(user) >= 2:
        return "NTUSER", "root keys " + ", ".join(sorted(user))
    if "local settings" in names or hive.root.name.lower().endswith("_classes") or (
            "clsid" in names and any(n.startswith(".") for n in names)):
        return "UsrClass", "root keys Local Settings / CLSID and extensions"
    if "microsoft" in names and ({"classes", "policies", "clients"} & names):
        return "SOFTWARE", "root keys Microsoft and Classes/Policies/Clients"
    return None


def detect_kind(hive: Hive, file_name: str) -> tuple[str, str]:
    """``(kind, evidence)`` for an open hive (see the module docstring for the rules)."""
    names = {k.name.lower() for k in hive.root.subkeys()}
    embedded = hive.base_block.file_name
    by_embedded = kind_from_name(embedded) if embedded else None
    by_file = kind_from_name(file_name)
    found = _by_content(hive, names)
    if found is not None:
        kind, evidence = found
        if kind == "NTUSER" and "DEFAULT" in (by_embedded, by_file):
            return "DEFAULT", f"content: {evidence}; named DEFAULT"
        return kind, f"content: {evidence}"
    if by_embedded is not None:
        return by_embedded, f"embedded name {embedded}"
    if by_file is not None:
        return by_file, f"file name {file_name}"
    return "other", "no rule matched"
