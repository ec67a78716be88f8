"""Shell completion scripts, ``--help`` with an example on every command, and the progress
line (only on a terminal)."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_tools.util import TYPES_HIVE, run
from winmigrate.cli import build_parser
from winmigrate.cli.completion import collect
from winmigrate.cli.progress import Progress

BASH = shutil.which("bash")
ZSH = shutil.which("zsh")
FISH = shutil.which("fish")


def _all_commands() -> list[str]:
    return [c.path for c in collect(build_parser()) if c.path]


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = run("completion", "bash")
    assert r.returncode == 0
    path = tmp_path_factory.mktemp("completion") / "winmigrate.bash"
    path.write_text(r.stdout)
    return path


def _complete_bash(script: Path, words: list[str]) -> list[str]:
    assert BASH is not None
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
               '_winmigrate; printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run([str(BASH), "--norc", "-c", program], capture_output=True, text=True,
                       timeout=30, cwd=script.parent)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if line]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_completion(bash_script: Path) -> None:
    subprocess.run([str(BASH), "-n", str(bash_script)], check=True)
    assert set(_complete_bash(bash_script, ["winmigrate", ""])) >= {
        "info", "ls", "get", "set", "rm", "import", "export", "check", "diff", "find",
        "timeline", "recover", "net", "completion"}
    assert _complete_bash(bash_script, ["winmigrate", "ex"]) == ["export"]
    assert _complete_bash(bash_script, ["winmigrate", "diff", "a", "b", "--form"]) == ["--format"]
    assert _complete_bash(bash_script, ["winmigrate", "diff", "a", "b", "--format", ""]) == [
        "text", "reg", "json"]
    assert _complete_bash(bash_script, ["winmigrate", "import", "h", "--logs", "r"]) == [
        "require"]
    assert _complete_bash(bash_script, ["winmigrate", "net", ""]) == ["show", "script"]
    assert "--control-set" in _complete_bash(bash_script, ["winmigrate", "net", "show", "--"])
    # file names after the command
    assert _complete_bash(bash_script, ["winmigrate", "check", "winmig"]) == ["winmigrate.bash"]


def test_completion_covers_every_command_and_option() -> None:
    bash = run("completion", "bash").stdout
    zsh = run("completion", "zsh").stdout
    fish = run("completion", "fish").stdout
    for command in collect(build_parser()):
        if command.path:
            assert f"'{command.path}')" in bash and f"'{command.path}')" in zsh
            assert f"-n '__winmigrate_is \"{command.path}\"'" in fish
        for option in command.options:
            for name in option.names:
                assert name in bash and name in zsh
                flag = f"-l '{name[2:]}'" if name.startswith("--") else f"-s '{name[1:]}'"
                assert flag in fish, name


def _fish_words(line: str) -> list[str]:
    """A fish command line's words (fish's single quotes: only \\ and \' are escapes)."""
    words: list[str] = []
    i = 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        word = ""
        while i < len(line) and line[i] != " ":
            if line[i] == "'":
                i += 1
                while line[i] != "'":
                    if line[i] == "\\" and line[i + 1] in "\\'":
                        i += 1
                    word += line[i]
                    i += 1
            else:
                word += line[i]
            i += 1
        words.append(word)
    return words


