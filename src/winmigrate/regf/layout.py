"""On-disk layouts of the REGF format: precompiled structs, signatures and sizes. No I/O, no policy.

Field names follow the Windows kernel's (``_HBASE_BLOCK``, ``_HBIN``, ``_CM_KEY_NODE``,
``_CM_KEY_VALUE``, ``_CM_KEY_SECURITY``, ``_CM_KEY_INDEX``, ``_CM_BIG_DATA``) as documented in the
msuhanov/regf specification. Every offset inside the hive bins data is relative to the end of the
base block (``BASE_BLOCK_SIZE``); ``NIL`` means "no cell".
"""

from __future__ import annotations

import codecs
import struct

# Names and strings are UTF-16LE. Hot paths call the codec function directly:
# ``bytes.decode("utf-16-le")`` looks the codec up and runs a Python wrapper on every call,
# about four times the cost on registry strings (benchmarks/utf16_decode.py). Called as
# ``UTF16LE(raw, errors, True)[0]``.
UTF16LE = codecs.utf_16_le_decode

BASE_BLOCK_SIZE = 4096
HBIN_HEADER_SIZE = 32
BIN_ALIGN = 4096  # bins are whole multiples of 4 KiB
CELL_ALIGN = 8  # cell sizes (header included) are multiples of 8
NIL = 0xFFFFFFFF

# Base block (_HBASE_BLOCK). Checksum covers the first 508 bytes (127 dwords).
REGF_SIGNATURE = b"regf"
CHECKSUM_OFFSET = 508
BASE_BLOCK_HEAD = struct.Struct("<4sIIQIIIIII")  # sig, seq1, seq2, timestamp, major, minor,
#                                                  type, format, root, bins size
CLUSTERING_OFFSET = 44
FILE_NAME_OFFSET = 48
FILE_NAME_SIZE = 64
RM_ID_OFFSET = 112
LOG_ID_OFFSET = 128
FLAGS_OFFSET = 144
TM_ID_OFFSET = 148
GUID_SIGNATURE_OFFSET = 164  # b"rmtm"
LAST_REORGANIZED_OFFSET = 168
THAW_TM_ID_OFFSET = 4040
THAW_RM_ID_OFFSET = 4056
THAW_LOG_ID_OFFSET = 4072
BOOT_TYPE_OFFSET = 4088
BOOT_RECOVER_OFFSET = 4092

FILE_TYPE_PRIMARY = 0
FILE_TYPE_LOG_OLD = 1
FILE_TYPE_LOG_OLD_ALT = 2  # "alternate" log of Windows 2000
FILE_TYPE_LOG_NEW = 6
FILE_FORMAT_DIRECT_MEMORY_LOAD = 1

# Hive bin header (_HBIN): signature, offset of this bin, size, reserved, timestamp, spare.
HBIN_SIGNATURE = b"hbin"
HBIN_HEADER = struct.Struct("<4sIIIIQI")

# Cells: a signed 32-bit size (negative = allocated) before each payload.
CELL_SIZE = struct.Struct("<i")

# Key node (_CM_KEY_NODE), 76 bytes before the name.
NK_SIGNATURE = b"nk"
NK = struct.Struct("<2sHQIIIIIIIIIIIIIIIHH")
NK_CELL = struct.Struct("<i" + NK.format[1:])  # the cell's size field, then the record
NK_FIXED_SIZE = NK.size  # 76
(NK_SIG, NK_FLAGS, NK_TIMESTAMP, NK_ACCESS_BITS, NK_PARENT, NK_SUBKEY_COUNT,
 NK_VOLATILE_SUBKEY_COUNT, NK_SUBKEY_LIST, NK_VOLATILE_SUBKEY_LIST, NK_VALUE_COUNT,
 NK_VALUE_LIST, NK_SECURITY, NK_CLASS, NK_MAX_NAME, NK_MAX_CLASS, NK_MAX_VALUE_NAME,
 NK_MAX_VALUE_DATA, NK_WORKVAR, NK_NAME_LENGTH, NK_CLASS_LENGTH) = range(20)
# Byte offsets of the fields the writer updates in place.
NK_OFF_FLAGS = 2
NK_OFF_TIMESTAMP = 4
NK_OFF_ACCESS_BITS = 12
NK_OFF_PARENT = 16
NK_OFF_SUBKEY_COUNT = 20
NK_OFF_SUBKEY_LIST = 28
NK_OFF_VALUE_COUNT = 36
NK_OFF_VALUE_LIST = 40
NK_OFF_SECURITY = 44
NK_OFF_CLASS = 48
NK_OFF_MAX_NAME = 52
NK_OFF_MAX_CLASS = 56
NK_OFF_MAX_VALUE_NAME = 60
NK_OFF_MAX_VALUE_DATA = 64
NK_OFF_NAME_LENGTH = 72
NK_OFF_CLASS_LENGTH = 74

