"""The module itself: optional dependency, public names, and the examples in its docstrings."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
import warnings

import pytest
from hypothesis.errors import NonInteractiveExampleWarning

import winmigrate.testing as ws

_HIDE_HYPOTHESIS = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ImportError("No module named 'hypothesis' (hidden by the test)")
sys.meta_path.insert(0, Block())
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _HIDE_HYPOTHESIS + code], capture_output=True,
                          text=True, timeout=120, check=False)


def test_without_hypothesis_the_import_error_says_what_to_install() -> None:
    proc = _run("import winmigrate.testing")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: winmigrate.testing needs Hypothesis")
    assert "pip install hypothesis" in last and "winmigrate[test]" in last


def test_winmigrate_works_without_hypothesis_and_never_imports_it() -> None:
    proc = _run("import winmigrate, winmigrate.windows.network\n"
                "h = winmigrate.create(); h.root.create_key('a')\n"
                "assert 'winmigrate.testing' not in sys.modules\n"
                "print(winmigrate.Hive.from_bytes(h.to_bytes()).root.subkey('a').name)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "a"


def test_public_names() -> None:
    for name in ws.__all__:
        obj = getattr(ws, name)
        assert name.isupper() or obj.__doc__, name
    assert "testing" not in __import__("winmigrate").__all__


def test_docstring_examples_run() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        results = [doctest.testmod(importlib.import_module(f"winmigrate.testing.{name}"),
                                   optionflags=doctest.ELLIPSIS)
                   for name in ("names", "values", "trees", "hives", "system")]
    assert sum(r.attempted for r in results) >= 15
    assert sum(r.failed for r in results) == 0


@pytest.mark.parametrize("name", ["key_names", "value_names", "values", "key_trees",
                                  "hive_recipes", "hives", "system_hives"])
def test_every_strategy_documents_an_example(name: str) -> None:
    assert ">>>" in (getattr(ws, name).__doc__ or "")
