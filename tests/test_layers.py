"""The package keeps its layers: every import points down, and no two modules import each other
(the contracts in pyproject.toml, checked by import-linter; docs/architecture.md draws them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.skip("import-linter is not installed (pip install -e '.[test]')")
        exe = Path(found)
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(exe), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                          cwd=src, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_layers_hold() -> None:
    proc = _lint_imports(REPO / "src")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    # an upward import between layers: the hive model reaching for a Windows operation
    ("hive/key.py", "from ..windows import services", "Layers: bytes"),
    # upward inside the hive: the model reaching for the public class, for a type only
    ("hive/state.py", "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from .hivefile import Hive",
     "The hive model"),
    # a cycle between siblings that no layer contract names
    ("cli/common.py", "from . import net", "No import cycle"),
])
def test_a_broken_layer_is_caught(tmp_path: Path, module: str, line: str, contract: str) -> None:
    """The check above can fail: one wrong import, planted in a copy of the package, breaks
    the contract it should."""
    copy = tmp_path / "winmigrate"
    shutil.copytree(REPO / "src" / "winmigrate", copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.exe"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")
    proc = _lint_imports(tmp_path)
    assert proc.returncode != 0
    broken = [row for row in proc.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(row.startswith(contract) for row in broken), proc.stdout