def test_fish_completion_by_content() -> None:
    """fish is not installed where the tests run: its script is checked by content (every rule
    well formed and guarded by a command path the walk knows), and by fish itself when present."""
    script = run("completion", "fish").stdout
    lines = script.splitlines()
    assert lines[0].startswith("# fish completion for winmigrate")
    opened = sum(1 for line in lines if line.startswith("function "))
    assert opened == 2 and sum(1 for line in lines if line == "end") == opened
    paths = {c.path for c in collect(build_parser())}
    rules = [_fish_words(line) for line in lines if line.startswith("complete ")]
    assert rules[0] == ["complete", "-c", "winmigrate", "-e"]
    for words in rules[1:]:
        assert words[:4] == ["complete", "-c", "winmigrate", "-n"], words
        assert words[4].startswith("__winmigrate_is \"") and words[4].endswith('"'), words
        assert words[4][len('__winmigrate_is "'):-1] in paths, words
        rest = iter(words[5:])
        for flag in rest:  # each flag is known, and those that take a value have one
            assert flag in ("-f", "-x", "-r", "-F", "-a", "-d", "-l", "-s"), words
            if flag in ("-a", "-d", "-l", "-s"):
                assert next(rest, "")
    by = {(w[4], w[w.index("-l") + 1]): w for w in rules[1:] if "-l" in w}
    fmt = by[('__winmigrate_is "diff"', "format")]
    assert fmt[fmt.index("-a") + 1] == "text reg json" and "-x" in fmt
    assert "-F" in by[('__winmigrate_is "export"', "output")]
    top = [w[w.index("-a") + 1] for w in rules[1:] if w[4] == '__winmigrate_is ""' and "-a" in w]
    assert {"info", "export", "net", "completion"} <= set(top)
    nested = [w[w.index("-a") + 1] for w in rules[1:] if w[4] == '__winmigrate_is "net"'
              and "-a" in w]
    assert nested == ["show", "script"]
    assert any(w[4:] == ['__winmigrate_is ""', "-f"] for w in rules[1:])  # no file names
    if FISH is not None:
        subprocess.run([FISH, "--no-execute", "-c", script], check=True, timeout=30)


@pytest.mark.skipif(ZSH is None, reason="zsh is not installed")
def test_zsh_completion(tmp_path: Path) -> None:
    assert ZSH is not None
    script = tmp_path / "_winmigrate"
    script.write_text(run("completion", "zsh").stdout)
    subprocess.run([ZSH, "-n", str(script)], check=True)
    # Drive the function with stand-ins for zsh's completion builtins.
    program = f"""
        compdef() {{ }}
        _describe() {{ print -l -- "${{(@P)4}}" }}
        compadd() {{ shift; print -l -- "$@" }}
        _files() {{ print FILES }}
        source '{script}'
        words=(winmigrate diff a b --format ''); CURRENT=6; _winmigrate
        print -r -- SEP
        words=(winmigrate ex); CURRENT=2; _winmigrate
        print -r -- SEP
        words=(winmigrate check x); CURRENT=3; _winmigrate
    """
    r = subprocess.run([ZSH, "-f", "-c", program], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    first, second, third = r.stdout.split("SEP\n")
    assert first.split() == ["text", "reg", "json"]
    assert any(line.startswith("export:write a hive") for line in second.splitlines())
    assert third.strip() == "FILES"


@pytest.mark.parametrize("command", _all_commands())
def test_every_command_has_help_with_an_example(command: str) -> None:
    parser = build_parser()
    words = command.split()
    with pytest.raises(SystemExit) as info:
        buf = io.StringIO()
        import contextlib

        with contextlib.redirect_stdout(buf):
            parser.parse_args([*words, "--help"])
    assert info.value.code == 0
    text = buf.getvalue()
    assert "example" in text.lower() or command in ("net", "services", "cdd", "xen", "migrate"), \
        text


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("winmigrate ")


def test_progress_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with Progress("exporting", "keys", delay=0.0, stream=tty) as p:
        p(10)
        time.sleep(0.11)
        p(2000)
    assert "exporting: 2,000 keys" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")
    quiet = Tty()
    with Progress("exporting", stream=quiet) as p:  # under a second: nothing shown
        p(10)
    assert quiet.getvalue() == ""
    pipe = io.StringIO()
    with Progress("exporting", delay=0.0, stream=pipe) as p:
        time.sleep(0.11)
        p(10)
    assert pipe.getvalue() == ""
    with Progress("x", total=10, delay=0.0, stream=(t := Tty())) as p:
        p(5)
    assert "5/10 keys (50%)" in t.getvalue()


def test_no_progress_when_piped(tmp_path: Path) -> None:
    r = run("export", TYPES_HIVE, "-o", tmp_path / "x.reg")
    assert "\r" not in r.stderr and "\x1b" not in r.stderr
