"""Independent oracles: other parsers' reading of a hive, in one common dump format.

The test-suite compares winmigrate's reading of a hive with these. Each ``*_dump(path)`` returns
a :class:`Dump`: the root's name and every key in depth-first pre-order (root first, path ``()``,
subkeys in the order the parser returns them, i.e. the stored order of the subkey lists), each
with its values as :class:`ValueEntry` ``(name, type, raw)``. ``name`` is ``""`` for the default
value, ``type`` the full 32-bit type field, ``raw`` the exact stored data (resident data cut to
its length, big data reassembled), or ``None`` where that parser cannot give those bytes
faithfully. A parser that fails to open a hive, or raises for any key or value while walking it,
ends in :class:`OracleError`, whose ``partial`` holds what it did read.

* :func:`hivex_dump` -- hivex's Python binding, run by the system interpreter
  (``_hivex_dump.py``; Debian's ``python3-hivex`` is not importable from the venv).
* :func:`hivexml_ok` -- whether ``hivexml`` (strict, no ``-k``) accepts the hive.
* :func:`python_registry_dump`, :func:`regipy_dump`, :func:`libregf_dump`, :func:`dissect_dump`.
* :func:`hivecheck` -- ReactOS's load-time checks (``../shared/tools/hivecheck``, Windows' own
  ``CmCheckRegistry`` re-implemented): ``"OK"`` or ``"BAD: ..."``; more in
  :mod:`tests.oracles.cmlib`.
* :func:`corpus_dir`, :func:`corpus_manifest`, :func:`corpus_parsers` -- the shared corpus of
  real hives (``../shared/corpus``), or ``None`` / ``[]`` where it is absent.

Known losses
------------
Verified on the corpus (about 160 primary hives, 694,000 values compared value by value with
hivex): with the filters below, every ``raw`` that is not ``None`` equals hivex's bytes, for all
four in-process parsers, and every ``type`` equals hivex's.

hivex (the reference for raw data; the strictest)
    Raw data and types are exact wherever it reads. It refuses to open some damaged hives and
    raises (``RuntimeError`` with a bare errno text) where others read on: a zero-length value
    whose data offset is 0xFFFFFFFF without the resident bit (yarp ``System_Delta``, 3 values,
    "Bad address" -- kept here with ``raw=None``), a UTF-16 key name that is a lone surrogate
    (yarp ``TruncatedPairHive``: bytes ``01 d8``, "Invalid argument"), a name longer than its
    cell (yarp ``TruncatedNameHive``). Compressed names are Latin-1 (byte 0x9F -> U+009F);
    an embedded NUL is kept (hivex ``special``: ``zero\\x00key``).
python-registry 1.3.1
    ``raw_data()`` is type-dependent; ``raw`` is ``None`` wherever it is not the stored data
    (39,095 values in the corpus, e.g. every 2-byte resident ``REG_SZ`` ``00 00`` comes back as
    4 bytes, resident ``REG_MULTI_SZ`` as ``b""``, a non-resident ``REG_DWORD`` as its offset
    field, zero-length non-resident values as 4 bytes). The filter keeps a value only when its
    type/residency/length takes a branch of ``raw_data()`` that slices exactly the declared
    length; on the corpus it never dropped a correct value. ``value_type()`` masks the type
    with 0xFFF (``0x20004`` -> 4, ``0xFFFF0011`` -> 0x11, ``0x200000`` -> 0), so ``type`` here is
    the vk record's full field. Compressed names are decoded as windows-1252 (0x9F -> 'Ÿ', so
    yarp ``CompHive`` shows two sibling keys named 'Ÿ'; bytes 0x81/0x8D/0x8F/0x90/0x9D raise),
    UTF-16 names strictly (a lone surrogate raises). A name longer than its cell is read past
    the cell (``TruncatedNameHive``: ``'longname1234\\x00\\x00\\x00\\x00\\x10\\x00\\x00\\x00lf'``).
regipy 6.5.0
    Its public ``iter_values`` gives decoded data and type *names*, so the values come from a
    loop that mirrors it (same values, same order, same skips) but keeps the vk record: raw
    bytes from regipy's own reads, the full type field. No raw loss was found. It skips every
    value of type 0x200000 (zero-length; e.g. ``SYSTEM_2`` ``...\\i8042prt\\Parameters``
    ``OverrideKeyboardType``: this, not "zero-length REG_NONE", explains its lower counts).
    Names are decoded with ``errors="replace"``: compressed names as ASCII (hivex ``special``:
    'abcd_äöüß' -> 'abcd_\\ufffd\\ufffd\\ufffd\\ufffd'), lone surrogates as U+FFFD. It reads on
    where every other parser fails (plaso ``corrupt_sub_key_list.hiv``: 101 keys / 99 values).
    ``recurse_subkeys`` yields post-order, so this walks ``iter_subkeys`` itself.
libregf (libregf-python 20260526)
    Resident data of 1-3 bytes comes back as the *last* n bytes of the 4-byte offset field
    instead of the first n (``REG_BINARY`` ``01`` -> ``00``; field ``02 00 00 00`` with n=3 ->
    ``00 00 00``), and ``REG_SZ``/``REG_EXPAND_SZ`` data is cut after the first UTF-16 NUL
    (``PerfIniFile`` ``'WmiApRpl.ini\\0'`` + zero padding -> up to the NUL). ``data_size`` is the
    length after that cut, so the declared length is read from the vk record (``value.offset``
    is its file offset) and ``raw`` is ``None`` for resident 1-3-byte data and for any length
    mismatch (37,709 values; 4,512 of them really differ, the others happen to coincide, mostly
    empty strings ``00 00``). Zero-length data is ``None`` in pyregf and ``b""`` here. Names:
    compressed as windows-1252 (0x9F -> 'Ÿ'), cut at an embedded NUL (``zero\\x00key`` ->
    ``zero``), a lone surrogate is kept as one (``'\\ud801'``). Refuses hives whose header
    checksum is wrong (EricZimmerman ``SAN(OTHER)``).
dissect.regf 3.14
    Raw data and types are exact. It raises for a zero-length value whose data offset is
    0xFFFFFFFF (as hivex does; kept with ``raw=None``). Names it cannot decode become the
    ``repr`` of their bytes (``TruncatedPairHive``: ``"b'\\x01\\xd8'"``); compressed names are
    tried as UTF-8 before Latin-1 (from its code; no corpus name is affected); a name longer
    than its cell is cut at the cell's end. Its value lists skip entries whose offset is <= 2,
    and it names the default value "(Default)" (``""`` here).

Where parsers disagree the bytes decide: a compressed name byte is one UTF-16 code unit
(Latin-1), a UTF-16 name is code units (lone surrogates included, as ``'\\udXXX'``), a
zero-length value has no data cell whatever its offset field says.
"""

