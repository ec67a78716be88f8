"""Fixtures of the conversion tests: one fake virtio-win tree (and ISO) per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.convert.tools import make_virtio, script


@pytest.fixture(scope="session")
def virtio_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_virtio(tmp_path_factory.mktemp("virtio") / "virtio-win")


@pytest.fixture(scope="session")
def virtio_iso(tmp_path_factory: pytest.TempPathFactory, virtio_tree: Path) -> Path:
    pytest.importorskip("pycdlib", reason="reading an ISO needs pycdlib (the 'iso' extra)")
    iso = tmp_path_factory.mktemp("iso") / "virtio-win-0.1.266.iso"
    script("make_virtio_win").build_iso(virtio_tree, iso)
    return iso


@pytest.fixture(scope="session")
def agent_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in agent executable (the conversion only copies it)."""
    path = tmp_path_factory.mktemp("agent") / "kvmconv.exe"
    path.write_bytes(b"MZ winmigrate test data: a stand-in for the agent\r\n")
    return path
