"""Helpers for the conversion tests: the fixture scripts (fake guests, fake virtio-win), a
snapshot of a guest tree, and the agent program used when the shipped one is not wanted."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


@cache
def script(name: str) -> ModuleType:
    """``fixtures/<name>.py``, imported (a script, not a package module)."""
    sys.path.insert(0, str(REPO / "fixtures"))
    try:
        path = REPO / "fixtures" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(REPO / "fixtures"))


def make_guest(out: Path, family: str, casing=None) -> Path:  # type: ignore[no-untyped-def]
    return script("make_guests").build_guest(out, family, casing)


def make_virtio(out: Path, **kw: object) -> Path:
    script("make_virtio_win").build_tree(out, **kw)
    return out


def snapshot(root: Path) -> dict[str, tuple[str, int, int] | None]:
    """Every folder (None) and file (SHA-256, inode, mode) under ``root``, by relative path."""
    out: dict[str, tuple[str, int, int] | None] = {}
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(folder, d), root) + "/"] = None
        for f in files:
            p = os.path.join(folder, f)
            st = os.stat(p)
            out[os.path.relpath(p, root)] = (hashlib.sha256(Path(p).read_bytes()).hexdigest(),
                                             st.st_ino, st.st_mode)
    return out


def differences(a: dict[str, object], b: dict[str, object]) -> list[str]:
    return [f"{k}: {a.get(k, 'absent')} -> {b.get(k, 'absent')}"
            for k in sorted(set(a) | set(b)) if a.get(k, "absent") != b.get(k, "absent")]
