"""Who signed a catalog: the signer found by issuer and serial, checked on catalogs made by
OpenSSL (an independent PKCS #7 writer) and on the fake virtio-win ones."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.convert.tools import script
from winmigrate.convert.catalog import CatalogError, catalog_signers
from winmigrate.windows.certs import parse_certificate


def test_fake_catalog() -> None:
    mk = script("make_virtio_win")
    cat = mk.package("viostor", "w10", "amd64")["viostor.cat"]
    (signer,) = catalog_signers(cat)
    assert signer.der == mk.PUBLISHER_CERT
    assert signer.info.subject_cn == "Red Hat, Inc. (winmigrate test data)"
    assert not signer.microsoft


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("tool", ["cms", "smime"])
def test_openssl_catalog(tmp_path: Path, tool: str) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=Test Root", "-days", "30")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/O=Red Hat, Inc./CN=Red Hat, Inc.")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "30")
    (tmp_path / "content").write_bytes(b"catalog content")
    run(tool, "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", "content", "-signer",
        "leaf.pem", "-inkey", "leaf.key", "-certfile", "ca.pem", "-out", "x.cat")
    (signer,) = catalog_signers((tmp_path / "x.cat").read_bytes())
    leaf = parse_certificate((tmp_path / "leaf.pem").read_text())
    assert signer.info.thumbprint == leaf.thumbprint
    assert signer.info.subject_cn == "Red Hat, Inc."


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x00", b"\x30\x80" + b"\x00" * 10,
                                  bytes(range(256))])
def test_not_a_catalog(data: bytes) -> None:
    with pytest.raises(CatalogError):
        catalog_signers(data)


def test_truncated_catalogs_fail_cleanly() -> None:
    cat = script("make_virtio_win").package("NetKVM", "w10", "amd64")["netkvm.cat"]
    for cut in range(0, len(cat), 37):
        with pytest.raises(CatalogError):
            catalog_signers(cat[:cut])