from __future__ import annotations

import base64
import csv
import functools
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "HIVEXML",
    "SYSTEM_PYTHON",
    "Dump",
    "KeyEntry",
    "OracleError",
    "ValueEntry",
    "corpus_dir",
    "corpus_manifest",
    "corpus_parsers",
    "dissect_available",
    "dissect_dump",
    "hivecheck",
    "hivecheck_program",
    "hivex_available",
    "hivex_dump",
    "hivexml_available",
    "hivexml_ok",
    "libregf_available",
    "libregf_dump",
    "python_registry_available",
    "python_registry_dump",
    "regipy_available",
    "regipy_dump",
]

#: The interpreter that has Debian's ``python3-hivex`` (override: ``$WINMIGRATE_HIVEX_PYTHON``).
SYSTEM_PYTHON = os.environ.get("WINMIGRATE_HIVEX_PYTHON", "/usr/bin/python3")
#: hivex's XML dumper from ``libhivex-bin`` (override: ``$WINMIGRATE_HIVEXML``).
HIVEXML = os.environ.get("WINMIGRATE_HIVEXML", "/usr/bin/hivexml")

_HERE = Path(__file__).resolve().parent
_HIVEX_SCRIPT = _HERE / "_hivex_dump.py"
_REPO_ROOT = _HERE.parents[1]
_CORPUS_EXTRACT = _REPO_ROOT.parent / "shared" / "corpus" / "extract"