# nk flags (KEY_* in the kernel).
KEY_IS_VOLATILE = 0x0001
KEY_HIVE_EXIT = 0x0002  # mount point of another hive
KEY_HIVE_ENTRY = 0x0004  # the root key
KEY_NO_DELETE = 0x0008
KEY_SYM_LINK = 0x0010
KEY_COMP_NAME = 0x0020  # name stored as Latin-1 ("compressed") rather than UTF-16LE
KEY_PREDEF_HANDLE = 0x0040
KEY_VIRTUAL_SOURCE = 0x0080
KEY_VIRTUAL_TARGET = 0x0100
KEY_VIRTUAL_STORE = 0x0200
# The low 16 bits of the max-subkey-name field are the length; the upper bits carry flags.
NK_MAX_NAME_LENGTH_MASK = 0xFFFF

# Value (_CM_KEY_VALUE), 20 bytes before the name.
VK_SIGNATURE = b"vk"
VK = struct.Struct("<2sHIIIHH")
VK_FIXED_SIZE = VK.size  # 20
VK_OFF_DATA_SIZE = 4
VK_OFF_DATA = 8
VK_OFF_TYPE = 12
VK_OFF_FLAGS = 16
# The value tuples the readers return (``records.read_vk_named``, ``read_values``) hold the cell's
# size field first, then the record: one unpack of the cell reads both.
VK_CELL = struct.Struct("<i" + VK.format[1:])
(VK_CELL_SIZE, VK_SIG, VK_NAME_LENGTH, VK_DATA_SIZE, VK_DATA_OFFSET, VK_TYPE, VK_FLAGS,
 VK_SPARE) = range(8)
VALUE_COMP_NAME = 0x0001
VALUE_TOMBSTONE = 0x0002  # layered keys (version 1.6)
DATA_RESIDENT = 0x80000000  # data size bit: the data sits in the data-offset field itself
RESIDENT_MAX = 4
BIG_DATA_THRESHOLD = 16344  # CM_KEY_VALUE_BIG: larger data uses "db" cells (minor >= 4)
BIG_DATA_SEGMENT = 16344  # bytes of data in every segment but the last
BIG_DATA_MIN_MINOR = 4

# Security (_CM_KEY_SECURITY): signature, reserved, flink, blink, reference count, length.
SK_SIGNATURE = b"sk"
SK = struct.Struct("<2sHIIII")
SK_FIXED_SIZE = SK.size  # 20
SK_OFF_FLINK = 4
SK_OFF_BLINK = 8
SK_OFF_REFCOUNT = 12

# Subkey lists (_CM_KEY_INDEX / _CM_KEY_FAST_INDEX): signature and count, then the elements.
LIST_HEADER = struct.Struct("<2sH")
LIST_CELL = struct.Struct("<i" + LIST_HEADER.format[1:])  # the cell's size field, then the header
LI_SIGNATURE = b"li"
LF_SIGNATURE = b"lf"
LH_SIGNATURE = b"lh"
RI_SIGNATURE = b"ri"
LH_MIN_MINOR = 5  # "lh" appeared with Windows XP (1.5)
# Windows splits a leaf before it passes this many elements: (4096 - 40) / 8.
MAX_LEAF_ELEMENTS = 507

# Big data (_CM_BIG_DATA): signature, segment count, offset of the segment list.
DB_SIGNATURE = b"db"
DB = struct.Struct("<2sHI")

# Windows refuses keys nested deeper than this (CmpMaxKeyDepth / REG_MAX_KEY_DEPTH).
MAX_KEY_DEPTH = 512
MAX_KEY_NAME_CHARS = 255  # registry key names: 255 UTF-16 characters
MAX_VALUE_NAME_CHARS = 16383

U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
I32 = struct.Struct("<i")

class _U32Arrays(dict[int, struct.Struct]):
    """Structs of ``count`` little-endian u32, made on first use (list cells reuse a handful of
    sizes; at most 4096 are kept)."""

    def __missing__(self, count: int) -> struct.Struct:
        s = struct.Struct(f"<{count}I")
        if len(self) < 4096:
            self[count] = s
        return s


#: ``u32_array(count)``: the struct of ``count`` u32. A dict lookup called directly, so that the
#: hot list readers pay no Python call for it.
u32_array = _U32Arrays().__getitem__
