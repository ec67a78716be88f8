"""The documentation builds with warnings as errors (``mkdocs build --strict``).

A broken cross-reference, a page missing from the nav, a bad link between pages or a docstring
mkdocstrings cannot render fails the test run, so CI checks the docs with the code. Skipped when
MkDocs is not installed (it comes with the ``test`` and ``docs`` extras).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None
                    or importlib.util.find_spec("mkdocstrings_handlers") is None,
                    reason="mkdocs and mkdocstrings[python] are not installed")
def test_docs_build_strict(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(REPO / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    report = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, report
    assert "WARNING" not in report, report
    for page in ("index.html", "getting-started/index.html", "testing/index.html",
                 "format/index.html", "reference/strategies/index.html",
                 "reference/hive/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
    strategies = (tmp_path / "site" / "reference" / "strategies" / "index.html").read_text()
    assert "system_hives" in strategies and "key_names" in strategies


def test_readme_main_command(tmp_path: Path) -> None:
    """The README's set-up command, after its install step, runs on a fresh clone's contents:
    it generates a fake guest and driver tree and converts the guest."""
    text = (REPO / "README.md").read_text()
    commands = [line.strip() for line in text.splitlines()
                if line.startswith("    python3 -m venv .venv")]
    assert len(commands) == 2, "the README has two set-up commands"
    main, tests = commands
    assert tests.endswith(".venv/bin/python -m pytest")
    steps = [s.strip() for s in main.split("&&")]
    assert steps[:2] == ["python3 -m venv .venv", ".venv/bin/pip install ."]
    for step in steps[2:]:
        argv = step.split()
        if argv[0] == ".venv/bin/python":
            argv = [sys.executable, str(REPO / argv[1]), *argv[2:]]
        else:
            assert argv[0] == ".venv/bin/winmigrate"
            argv = [sys.executable, "-m", "winmigrate", *argv[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              check=False)
        assert proc.returncode == 0, (step, proc.stdout, proc.stderr)
    assert "converted" in proc.stdout