#: Deeper than any real hive: Windows refuses keys nested more than 512 levels.
MAX_DEPTH = 2048

# Value types (winnt.h).
REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_RESOURCE_LIST = 8
REG_FULL_RESOURCE_DESCRIPTOR = 9
REG_RESOURCE_REQUIREMENTS_LIST = 10
REG_QWORD = 11
REG_FILETIME = 16

_RESIDENT = 0x80000000


# --------------------------------------------------------------------------------------------
# The common dump format
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueEntry:
    """One value as a parser reads it.

    ``name`` is ``""`` for the default (unnamed) value. ``type`` is the 32-bit type field.
    ``raw`` is the value's data exactly as stored (resident data cut to its length, big data
    reassembled), or ``None`` where this parser cannot give those bytes faithfully.
    """

    name: str
    type: int
    raw: bytes | None


@dataclass(frozen=True)
class KeyEntry:
    """One key: its path below the root (the root itself is ``()``) and its values in order."""

    path: tuple[str, ...]
    values: tuple[ValueEntry, ...]


@dataclass(frozen=True)
class Dump:
    """A whole hive as one parser reads it.

    ``keys`` is in depth-first pre-order, the root first, subkeys in the order the parser
    returns them (the stored order of the subkey lists). Paths do not include ``root_name``.
    Dumps compare with ``==`` (names, types and raw bytes, in order); they are not hashable.
    """

    root_name: str
    keys: list[KeyEntry]

    def counts(self) -> tuple[int, int]:
        """``(number of keys including the root, number of values)``."""
        return len(self.keys), sum(len(k.values) for k in self.keys)

    def as_mapping(self) -> dict[tuple[str, ...], tuple[ValueEntry, ...]]:
        """Path -> values. Should a damaged hive list one path twice, the first one wins."""
        out: dict[tuple[str, ...], tuple[ValueEntry, ...]] = {}
        for key in self.keys:
            out.setdefault(key.path, key.values)
        return out


class OracleError(Exception):
    """A parser failed to open or to walk a hive.

    ``errors`` holds one line per failure. ``partial`` is what the parser did read, or ``None``
    when it could not even open the hive: a key whose name failed is left out with its subtree,
    a key whose subkey or value list failed keeps what was read before, a value whose name
    failed is left out, a value whose data failed is kept with ``raw=None``, and a key that is
    its own ancestor (a cycle) is left out.
    """

    def __init__(
        self, message: str, *, errors: Sequence[str] = (), partial: Dump | None = None
    ) -> None:
        super().__init__(message)
        self.errors: tuple[str, ...] = tuple(errors)
        self.partial = partial


def _error_message(parser: str, path: object, errors: Sequence[str]) -> str:
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{parser} failed on {path}: {errors[0]}{more}"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fmt_path(path: Sequence[str]) -> str:
    return "\\" + "\\".join(path)


