"""winmigrate.windows.certs: the Blob layout of the system stores, the DER reader, adding a
certificate to TrustedPublisher. The layout is checked on the corpus's Software tree
(TrustedPublisher, Root and CA stores) and NTUSER hives; the X.509 fields against openssl."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

import winmigrate
from tests.migration.tools import assert_diff_is_plan, dump, fixture_hive
from winmigrate.errors import UsageError
from winmigrate.windows import certs
from winmigrate.windows.certs import CertificateError

# A self-signed test certificate made for these tests with
#   openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -set_serial 0x00c0ffee1234 \
#       -subj "/C=US/O=winmigrate tests/CN=winmigrate test driver publisher"
TEST_CERT_PEM = """-----BEGIN CERTIFICATE-----
MIIDeTCCAmGgAwIBAgIGAMD/7hI0MA0GCSqGSIb3DQEBCwUAMFMxCzAJBgNVBAYT
AlVTMRkwFwYDVQQKDBB3aW5taWdyYXRlIHRlc3RzMSkwJwYDVQQDDCB3aW5taWdy
YXRlIHRlc3QgZHJpdmVyIHB1Ymxpc2hlcjAeFw0yNjExMjcxMTQ4MDlaFw0zNjEx
MjQxMTQ4MDlaMFMxCzAJBgNVBAYTAlVTMRkwFwYDVQQKDBB3aW5taWdyYXRlIHRl
c3RzMSkwJwYDVQQDDCB3aW5taWdyYXRlIHRlc3QgZHJpdmVyIHB1Ymxpc2hlcjCC
ASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAL8/DSe20dCopMc9Q+eu1XXR
aEkA8KcUBl0h2SruX5Fi2QGX4OYcDY3Sw36RvJ0WCLdxThg1Rgda7r5AbS672ipu
Pvc/1JCO4P+OUTmdB0IPma5/A1/7XkTPFr4CvnVMQKcYA4ZGobSDJvDm7Y2MNWCZ
PZ3Jor4k91IohiL5fsXDRQ3xgP926+SpiYRzUfy+NT6qbOaZiGhOh5Sy/yYcDy6M
cysgNy150cFJRlSL2aeETzxKooi1qHsiWMXOMB5uLhl5CfjYi9FIJKlOB9KhPq4t
TGpgvlv9yBw8joLDmDfoRy0laFBA75h1FXBNF51FvOpBm3ryUVJ1SGdxgIysGzkC
AwEAAaNTMFEwHQYDVR0OBBYEFEJ3L7Hy1Pb4kDb5JCOOOdatqeAEMB8GA1UdIwQY
MBaAFEJ3L7Hy1Pb4kDb5JCOOOdatqeAEMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZI
hvcNAQELBQADggEBABmlFvKzb5l9zFZhnj/fLY3HNkbgCLLap7O/jdFLCM2fpXOL
WNUaROx/9HNCy1/RxqB9bdgUhF6U0vYwZTc9BRHvXTtIal2SzE4qTHg4G/Qm5EH0
QsLGed5Na00TzFKN1w1Hk6gTfeatKD/lmqR3VtYAi8Ueu3QxJkj7FpZaQ4y+RTlI
SnH75EZGK6sa8GSHEbJLImVeWuEUazVybMoSmDnC0Ubgd+vvZQO701kXroSHs/+G
rwWi8I/EmvQUsG0i9YGXWauxUgJVcgm8un6cV4KiAiaOE61RtMzkdrLXSbem5ABW
6qR/XmHJ4j2/vA/sW1DmlaMHizT9JgFoeqfm3hA=
-----END CERTIFICATE-----
"""
TEST_CERT_SHA1 = "DBEE3E3649F7485DFDAD9C93DF9DD089C4A84A10"
SOFTWARE_PARTIAL = "mkorman90_regipy/regipy_tests/data/ntuser_software_partial"
USER_HIVES = ["log2timeline_dfwinreg/_history/1785983fe5/test_data/NTUSER.DAT",
              "forensicmatt_r-winreg/.testdata/NTUSER.DAT",
              "log2timeline_plaso/test_data/NTUSER-WIN7.DAT"]


def test_parse_test_certificate() -> None:
    info = certs.parse_certificate(TEST_CERT_PEM)
    assert info.thumbprint == TEST_CERT_SHA1
    assert info.subject_cn == info.issuer_cn == "winmigrate test driver publisher"
    assert info.format_name(info.subject) == (
        "CN=winmigrate test driver publisher, O=winmigrate tests, C=US")
    assert info.serial == "C0FFEE1234"
    assert info.version == 3 and info.self_signed
    assert info.not_after > info.not_before
    assert info.not_before.tzinfo is timezone.utc
    der = certs.load_certificate(TEST_CERT_PEM)
    assert certs.parse_certificate(der) == info


def test_blob_round_trip() -> None:
    der = certs.load_certificate(TEST_CERT_PEM)
    blob = certs.build_blob(der, friendly_name="Test")
    props = certs.parse_blob(blob)
    assert [p.id for p in props] == [0x03, 0x0B, 0x20]  # the certificate last, as Windows
    assert props[0].data == hashlib.sha1(der).digest()
    assert props[2].data == der
    assert blob[4:8] == b"\x01\x00\x00\x00"
    assert certs.parse_blob(certs.build_blob(der)) == (props[0], props[2])


@pytest.mark.parametrize("bad", [b"", b"\x30\x03\x02\x01", b"\x30\x80\x00\x00",
                                 b"\x31\x00", b"\x30\x02\x05\x00"])
def test_malformed_certificates(bad: bytes) -> None:
    with pytest.raises(CertificateError):
        certs.parse_certificate(bad)
    with pytest.raises(UsageError):  # a CertificateError is a usage error: bad input given
        certs.parse_certificate(bad)


def test_malformed_blob() -> None:
    with pytest.raises(CertificateError):
        certs.parse_blob(b"\x20\x00\x00\x00\x01\x00\x00\x00\xff\x00\x00\x00abc")
    with pytest.raises(CertificateError):
        certs.parse_blob(b"\x20\x00")


def _openssl_fields(der: bytes) -> dict[str, str]:
    proc = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial",
                           "-startdate", "-enddate", "-subject", "-nameopt", "RFC2253"],
                          input=der, capture_output=True, check=True)
    out = {}
    for line in proc.stdout.decode().splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def _openssl_time(text: str) -> datetime:
    return datetime.strptime(text.replace("  ", " "), "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=timezone.utc)


@pytest.mark.corpus
def test_corpus_store_layout_and_fields(corpus: Path) -> None:
    """Every certificate of the corpus's Software tree: key = SHA-1 of property 0x20, property
    0x03 = that hash, reserved field 1, 0x20 last; X.509 fields equal openssl's."""
    path = corpus / SOFTWARE_PARTIAL
    if not path.is_file():
        pytest.skip("ntuser_software_partial is not in the corpus")
    have_openssl = shutil.which("openssl") is not None
    seen = {}
    with winmigrate.open(path) as hive:
        for store in ("TrustedPublisher", "Root", "CA"):
            listed = certs.list_certificates(hive, store)
            assert listed, store
            for cert in listed:
                assert cert.problem is None, cert
                assert cert.info is not None and cert.der is not None
                assert cert.properties[-1].id == certs.PROP_CERTIFICATE
                sha1 = next(p.data for p in cert.properties if p.id == certs.PROP_SHA1)
                assert sha1.hex().upper() == cert.thumbprint == cert.info.thumbprint
                raw = hive.key(cert.key).value("Blob").raw
                offs, i = [], 0
                while i < len(raw):
                    offs.append(raw[i + 4:i + 8])
                    i += 12 + int.from_bytes(raw[i + 8:i + 12], "little")
                assert set(offs) == {b"\x01\x00\x00\x00"}
                seen[cert.thumbprint] = cert
                if have_openssl:
                    o = _openssl_fields(cert.der)
                    assert o["serial"].upper() == cert.info.serial
                    assert _openssl_time(o["notBefore"]) == cert.info.not_before
                    assert _openssl_time(o["notAfter"]) == cert.info.not_after
                    assert f"CN={cert.info.subject_cn}" in o["subject"]
    assert "28CA236A328D9C5240AB1712A1392DAA8B4DD7A0" in seen  # in TrustedPublisher and Root


