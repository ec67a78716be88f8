"""Self-relative security descriptors (the payload of ``sk`` records): owner, group, ACLs, ACEs.

Decoding is bounds-checked; a malformed descriptor raises ``HiveFormatError``. The raw bytes
are always kept, so nothing is lost when an ACE type is not decoded further.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import HiveFormatError

_SD = struct.Struct("<BBHIIII")
_ACL = struct.Struct("<BBHHH")
_ACE_HEADER = struct.Struct("<BBH")
_U32 = struct.Struct("<I")

# SECURITY_DESCRIPTOR_CONTROL bits
SE_OWNER_DEFAULTED = 0x0001
SE_GROUP_DEFAULTED = 0x0002
SE_DACL_PRESENT = 0x0004
SE_DACL_DEFAULTED = 0x0008
SE_SACL_PRESENT = 0x0010
SE_SACL_DEFAULTED = 0x0020
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_SACL_AUTO_INHERIT_REQ = 0x0200
SE_DACL_AUTO_INHERITED = 0x0400
SE_SACL_AUTO_INHERITED = 0x0800
SE_DACL_PROTECTED = 0x1000
SE_SACL_PROTECTED = 0x2000
SE_SELF_RELATIVE = 0x8000

ACE_TYPE_NAMES = {
    0: "ACCESS_ALLOWED", 1: "ACCESS_DENIED", 2: "SYSTEM_AUDIT", 3: "SYSTEM_ALARM",
    4: "ACCESS_ALLOWED_COMPOUND", 5: "ACCESS_ALLOWED_OBJECT", 6: "ACCESS_DENIED_OBJECT",
    7: "SYSTEM_AUDIT_OBJECT", 8: "SYSTEM_ALARM_OBJECT", 9: "ACCESS_ALLOWED_CALLBACK",
    10: "ACCESS_DENIED_CALLBACK", 11: "ACCESS_ALLOWED_CALLBACK_OBJECT",
    12: "ACCESS_DENIED_CALLBACK_OBJECT", 13: "SYSTEM_AUDIT_CALLBACK",
    14: "SYSTEM_ALARM_CALLBACK", 15: "SYSTEM_AUDIT_CALLBACK_OBJECT",
    16: "SYSTEM_ALARM_CALLBACK_OBJECT", 17: "SYSTEM_MANDATORY_LABEL",
    18: "SYSTEM_RESOURCE_ATTRIBUTE", 19: "SYSTEM_SCOPED_POLICY_ID",
}
_SDDL_ACE = {0: "A", 1: "D", 2: "AU", 3: "AL", 5: "OA", 6: "OD", 7: "OU", 8: "OL",
             9: "XA", 10: "XD", 17: "ML"}
_SDDL_FLAGS = [(0x01, "OI"), (0x02, "CI"), (0x04, "NP"), (0x08, "IO"), (0x10, "ID"),
               (0x40, "SA"), (0x80, "FA")]
# Masks whose SDDL spelling is usual for registry keys (KEY_ALL_ACCESS, KEY_READ, ...).
_SDDL_MASKS = {0xF003F: "KA", 0x20019: "KR", 0x20006: "KW", 0x10000000: "GA",
               0x80000000: "GR", 0x40000000: "GW", 0x20000000: "GX"}
WELL_KNOWN_SIDS = {
    "S-1-1-0": "Everyone", "S-1-3-0": "CREATOR OWNER", "S-1-3-1": "CREATOR GROUP",
    "S-1-5-18": "SYSTEM", "S-1-5-19": "LOCAL SERVICE", "S-1-5-20": "NETWORK SERVICE",
    "S-1-5-32-544": "Administrators", "S-1-5-32-545": "Users", "S-1-5-32-547": "Power Users",
    "S-1-5-32-549": "Server Operators", "S-1-5-32-551": "Backup Operators",
    "S-1-5-11": "Authenticated Users", "S-1-5-12": "RESTRICTED",
    "S-1-15-2-1": "ALL APPLICATION PACKAGES", "S-1-16-4096": "Low Mandatory Level",
    "S-1-16-8192": "Medium Mandatory Level", "S-1-16-12288": "High Mandatory Level",
    "S-1-16-16384": "System Mandatory Level",
}
_SDDL_SIDS = {"S-1-1-0": "WD", "S-1-3-0": "CO", "S-1-3-1": "CG", "S-1-5-18": "SY",
              "S-1-5-19": "LS", "S-1-5-20": "NS", "S-1-5-32-544": "BA", "S-1-5-32-545": "BU",
              "S-1-5-32-547": "PU", "S-1-5-32-549": "SO", "S-1-5-32-551": "BO",
              "S-1-5-11": "AU", "S-1-5-12": "RC", "S-1-15-2-1": "AC", "S-1-16-4096": "LW",
              "S-1-16-8192": "ME", "S-1-16-12288": "HI", "S-1-16-16384": "SI"}


def parse_sid(buf: bytes, offset: int, limit: int) -> tuple[str, int]:
    """``(S-1-... string, length in bytes)`` of the SID at ``offset`` (not past ``limit``)."""
    if offset + 8 > limit:
        raise ValueError("SID header runs past its container")
    revision = buf[offset]
    count = buf[offset + 1]
    length = 8 + 4 * count
    if offset + length > limit:
        raise ValueError(f"SID with {count} sub-authorities runs past its container")
    authority = int.from_bytes(buf[offset + 2:offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", buf, offset + 8)
    text = f"S-{revision}-{authority}" + "".join(f"-{s}" for s in subs)
    return text, length


def encode_sid(sid: str) -> bytes:
    """Binary form of an ``S-R-A-S1-S2...`` string."""
    parts = sid.split("-")
    if len(parts) < 3 or parts[0].upper() != "S":
        raise ValueError(f"not a SID: {sid!r}")
    revision, authority = int(parts[1]), int(parts[2], 0)
    subs = [int(p) for p in parts[3:]]
    if len(subs) > 15:
        raise ValueError("a SID has at most 15 sub-authorities")
    return (bytes([revision, len(subs)]) + authority.to_bytes(6, "big")
            + struct.pack(f"<{len(subs)}I", *subs))


@dataclass(frozen=True)
class Ace:
    """One access control entry. ``sid`` is ``None`` for ACE types not decoded further."""

    type: int
    flags: int
    mask: int
    sid: str | None
    raw: bytes = field(repr=False)
    object_type: str | None = None
    inherited_object_type: str | None = None

    @property
    def type_name(self) -> str:
        return ACE_TYPE_NAMES.get(self.type, f"ACE_TYPE_{self.type}")

    def to_sddl(self) -> str:
        kind = _SDDL_ACE.get(self.type, f"0x{self.type:x}")
        flags = "".join(name for bit, name in _SDDL_FLAGS if self.flags & bit)
        mask = _SDDL_MASKS.get(self.mask, f"0x{self.mask:x}")
        sid = _SDDL_SIDS.get(self.sid or "", self.sid or "")
        return (f"({kind};{flags};{mask};{self.object_type or ''};"
                f"{self.inherited_object_type or ''};{sid})")

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type_name, "flags": self.flags, "mask": self.mask, "sid": self.sid,
                "sid_name": WELL_KNOWN_SIDS.get(self.sid or "")}


@dataclass(frozen=True)
class Acl:
    revision: int
    aces: tuple[Ace, ...]


def _guid_text(b: bytes) -> str:
    import uuid

    return str(uuid.UUID(bytes_le=b))


def _parse_acl(buf: bytes, offset: int) -> Acl:
    if offset + _ACL.size > len(buf):
        raise ValueError("ACL header runs past the descriptor")
    revision, _sbz1, size, count, _sbz2 = _ACL.unpack_from(buf, offset)
    end = offset + size
    if size < _ACL.size or end > len(buf):
        raise ValueError(f"ACL size {size} runs past the descriptor")
    aces = []
    pos = offset + _ACL.size
    for _ in range(count):
        if pos + 4 > end:
            raise ValueError("ACE header runs past its ACL")
        ace_type, ace_flags, ace_size = _ACE_HEADER.unpack_from(buf, pos)
        if ace_size < 4 or pos + ace_size > end:
            raise ValueError(f"ACE size {ace_size} runs past its ACL")
        ace_end = pos + ace_size
        raw = buf[pos:ace_end]
        mask = 0
        sid = obj = inh = None
        if ace_size >= 8:
            mask = _U32.unpack_from(buf, pos + 4)[0]
        if ace_type in (0, 1, 2, 3, 9, 10, 13, 14, 17, 18, 19) and ace_size >= 16:
            sid, _n = parse_sid(buf, pos + 8, ace_end)
        elif ace_type in (5, 6, 7, 8, 11, 12, 15, 16) and ace_size >= 12:
            oflags = _U32.unpack_from(buf, pos + 8)[0]
            p = pos + 12
            if oflags & 1:
                if p + 16 > ace_end:
                    raise ValueError("object ACE GUID runs past the ACE")
                obj = _guid_text(buf[p:p + 16])
                p += 16
            if oflags & 2:
                if p + 16 > ace_end:
                    raise ValueError("object ACE GUID runs past the ACE")
                inh = _guid_text(buf[p:p + 16])
                p += 16
            sid, _n = parse_sid(buf, p, ace_end)
        aces.append(Ace(ace_type, ace_flags, mask, sid, raw, obj, inh))
        pos = ace_end
    return Acl(revision, tuple(aces))


@dataclass(frozen=True)
class SecurityDescriptor:
    """A decoded self-relative ``SECURITY_DESCRIPTOR``; ``raw`` holds its exact bytes.

    ``reference_count`` is the ``sk`` record's count of keys using it, and ``offset`` the record's
    cell offset (both ``None`` for a descriptor not read from a hive)."""

    raw: bytes = field(repr=False)
    revision: int
    control: int
    owner: str | None
    group: str | None
    sacl: Acl | None
    dacl: Acl | None
    reference_count: int | None = None
    offset: int | None = None

    @classmethod
    def parse(cls, raw: bytes, *, reference_count: int | None = None,
              offset: int | None = None) -> SecurityDescriptor:
        """Decode ``raw``; raises ``HiveFormatError`` (at ``offset``) if it is malformed."""
        try:
            return cls._parse(raw, reference_count, offset)
        except (ValueError, struct.error, IndexError) as e:
            where = None if offset is None else offset + 4096
            raise HiveFormatError(f"bad security descriptor: {e}", where) from None

    @classmethod
    def _parse(cls, raw: bytes, reference_count: int | None,
               offset: int | None) -> SecurityDescriptor:
        if len(raw) < _SD.size:
            raise ValueError(f"{len(raw)} bytes, shorter than a descriptor header (20)")
        revision, _sbz1, control, o_owner, o_group, o_sacl, o_dacl = _SD.unpack_from(raw)
        if revision != 1:
            raise ValueError(f"revision {revision}, expected 1")
        owner = parse_sid(raw, o_owner, len(raw))[0] if o_owner else None
        group = parse_sid(raw, o_group, len(raw))[0] if o_group else None
        sacl = _parse_acl(raw, o_sacl) if (control & SE_SACL_PRESENT and o_sacl) else None
        dacl = _parse_acl(raw, o_dacl) if (control & SE_DACL_PRESENT and o_dacl) else None
        return cls(bytes(raw), revision, control, owner, group, sacl, dacl, reference_count,
                   offset)

    def to_sddl(self) -> str:
        """The descriptor in SDDL, e.g. ``O:BAG:SYD:PAI(A;CI;KA;;;SY)``."""
        parts = []
        if self.owner:
            parts.append("O:" + _SDDL_SIDS.get(self.owner, self.owner))
        if self.group:
            parts.append("G:" + _SDDL_SIDS.get(self.group, self.group))
        for tag, acl, protected, auto in (("D", self.dacl, SE_DACL_PROTECTED,
                                            SE_DACL_AUTO_INHERITED),
                                           ("S", self.sacl, SE_SACL_PROTECTED,
                                            SE_SACL_AUTO_INHERITED)):
            if acl is None:
                continue
            flags = ("P" if self.control & protected else "") + (
                "AI" if self.control & auto else "")
            parts.append(f"{tag}:{flags}" + "".join(a.to_sddl() for a in acl.aces))
        return "".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "owner": self.owner, "group": self.group, "control": self.control,
            "dacl": [a.to_dict() for a in self.dacl.aces] if self.dacl else None,
            "sacl": [a.to_dict() for a in self.sacl.aces] if self.sacl else None,
            "sddl": self.to_sddl(), "reference_count": self.reference_count,
        }


def build_descriptor(*, owner: str | None, group: str | None,
                     dacl: list[tuple[int, int, int, str]] | None,
                     control: int = SE_DACL_PRESENT | SE_SELF_RELATIVE) -> bytes:
    """A self-relative descriptor from an owner, a group and DACL entries given as
    ``(ace type, ace flags, access mask, SID string)`` (simple ACE types 0-3 only)."""
    body = bytearray()
    offsets = {}
    pos = _SD.size
    for name, sid in (("owner", owner), ("group", group)):
        if sid is not None:
            raw = encode_sid(sid)
            offsets[name] = pos + len(body)
            body += raw
    o_dacl = 0
    if dacl is not None:
        aces = bytearray()
        for ace_type, ace_flags, mask, sid in dacl:
            if ace_type not in (0, 1, 2, 3):
                raise ValueError("only simple ACE types (0-3) can be built")
            raw_sid = encode_sid(sid)
            aces += _ACE_HEADER.pack(ace_type, ace_flags, 8 + len(raw_sid))
            aces += _U32.pack(mask) + raw_sid
        o_dacl = pos + len(body)
        body += _ACL.pack(2, 0, _ACL.size + len(aces), len(dacl), 0) + aces
        control |= SE_DACL_PRESENT
    header = _SD.pack(1, 0, control | SE_SELF_RELATIVE, offsets.get("owner", 0),
                      offsets.get("group", 0), 0, o_dacl)
    return header + bytes(body)


# What Windows gives the root of a new user or system hive, less the app-container entries:
# O:BAG:SYD:PAI(A;CI;KR;;;BU)(A;CI;KA;;;BA)(A;CI;KA;;;SY)(A;CI;KA;;;CO)
DEFAULT_ROOT_DESCRIPTOR = build_descriptor(
    owner="S-1-5-32-544", group="S-1-5-18",
    dacl=[(0, 0x02, 0x20019, "S-1-5-32-545"), (0, 0x02, 0xF003F, "S-1-5-32-544"),
          (0, 0x02, 0xF003F, "S-1-5-18"), (0, 0x02, 0xF003F, "S-1-3-0")],
    control=SE_DACL_PRESENT | SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_SELF_RELATIVE)