# --------------------------------------------------------------------------------------------
# hivex (system interpreter, subprocess) and hivexml
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def hivex_available() -> bool:
    """Whether :data:`SYSTEM_PYTHON` exists and can ``import hivex``."""
    if not Path(SYSTEM_PYTHON).is_file():
        return False
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-I", "-c", "import hivex"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def hivex_dump(path: str | os.PathLike[str], *, timeout: float = 600) -> Dump:
    """Read a hive with hivex's Python binding (read-only, default flags).

    Runs ``_hivex_dump.py`` under :data:`SYSTEM_PYTHON`. Raises :class:`OracleError` with
    hivex's message when hivex cannot open the hive, or (with ``partial`` set) when it raised
    for any key or value during the walk.
    """
    hive = os.fspath(path)
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-I", str(_HIVEX_SCRIPT), hive],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise OracleError(f"hivex: cannot run {SYSTEM_PYTHON}: {_describe(exc)}") from exc
    if proc.returncode != 0 or not proc.stdout:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise OracleError(f"hivex dump of {hive} exited {proc.returncode}: {stderr}")
    doc = json.loads(proc.stdout)
    if "fatal" in doc:
        raise OracleError(_error_message("hivex", hive, [doc["fatal"]]), errors=[doc["fatal"]])

    b64decode = base64.b64decode
    keys: list[KeyEntry] = []
    names: list[str] = []
    for depth, name, values in doc["keys"]:
        del names[max(depth - 1, 0) :]
        if depth:
            names.append(name)
        keys.append(
            KeyEntry(
                tuple(names),
                tuple(
                    ValueEntry(vn, vt, None if vr is None else b64decode(vr))
                    for vn, vt, vr in values
                ),
            )
        )
    dump = Dump(doc["root_name"], keys)
    if doc["errors"]:
        errors = [f"{_fmt_path(p)}: {what}: {msg}" for p, what, msg in doc["errors"]]
        raise OracleError(_error_message("hivex", hive, errors), errors=errors, partial=dump)
    return dump


def hivexml_available() -> bool:
    """Whether :data:`HIVEXML` is there."""
    return Path(HIVEXML).is_file() or shutil.which(HIVEXML) is not None