@pytest.mark.corpus
@pytest.mark.parametrize("rel", USER_HIVES)
def test_user_stores_use_the_same_blob(corpus: Path, rel: str) -> None:
    path = corpus / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in the corpus")
    with winmigrate.open(path) as hive:
        sc = hive.key(r"Software\Microsoft\SystemCertificates")
        n = 0
        for store in sc.subkeys():
            certs_key = store.get_subkey("Certificates")
            for entry in certs_key.subkeys() if certs_key is not None else ():
                props = certs.parse_blob(entry.value("Blob").raw)
                der = props[-1].data
                assert props[-1].id == 0x20
                assert hashlib.sha1(der).hexdigest().upper() == entry.name.upper()
                certs.parse_certificate(der)
                n += 1
        assert n


def test_add_certificate_to_trusted_publisher() -> None:
    hive = fixture_hive("xen_software_small.hiv")
    before = dump(hive)
    changes = certs.add_certificate(hive, TEST_CERT_PEM, friendly_name="Red Hat (test)")
    assert_diff_is_plan(before, dump(hive), changes, "SOFTWARE")
    (cert,) = certs.list_certificates(hive, "trustedpublisher")
    assert cert.thumbprint == TEST_CERT_SHA1 and cert.problem is None
    assert cert.friendly_name == "Red Hat (test)"
    assert cert.key == (r"Microsoft\SystemCertificates\TrustedPublisher\Certificates"
                        rf"\{TEST_CERT_SHA1}")
    assert certs.add_certificate(hive, TEST_CERT_PEM) == ()  # already there
    assert certs.plan_add_certificate(hive, certs.load_certificate(TEST_CERT_PEM)) == ()


