"""Who signed a driver package: the certificates of its catalog (``.cat``), so the conversion can
put the publisher in the guest's Trusted Publishers store and the driver installs at the first
boot without a prompt.

A catalog is a DER-encoded PKCS #7 ``SignedData`` (RFC 2315 / RFC 5652): ``ContentInfo`` {
``signedData`` OID, [0] ``SignedData`` { version, digest algorithms, content (the catalog's
list of file hashes), [0] certificates, [1] CRLs, signer infos } }. A signer info names its
certificate by issuer and serial number; that certificate is the publisher. Signatures are not
verified here -- Windows does that at install time; this only reads who claims to have signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..windows.certs import (
    CertificateError,
    CertificateInfo,
    DerElement,
    der_children,
    parse_certificate,
    read_der,
)
from .volume import ConversionError

__all__ = ["CatalogError", "CatalogSigner", "catalog_signers"]

_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2
_MAX_CATALOG = 64 << 20
_SEQUENCE, _SET, _OID, _INTEGER = 0x30, 0x31, 0x06, 0x02
_CONTEXT_0, _CONTEXT_1 = 0xA0, 0xA1


class CatalogError(ConversionError):
    """The bytes are not a PKCS #7 signed catalog this reader understands."""


@dataclass(frozen=True)
class CatalogSigner:
    """A certificate that signed the catalog (DER) and its identifying fields."""

    der: bytes
    info: CertificateInfo

    @property
    def microsoft(self) -> bool:
        """Signed by Microsoft (a WHQL release): trusted by every Windows already."""
        cn = self.info.subject_cn or ""
        return cn.startswith("Microsoft ") and "Microsoft" in (self.info.issuer_cn or "")


def _cert_ids(der: bytes, cert: DerElement) -> tuple[bytes, bytes]:
    """(issuer Name DER, serial INTEGER content) of a certificate element."""
    tbs = der_children(der, der_children(der, cert)[0])
    i = 1 if tbs and tbs[0].tag == _CONTEXT_0 else 0
    serial, issuer = tbs[i], tbs[i + 2]
    return der[issuer.header:issuer.end], der[serial.start:serial.end]


def catalog_signers(data: bytes, name: str = "catalog") -> tuple[CatalogSigner, ...]:
    """The certificates that signed a catalog, in signer-info order (see the module
    docstring). When a signer names a certificate the catalog does not hold, the catalog's
    leaf certificate (one that issued none of the others) stands for it."""
    if len(data) > _MAX_CATALOG:
        raise CatalogError(f"{name}: {len(data):,} bytes is too large for a catalog")
    try:
        top = read_der(data, 0, len(data))
        if top.tag != _SEQUENCE:
            raise CatalogError(f"{name}: not DER (no outer SEQUENCE)")
        info = der_children(data, top)
        if len(info) < 2 or info[0].tag != _OID or data[info[0].start:info[0].end] != \
                _SIGNED_DATA or info[1].tag != _CONTEXT_0:
            raise CatalogError(f"{name}: not a PKCS #7 SignedData")
        signed = der_children(data, info[1])
        if not signed or signed[0].tag != _SEQUENCE:
            raise CatalogError(f"{name}: SignedData is not a SEQUENCE")
        parts = der_children(data, signed[0])
        certs: list[DerElement] = []
        signer_infos: list[DerElement] = []
        for part in parts[3:]:
            if part.tag == _CONTEXT_0:
                certs = [c for c in der_children(data, part) if c.tag == _SEQUENCE]
            elif part.tag == _SET:
                signer_infos = der_children(data, part)
        if not certs:
            raise CatalogError(f"{name}: the catalog holds no certificate")
        ids = {_cert_ids(data, c): c for c in certs}
        chosen: list[DerElement] = []
        for signer in signer_infos:
            fields = der_children(data, signer)
            if len(fields) < 2 or fields[1].tag != _SEQUENCE:
                continue  # subjectKeyIdentifier form: matched by the leaf below
            sid = der_children(data, fields[1])
            if len(sid) != 2 or sid[1].tag != _INTEGER:
                continue
            key = (data[sid[0].header:sid[0].end], data[sid[1].start:sid[1].end])
            cert = ids.get(key)
            if cert is not None and cert not in chosen:
                chosen.append(cert)
        if not chosen:
            issuers = {_cert_ids(data, c)[0] for c in certs}
            subjects = {c: _subject(data, c) for c in certs}
            leaves = [c for c in certs if subjects[c] not in issuers]
            chosen = leaves[:1] or certs[:1]
        out = []
        for cert in chosen:
            der = data[cert.header:cert.end]
            out.append(CatalogSigner(der, parse_certificate(der)))
        return tuple(out)
    except CertificateError as e:
        raise CatalogError(f"{name}: {e}") from None
    except IndexError:
        raise CatalogError(f"{name}: a PKCS #7 structure is incomplete") from None


def _subject(der: bytes, cert: DerElement) -> bytes:
    tbs = der_children(der, der_children(der, cert)[0])
    i = 1 if tbs and tbs[0].tag == _CONTEXT_0 else 0
    subject = tbs[i + 4]
    return der[subject.header:subject.end]
