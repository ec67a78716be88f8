"""Certificates of the machine's system stores in a SOFTWARE hive (``TrustedPublisher``,
``ROOT``, ...), so that a driver publisher can be trusted before the guest first boots.

    from . import certs

    for cert in certs.list_certificates(software, "TrustedPublisher"):
        print(cert.thumbprint, cert.info.subject_cn, cert.info.not_after)
    certs.add_certificate(software, open("redhat.cer", "rb").read(), "TrustedPublisher")

Layout (verified on the corpus hive ``mkorman90_regipy/regipy_tests/data/ntuser_software_partial``,
a Software tree with ``TrustedPublisher``, ``Root`` and ``CA`` stores, and on the user stores of
seven NTUSER hives): ``Microsoft\\SystemCertificates\\<store>\\Certificates\\<SHA-1 thumbprint,
upper-case hex>`` holds a REG_BINARY ``Blob``: a sequence of properties, each a u32 property
id, a u32 that is always 1, a u32 length and the bytes. Property 0x20 is the DER certificate
(always the last one), 0x03 its SHA-1 hash (= the key name); Windows adds others (0x04 MD5,
0x14 key identifier, 0x0F, 0x19, 0x18, 0x5C, 0x0B friendly name, ...) that it can recompute.
A store key has the subkeys ``Certificates``, ``CRLs`` and ``CTLs``.

The X.509 fields shown (subject and issuer names, serial, validity) come from a minimal DER
reader here: no third-party package is needed at run time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..regf.regtype import RegType
from .changes import Change, ChangeSet, RegValue, apply_changes, find_key, get_value, join

if TYPE_CHECKING:
    from ..hive import Hive, Key

__all__ = [
    "PROP_CERTIFICATE",
    "PROP_FRIENDLY_NAME",
    "PROP_SHA1",
    "STORES_PATH",
    "CertProperty",
    "CertificateError",
    "CertificateInfo",
    "DerElement",
    "StoreCertificate",
    "add_certificate",
    "build_blob",
    "der_children",
    "list_certificates",
    "load_certificate",
    "parse_blob",
    "parse_certificate",
    "plan_add_certificate",
    "read_der",
]

STORES_PATH = r"Microsoft\SystemCertificates"
PROP_SHA1 = 0x03
PROP_FRIENDLY_NAME = 0x0B
PROP_CERTIFICATE = 0x20
_PROP = struct.Struct("<III")
_STORE_RE = re.compile(r"^[A-Za-z0-9 _.-]{1,64}$")
_OIDS = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
         "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "1.2.840.113549.1.9.1": "emailAddress",
         "0.9.2342.19200300.100.1.25": "DC"}


class CertificateError(UsageError):
    """The bytes are not a DER (or PEM) X.509 certificate this reader understands."""


# -- a minimal DER reader --------------------------------------------------------------------


@dataclass(frozen=True)
class _TLV:
    tag: int
    start: int  # first content byte
    end: int  # one past the last content byte
    header: int  # first byte of the tag


def _read_tlv(data: bytes, off: int, limit: int) -> _TLV:
    if off + 2 > limit:
        raise CertificateError(f"DER: truncated element at offset {off}")
    tag = data[off]
    if tag & 0x1F == 0x1F:
        raise CertificateError(f"DER: multi-byte tag at offset {off} is not supported")
    first = data[off + 1]
    pos = off + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise CertificateError(f"DER: indefinite length at offset {off} (not DER)")
    else:
        n = first & 0x7F
        if n > 4 or pos + n > limit:
            raise CertificateError(f"DER: bad length field at offset {off}")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > limit:
        raise CertificateError(f"DER: element at offset {off} runs past its container")
    return _TLV(tag, pos, pos + length, off)


def _children(data: bytes, parent: _TLV) -> list[_TLV]:
    out: list[_TLV] = []
    off = parent.start
    while off < parent.end:
        child = _read_tlv(data, off, parent.end)
        out.append(child)
        off = child.end
        if len(out) > 10_000:
            raise CertificateError("DER: too many elements")
    return out


#: The DER reader, public for other readers of the same encoding (driver catalogs).
DerElement = _TLV
read_der = _read_tlv
der_children = _children


def _oid(raw: bytes) -> str:
    if not raw:
        return ""
    parts = [raw[0] // 40, raw[0] % 40] if raw[0] < 80 else [2, raw[0] - 80]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _string(data: bytes, tlv: _TLV) -> str:
    raw = data[tlv.start:tlv.end]
    if tlv.tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if tlv.tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    if tlv.tag == 0x0C:  # UTF8String
        return raw.decode("utf-8", "replace")
    return raw.decode("latin-1")  # Printable/IA5/T61/Visible: ASCII in practice


def _name(data: bytes, tlv: _TLV) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for rdn in _children(data, tlv):
        for atv in _children(data, rdn):
            parts = _children(data, atv)
            if len(parts) >= 2 and parts[0].tag == 0x06:
                oid = _oid(data[parts[0].start:parts[0].end])
                out.append((_OIDS.get(oid, oid), _string(data, parts[1])))
    return tuple(out)


def _time(data: bytes, tlv: _TLV) -> _dt.datetime:
    text = data[tlv.start:tlv.end].decode("ascii", "replace").rstrip("Z")
    try:
        if tlv.tag == 0x17:  # UTCTime: YYMMDDHHMM[SS]
            year = int(text[:2])
            year += 1900 if year >= 50 else 2000
            rest = text[2:]
        elif tlv.tag == 0x18:  # GeneralizedTime: YYYYMMDDHHMMSS[.fff]
            year = int(text[:4])
            rest = text[4:].split(".")[0]
        else:
            raise CertificateError(f"DER: tag 0x{tlv.tag:02x} is not a time")
        month, day, hour, minute = (int(rest[i:i + 2]) for i in range(0, 8, 2))
        second = int(rest[8:10]) if len(rest) >= 10 else 0
        return _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)
    except ValueError:
        raise CertificateError(f"DER: unreadable time {text!r}") from None


@dataclass(frozen=True)
class CertificateInfo:
    """The X.509 fields of a certificate that identify it to a person."""

    thumbprint: str  # SHA-1 of the DER, upper-case hex: the registry key name
    sha256: str
    version: int
    serial: str  # upper-case hex, as Windows shows it
    subject: tuple[tuple[str, str], ...]
    issuer: tuple[tuple[str, str], ...]
    not_before: _dt.datetime
    not_after: _dt.datetime

    @property
    def subject_cn(self) -> str | None:
        return next((v for k, v in reversed(self.subject) if k == "CN"), None)

    @property
    def issuer_cn(self) -> str | None:
        return next((v for k, v in reversed(self.issuer) if k == "CN"), None)

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    @staticmethod
    def format_name(name: tuple[tuple[str, str], ...]) -> str:
        return ", ".join(f"{k}={v}" for k, v in reversed(name))

    def to_dict(self) -> dict[str, object]:
        return {"thumbprint": self.thumbprint, "sha256": self.sha256, "version": self.version,
                "serial": self.serial, "subject": self.format_name(self.subject),
                "issuer": self.format_name(self.issuer), "subject_cn": self.subject_cn,
                "issuer_cn": self.issuer_cn, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat(), "self_signed": self.self_signed}


def load_certificate(data: bytes | str) -> bytes:
    """DER bytes from DER or PEM input (``-----BEGIN CERTIFICATE-----``)."""
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    if b"-----BEGIN" in data:
        m = re.search(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", data,
                      re.DOTALL)
        if not m:
            raise CertificateError("PEM input holds no CERTIFICATE block")
        try:
            return base64.b64decode(b"".join(m.group(1).split()), validate=True)
        except binascii.Error:
            raise CertificateError("PEM CERTIFICATE block is not valid base64") from None
    return bytes(data)


def parse_certificate(data: bytes | str) -> CertificateInfo:
    """The identifying fields of a DER or PEM X.509 certificate."""
    der = load_certificate(data)
    top = _read_tlv(der, 0, len(der))
    if top.tag != 0x30 or top.end != len(der):
        raise CertificateError("not a DER certificate (no outer SEQUENCE covering the data)")
    parts = _children(der, top)
    if len(parts) != 3 or parts[0].tag != 0x30:
        raise CertificateError("not an X.509 certificate (expected tbsCertificate, "
                               "signatureAlgorithm, signature)")
    tbs = _children(der, parts[0])
    i = 0
    version = 1
    if tbs and tbs[0].tag == 0xA0:
        inner = _children(der, tbs[0])
        if inner and inner[0].tag == 0x02:
            version = int.from_bytes(der[inner[0].start:inner[0].end], "big") + 1
        i = 1
    if len(tbs) < i + 6 or tbs[i].tag != 0x02:
        raise CertificateError("tbsCertificate is incomplete")
    serial_raw = der[tbs[i].start:tbs[i].end]
    if len(serial_raw) > 1 and serial_raw[0] == 0:  # the sign pad of a positive INTEGER
        serial_raw = serial_raw[1:]
    issuer = _name(der, tbs[i + 2])
    validity = _children(der, tbs[i + 3])
    if len(validity) != 2:
        raise CertificateError("validity is not two times")
    subject = _name(der, tbs[i + 4])
    return CertificateInfo(hashlib.sha1(der).hexdigest().upper(),
                           hashlib.sha256(der).hexdigest().upper(), version,
                           serial_raw.hex().upper(),
                           subject, issuer, _time(der, validity[0]), _time(der, validity[1]))


# -- the registry Blob -------------------------------------------------------------------------


@dataclass(frozen=True)
class CertProperty:
    id: int
    data: bytes


def parse_blob(blob: bytes) -> tuple[CertProperty, ...]:
    """The properties of a ``Blob`` value (raises ``CertificateError`` if malformed)."""
    out: list[CertProperty] = []
    off = 0
    while off < len(blob):
        if off + _PROP.size > len(blob):
            raise CertificateError(f"Blob: {len(blob) - off} trailing bytes")
        pid, reserved, length = _PROP.unpack_from(blob, off)
        off += _PROP.size
        if off + length > len(blob):
            raise CertificateError(f"Blob: property 0x{pid:x} runs past the end")
        del reserved  # always 1 in the corpus; not checked, Windows does not either
        out.append(CertProperty(pid, blob[off:off + length]))
        off += length
    return tuple(out)


def build_blob(der: bytes, friendly_name: str | None = None) -> bytes:
    """A ``Blob`` for ``der``: SHA-1 (0x03), optional friendly name (0x0B, UTF-16 with its
    NUL), then the certificate (0x20) last, as in every corpus blob."""
    props = [(PROP_SHA1, hashlib.sha1(der).digest())]
    if friendly_name:
        props.append((PROP_FRIENDLY_NAME, (friendly_name + "\0").encode("utf-16-le")))
    props.append((PROP_CERTIFICATE, der))
    return b"".join(_PROP.pack(pid, 1, len(data)) + data for pid, data in props)


@dataclass(frozen=True)
class StoreCertificate:
    """A certificate in a system store: its key, properties and parsed fields (``info`` is
    ``None`` and ``problem`` says why when the blob or certificate cannot be read)."""

    store: str
    thumbprint: str
    key: str
    properties: tuple[CertProperty, ...]
    info: CertificateInfo | None
    problem: str | None = None

    @property
    def der(self) -> bytes | None:
        return next((p.data for p in self.properties if p.id == PROP_CERTIFICATE), None)

    @property
    def friendly_name(self) -> str | None:
        raw = next((p.data for p in self.properties if p.id == PROP_FRIENDLY_NAME), None)
        return None if raw is None else raw.decode("utf-16-le", "replace").rstrip("\0")

    def to_dict(self) -> dict[str, object]:
        return {"store": self.store, "thumbprint": self.thumbprint, "key": self.key,
                "properties": [f"0x{p.id:x}" for p in self.properties],
                "friendly_name": self.friendly_name, "problem": self.problem,
                "info": None if self.info is None else self.info.to_dict()}


def _check_store(store: str) -> str:
    if not _STORE_RE.match(store):
        raise UsageError(f"not a certificate store name: {store!r}")
    return store


def _read_entry(store: str, key: Key, path: str) -> StoreCertificate:
    value = get_value(key, "Blob")
    if value is None or value.type_number != RegType.BINARY:
        return StoreCertificate(store, key.name.upper(), path, (), None, "no REG_BINARY Blob")
    try:
        props = parse_blob(value.raw)
        der = next((p.data for p in props if p.id == PROP_CERTIFICATE), None)
        if der is None:
            return StoreCertificate(store, key.name.upper(), path, props, None,
                                    "the Blob has no certificate property (0x20)")
        info = parse_certificate(der)
    except CertificateError as e:
        return StoreCertificate(store, key.name.upper(), path, (), None, str(e))
    problem = None if info.thumbprint == key.name.upper() else (
        f"the key name is not the certificate's SHA-1 ({info.thumbprint})")
    return StoreCertificate(store, key.name.upper(), path, props, info, problem)


def list_certificates(software_hive: Hive, store: str = "TrustedPublisher"
                      ) -> list[StoreCertificate]:
    """The certificates of the machine store ``store`` (case-insensitive), stored order."""
    _check_store(store)
    skey = find_key(software_hive, join(STORES_PATH, store))
    certs = skey.get_subkey("Certificates") if skey is not None else None
    if skey is None or certs is None:
        return []
    base = join(STORES_PATH, skey.name, "Certificates")
    return [_read_entry(skey.name, k, join(base, k.name)) for k in certs.subkeys()]


def plan_add_certificate(software_hive: Hive, certificate: bytes | str,
                         store: str = "TrustedPublisher", *, friendly_name: str | None = None,
                         changes: ChangeSet | None = None) -> tuple[Change, ...]:
    """The changes ``add_certificate`` would make (nothing is written)."""
    _check_store(store)
    der = load_certificate(certificate)
    info = parse_certificate(der)
    plan = changes if changes is not None else ChangeSet(software_hive, "SOFTWARE")
    first = plan.mark()
    skey = find_key(software_hive, join(STORES_PATH, store))
    store_name = skey.name if skey is not None else store
    store_path = join(STORES_PATH, store_name)
    why = (f"trust {info.subject_cn or info.thumbprint} in the machine's {store_name} store "
           "(one step less at first boot)")
    for sub in ("Certificates", "CRLs", "CTLs"):
        plan.ensure_key(join(store_path, sub), why)
    path = join(store_path, "Certificates", info.thumbprint)
    existing = plan.value(path, "Blob")
    if existing is not None and int(existing.type) == RegType.BINARY:
        try:
            props = parse_blob(existing.raw)
        except CertificateError:
            props = ()
        if any(p.id == PROP_CERTIFICATE and p.data == der for p in props):
            return plan.since(first)  # already there (maybe with Windows' extra properties)
    plan.set_value(path, "Blob", RegValue(RegType.BINARY, build_blob(der, friendly_name)), why)
    return plan.since(first)


def add_certificate(software_hive: Hive, certificate: bytes | str,
                    store: str = "TrustedPublisher", *,
                    friendly_name: str | None = None) -> tuple[Change, ...]:
    """Add a DER or PEM certificate to the machine store ``store`` of a SOFTWARE hive (a
    certificate already there is left as it is); returns the changes made."""
    return apply_changes(software_hive, plan_add_certificate(
        software_hive, certificate, store, friendly_name=friendly_name))