def test_add_certificate_creates_the_store() -> None:
    hive = fixture_hive("xen_software_small.hiv")
    changes = certs.add_certificate(hive, TEST_CERT_PEM, "ROOT")
    created = [c.key for c in changes if c.value is None]
    assert created == [r"Microsoft\SystemCertificates\ROOT",
                       r"Microsoft\SystemCertificates\ROOT\Certificates",
                       r"Microsoft\SystemCertificates\ROOT\CRLs",
                       r"Microsoft\SystemCertificates\ROOT\CTLs",
                       rf"Microsoft\SystemCertificates\ROOT\Certificates\{TEST_CERT_SHA1}"]
    assert [c.thumbprint for c in certs.list_certificates(hive, "Root")] == [TEST_CERT_SHA1]


def test_existing_entry_with_windows_properties_is_kept() -> None:
    hive = fixture_hive("xen_software_small.hiv")
    der = certs.load_certificate(TEST_CERT_PEM)
    extra = b"\x04\x00\x00\x00\x01\x00\x00\x00\x10\x00\x00\x00" + hashlib.md5(der).digest()
    key = hive.key(r"Microsoft\SystemCertificates\TrustedPublisher\Certificates").create_key(
        TEST_CERT_SHA1)
    key.set_value("Blob", extra + certs.build_blob(der))
    assert certs.plan_add_certificate(hive, der) == ()


def test_bad_store_name() -> None:
    hive = fixture_hive("xen_software_small.hiv")
    with pytest.raises(UsageError):
        certs.plan_add_certificate(hive, TEST_CERT_PEM, "Trusted\\Publisher")