def hivexml_ok(path: str | os.PathLike[str], *, timeout: float = 600) -> bool | str:
    """Run ``hivexml`` strictly (without ``-k``): ``True`` on exit 0, else its stderr text.

    The XML itself is thrown away; this only asks whether hivex's full visit accepts the hive.
    """
    try:
        proc = subprocess.run(
            [HIVEXML, os.fspath(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run {HIVEXML}: {_describe(exc)}"
    if proc.returncode == 0:
        return True
    text = proc.stderr.decode("utf-8", "replace").strip()
    return text or f"hivexml exited {proc.returncode}"


# --------------------------------------------------------------------------------------------
# A generic iterative walk for the in-process parsers
# --------------------------------------------------------------------------------------------

N = TypeVar("N")
V = TypeVar("V")


class _ValueReadError(Exception):
    """Raised by an ``entry_of`` callback: the value is kept as ``entry`` but its data failed."""

    def __init__(self, entry: ValueEntry, cause: BaseException) -> None:
        super().__init__(f"value {entry.name!r}: data: {_describe(cause)}")
        self.entry = entry


def _walk(
    parser: str,
    hive: object,
    root: N,
    *,
    name_of: Callable[[N], str],
    children_of: Callable[[N], Iterable[N]],
    values_of: Callable[[N], Iterable[V]],
    entry_of: Callable[[V], ValueEntry],
    ident_of: Callable[[N], object] | None = None,
) -> Dump:
    """Pre-order walk with an explicit stack; collects per-node/per-value failures.

    The root's name comes from ``name_of(root)``; a failure there is fatal. A key whose name
    fails is left out with its subtree; a key whose values or children fail keeps what was read
    before the failure; a value whose entry fails is left out, unless ``entry_of`` raised
    :class:`_ValueReadError` (the data failed, the value is kept with ``raw=None``). A key that
    is its own ancestor (``ident_of``) is a cycle and is left out; one key reached from two
    parents is listed under both, as the parsers return it. Any failure ends in
    :class:`OracleError` carrying the partial dump.
    """
    try:
        root_name = name_of(root)
    except Exception as exc:
        raise OracleError(f"{parser} failed on {hive}: root name: {_describe(exc)}") from exc

    keys: list[KeyEntry] = []
    errors: list[str] = []
    # Stack items: (node, path, identities of the node's ancestors).
    stack: list[tuple[N, tuple[str, ...], tuple[object, ...]]] = [(root, (), ())]
    while stack:
        node, path, ancestors = stack.pop()
        if ident_of is not None:
            ident = ident_of(node)
            if ident in ancestors:
                errors.append(f"{_fmt_path(path)}: cycle: key at {ident!r} is its own ancestor")
                continue
            ancestors = (*ancestors, ident)
        if len(path) > MAX_DEPTH:
            errors.append(f"{_fmt_path(path)}: deeper than {MAX_DEPTH} levels (a cycle?)")
            continue

        values: list[ValueEntry] = []
        try:
            for handle in values_of(node):
                try:
                    values.append(entry_of(handle))
                except _ValueReadError as exc:
                    values.append(exc.entry)
                    errors.append(f"{_fmt_path(path)}: {exc}")
                except Exception as exc:
                    errors.append(f"{_fmt_path(path)}: value: {_describe(exc)}")
        except Exception as exc:
            errors.append(f"{_fmt_path(path)}: values: {_describe(exc)}")
        keys.append(KeyEntry(path, tuple(values)))

        children: list[tuple[N, tuple[str, ...], tuple[object, ...]]] = []
        try:
            for child in children_of(node):
                try:
                    children.append((child, (*path, name_of(child)), ancestors))
                except Exception as exc:
                    errors.append(f"{_fmt_path(path)}: subkey name: {_describe(exc)}")
        except Exception as exc:
            errors.append(f"{_fmt_path(path)}: subkeys: {_describe(exc)}")
        children.reverse()
        stack.extend(children)

    dump = Dump(root_name, keys)
    if errors:
        raise OracleError(_error_message(parser, hive, errors), errors=errors, partial=dump)
    return dump


def _import(name: str) -> Any:
    """Import a parser's module untyped (none of them ships complete type information)."""
    return importlib.import_module(name)


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# python-registry
# --------------------------------------------------------------------------------------------


def python_registry_available() -> bool:
    """Whether ``python-registry`` (``import Registry``) is installed."""
    return _module_available("Registry")


# Types whose data python-registry's raw_data() slices to exactly the declared length, resident
# or not (its list of "binary-like" types plus links and resource lists).
_PYREG_EXACT = frozenset(
    {REG_NONE, REG_BINARY, REG_LINK, REG_RESOURCE_LIST, REG_FULL_RESOURCE_DESCRIPTOR}
    | {REG_RESOURCE_REQUIREMENTS_LIST}
    | set(range(0x101, 0x120))
)


def _pyreg_raw_faithful(masked_type: int, length_field: int, raw: bytes) -> bool:
    """Whether python-registry's ``raw_data()`` is the value's true data (see the module doc)."""
    resident = length_field >= _RESIDENT
    n = length_field & 0x7FFFFFFF
    if len(raw) != n:
        return False
    if resident:
        if n > 4:
            return False
        if masked_type in _PYREG_EXACT:
            return True
        if masked_type in (REG_SZ, REG_EXPAND_SZ, REG_DWORD):
            return n == 4  # always the 4 bytes of the offset field
        if masked_type == REG_MULTI_SZ:
            return n == 0  # always b""
        if masked_type in (REG_QWORD, REG_DWORD_BIG_ENDIAN, REG_FILETIME):
            return False  # read from a "cell" at the offset field itself
        return n == 4  # other types: the 4 bytes of the offset field
    # Not resident. Below 5 bytes python-registry takes the offset field for the data (as if
    # resident), which is only harmless for empty data.
    if n < 5:
        return n == 0
    if masked_type in (REG_DWORD, REG_DWORD_BIG_ENDIAN):
        return False  # DWORD: the offset field; big-endian: 4 bytes of a cell
    if masked_type == REG_QWORD:
        return n == 8
    return True


def python_registry_dump(path: str | os.PathLike[str], *, unfiltered: bool = False) -> Dump:
    """Read a hive with python-registry (``Registry.Registry``).

    Names are python-registry's (compressed names decoded as windows-1252, others as strict
    UTF-16LE). ``type`` is the full 32-bit field of the vk record (``value_type()`` masks it with
    0xFFF). ``raw`` is ``raw_data()`` where that is faithful, else ``None``; with
    ``unfiltered=True`` it is whatever ``raw_data()`` returns.
    """
    registry = _import("Registry.Registry")

    hive = os.fspath(path)
    try:
        reg = registry.Registry(hive)
        root = reg.root()
    except Exception as exc:
        raise OracleError(f"python-registry failed on {hive}: {_describe(exc)}") from exc

    def entry(value: Any) -> ValueEntry:
        vk = value._vkrecord
        name = vk.name() if vk.has_name() else ""
        full_type = vk.unpack_dword(0xC)
        try:
            data = bytes(vk.raw_data())
        except Exception as exc:
            raise _ValueReadError(ValueEntry(name, full_type, None), exc) from exc
        if unfiltered:
            return ValueEntry(name, full_type, data)
        faithful = _pyreg_raw_faithful(vk.data_type(), vk.raw_data_length(), data)
        return ValueEntry(name, full_type, data if faithful else None)

    return _walk(
        "python-registry",
        hive,
        root,
        name_of=lambda k: k.name(),
        children_of=lambda k: k.subkeys(),
        values_of=lambda k: k.values(),
        entry_of=entry,
        ident_of=lambda k: k._nkrecord.offset(),
    )


# --------------------------------------------------------------------------------------------
# regipy
# --------------------------------------------------------------------------------------------


def regipy_available() -> bool:
    """Whether ``regipy`` is installed."""
    return _module_available("regipy")


def _regipy_values(nk: Any) -> Iterator[ValueEntry]:
    """The values regipy's ``NKRecord.iter_values`` yields, with type numbers and raw bytes.

    Mirrors that loop (same values, same order, same skips: type 0x200000 is skipped, a vk that
    fails to parse ends the list -- silently in regipy, with an error here) but keeps the vk
    record, so the type is the full 32-bit field and ``raw`` comes from regipy's own reads: the
    offset field cut to the length for resident data, ``_parse_indirect_block`` for big data,
    ``read_value`` otherwise.
    """
    construct = _import("construct")
    int32ul = construct.Int32ul
    nk_record = _import("regipy.registry").NKRecord
    structs = _import("regipy.structs")

    if not nk.values_count:
        return
    base = structs.REGF_HEADER_SIZE + 4
    stream = nk._stream
    stream.seek(base + nk.header.values_list_offset)
    offsets = [int32ul.parse_stream(stream) for _ in range(nk.values_count)]
    for vk_offset in offsets:
        stream.seek(base + vk_offset)
        try:
            vk = structs.VALUE_KEY.parse_stream(stream)
        except (construct.ConstError, construct.StreamError) as exc:
            raise ValueError(f"regipy cannot parse the vk at {vk_offset:#x}") from exc
        vtype = int(vk.data_type)
        if vtype == 0x200000:
            continue  # regipy skips this type
        if vk.name_size == 0:
            name = ""
        elif vk.flags.VALUE_COMP_NAME:
            name = vk.name.decode("ascii", errors="replace")
        else:
            name = vk.name.decode("utf-16-le", errors="replace")
        size = vk.data_size
        raw: bytes | None
        if size >= _RESIDENT:
            # regipy's read_value() would copy up to 2 GiB from the offset field (taken as an
            # offset) and then ignore it; skip that and cut the field as iter_values does.
            n = size - _RESIDENT
            raw = int32ul.build(vk.data_offset)[:n] if n <= 4 else None
        else:
            value = nk_record.read_value(vk, stream)
            if size > 0x3FD8 and value.value[:2] == b"db":
                raw = nk_record._parse_indirect_block(stream, value)
            else:
                raw = value.value
        if raw is not None and len(raw) != (size & 0x7FFFFFFF):
            raw = None  # short read: data beyond the end of the file
        yield ValueEntry(name, vtype, raw)


def regipy_dump(path: str | os.PathLike[str]) -> Dump:
    """Read a hive with regipy (``regipy.registry.RegistryHive``), walking ``iter_subkeys``.

    ``recurse_subkeys`` yields post-order, so this walks ``NKRecord.iter_subkeys`` itself; values
    come from :func:`_regipy_values`. Names are regipy's (``errors="replace"`` decoding).
    """
    registry_hive = _import("regipy.registry").RegistryHive

    hive = os.fspath(path)
    try:
        reg = registry_hive(hive)
        root = reg.root
    except Exception as exc:
        raise OracleError(f"regipy failed on {hive}: {_describe(exc)}") from exc

    def children(nk: Any) -> list[Any]:
        return list(nk.iter_subkeys() or ()) if nk.subkey_count else []

    return _walk(
        "regipy",
        hive,
        root,
        name_of=lambda k: k.name,
        children_of=children,
        values_of=_regipy_values,
        entry_of=lambda v: v,
        ident_of=None,
    )


# --------------------------------------------------------------------------------------------
# libregf (pyregf)
# --------------------------------------------------------------------------------------------


def libregf_available() -> bool:
    """Whether ``libregf-python`` (``import pyregf``) is installed."""
    return _module_available("pyregf")


def libregf_dump(path: str | os.PathLike[str], *, unfiltered: bool = False) -> Dump:
    """Read a hive with libregf's Python binding (``pyregf``).

    Names are libregf's (``None`` for the default value becomes ``""``). ``raw`` is
    ``value.data`` (``b""`` for empty data, which pyregf gives as ``None``), or ``None`` where
    libregf is known to misread it: resident data of 1-3 bytes, and any length other than the
    vk record's declared one (its string cut). With ``unfiltered=True`` ``raw`` is
    ``value.data`` as libregf gives it.
    """
    pyregf = _import("pyregf")

    hive = os.fspath(path)
    with open(hive, "rb") as fh:
        image = fh.read()
    regf = pyregf.file()
    try:
        regf.open(hive)
    except Exception as exc:
        raise OracleError(f"libregf failed on {hive}: {_describe(exc)}") from exc
    try:
        root = regf.get_root_key()
    except Exception as exc:
        regf.close()
        raise OracleError(f"libregf failed on {hive}: {_describe(exc)}") from exc

    unpack_length = struct.Struct("<I").unpack_from

    def entry(value: Any) -> ValueEntry:
        name = value.name or ""
        vtype = value.type
        try:
            data = value.data
        except Exception as exc:
            raise _ValueReadError(ValueEntry(name, vtype, None), exc) from exc
        # libregf's data_size is len(data) after its own cuts, so take the declared length
        # from the vk record itself (value.offset is the file offset of its "vk" signature).
        (length_field,) = unpack_length(image, value.offset + 4)
        n = length_field & 0x7FFFFFFF
        raw: bytes | None
        if data is None:
            raw = b"" if n == 0 else None
        else:
            raw = bytes(data)
            if unfiltered:
                pass
            elif len(raw) != n or (length_field & _RESIDENT and 0 < n < 4):
                raw = None  # strings cut after their first NUL; resident 1-3 bytes zeroed
        return ValueEntry(name, vtype, raw)

    try:
        return _walk(
            "libregf",
            hive,
            root,
            name_of=lambda k: k.name,
            children_of=lambda k: list(k.sub_keys),
            values_of=lambda k: list(k.values),
            entry_of=entry,
            ident_of=lambda k: k.offset,
        )
    finally:
        regf.close()


# --------------------------------------------------------------------------------------------
# dissect.regf
# --------------------------------------------------------------------------------------------


def dissect_available() -> bool:
    """Whether ``dissect.regf`` is installed."""
    return _module_available("dissect.regf")


def dissect_dump(path: str | os.PathLike[str]) -> Dump:
    """Read a hive with dissect.regf (``dissect.regf.RegistryHive``).

    Names are dissect's ("(Default)" for an unnamed value becomes ``""``); ``raw`` is
    ``KeyValue.data``, exact wherever it reads.
    """
    registry_hive = _import("dissect.regf").RegistryHive

    hive = os.fspath(path)
    with open(hive, "rb") as fh:
        try:
            reg = registry_hive(fh)
            root = reg.root()
        except Exception as exc:
            raise OracleError(f"dissect.regf failed on {hive}: {_describe(exc)}") from exc

        def entry(value: Any) -> ValueEntry:
            name = "" if value.cell.NameLength == 0 else value.name
            try:
                data = bytes(value.data)
            except Exception as exc:
                raise _ValueReadError(ValueEntry(name, value.type, None), exc) from exc
            return ValueEntry(name, value.type, data)

        return _walk(
            "dissect.regf",
            hive,
            root,
            name_of=lambda k: k.name,
            children_of=lambda k: list(k.subkeys()),
            values_of=lambda k: list(k.values()),
            entry_of=entry,
            ident_of=None,
        )


# --------------------------------------------------------------------------------------------
# The shared corpus of real hives
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def corpus_dir() -> Path | None:
    """The unpacked corpus folder, or ``None`` when ``../shared/corpus/extract`` is absent.

    Runs the extract script (cheap once unpacked; it honours ``$WINMIGRATE_CORPUS_DIR``).
    """
    if not _CORPUS_EXTRACT.is_file():
        return None
    proc = subprocess.run(
        [sys.executable, str(_CORPUS_EXTRACT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{_CORPUS_EXTRACT} failed ({proc.returncode}): {proc.stderr.strip()}")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{_CORPUS_EXTRACT} printed no folder")
    folder = Path(lines[-1])
    if not folder.is_dir():
        raise RuntimeError(f"{_CORPUS_EXTRACT} printed {folder}, which is not a folder")
    return folder


def _read_tsv(name: str) -> list[dict[str, str]]:
    folder = corpus_dir()
    if folder is None:
        return []
    with open(folder / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def corpus_manifest() -> list[dict[str, str]]:
    """Rows of the corpus's ``MANIFEST.tsv`` (empty when there is no corpus)."""
    return _read_tsv("MANIFEST.tsv")


def corpus_parsers() -> list[dict[str, str]]:
    """Rows of the corpus's ``PARSERS.tsv`` (empty when there is no corpus)."""
    return _read_tsv("PARSERS.tsv")


# --------------------------------------------------------------------------------------------
# hivecheck: ReactOS's cmlib, Windows' own load-time checks (../shared/tools/hivecheck)
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def hivecheck_program() -> str | None:
    """The compiled hivecheck (built once into a cache by its ``build.sh``), or ``None`` when
    ``../shared`` or a compiler is missing. The build and the helpers around it (verdicts on
    bytes and open hives, the excused over-strictness of cmlib) are in :mod:`tests.oracles.cmlib`.
    """
    from tests.oracles.cmlib import hivecheck_exe

    return hivecheck_exe()


def hivecheck(path: str | os.PathLike[str], *, timeout: float = 300) -> str:
    """hivecheck's verdict on a hive file: ``"OK"`` or its ``BAD: ...`` line."""
    from tests.oracles.cmlib import hivecheck_ok

    if hivecheck_program() is None:
        raise OracleError("hivecheck is not available")
    return hivecheck_ok(path, timeout=timeout)[1].splitlines()[0]
