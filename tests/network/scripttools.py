"""Checks on generated scripts, independent of the generator's own quoting code.

PowerShell: a small tokenizer that knows what matters for quoting -- single-quoted literals
(``''`` is a quote inside), comments, and everything else as code -- and an evaluator for the
string expressions ``ps_quote`` produces (``'...'`` or ``('' + '...' + [char]0xNNNN ...)``).
It refuses double-quoted strings, here-strings and block comments outright: the generated
scripts use none, so any of them would be a sign of injected text.

cmd: line checks -- a ``rem`` line may only hold inert characters, an ``echo(`` line must have
every cmd special escaped with ``^`` and no ``%``/``!`` beyond the log prefix, and any other
line must have balanced double quotes whose contents carry no ``% ! ^ & | < >``.
"""

from __future__ import annotations

import re

# Characters PowerShell treats as single or double quotes, dashes excluded (they do not quote).
PS_SINGLE = "'\u2018\u2019\u201a\u201b"
PS_DOUBLE = '"\u201c\u201d\u201e'


def ps_tokens(line: str) -> list[tuple[str, str]]:
    """``[(kind, text)]`` with kind ``str`` (the decoded literal), ``code`` or ``comment``.
    Raises ``ValueError`` on an unterminated literal or any double-quoted string."""
    out: list[tuple[str, str]] = []
    code: list[str] = []
    i = 0

    def flush() -> None:
        if code:
            out.append(("code", "".join(code)))
            code.clear()

    while i < len(line):
        ch = line[i]
        if ch in PS_SINGLE:
            flush()
            j = i + 1
            buf: list[str] = []
            while True:
                if j >= len(line):
                    raise ValueError(f"unterminated single-quoted string: {line!r}")
                if line[j] in PS_SINGLE:
                    if j + 1 < len(line) and line[j + 1] in PS_SINGLE:
                        buf.append(line[j + 1])
                        j += 2
                        continue
                    break
                buf.append(line[j])
                j += 1
            out.append(("str", "".join(buf)))
            i = j + 1
        elif ch in PS_DOUBLE:
            raise ValueError(f"double-quoted string in generated PowerShell: {line!r}")
        elif ch == "@" and i + 1 < len(line) and line[i + 1] in PS_SINGLE + PS_DOUBLE:
            raise ValueError(f"here-string in generated PowerShell: {line!r}")
        elif ch == "<" and i + 1 < len(line) and line[i + 1] == "#":
            raise ValueError(f"block comment in generated PowerShell: {line!r}")
        elif ch == "#":
            flush()
            out.append(("comment", line[i:]))
            break
        else:
            code.append(ch)
            i += 1
    flush()
    return out


_CHAR = re.compile(r"^\[char\]0x([0-9A-Fa-f]{4})$")


def ps_eval(expr: str) -> str:
    """The value of a string expression as ``ps_quote`` writes it (and nothing else):
    ``'...'`` or ``('' + '...' + [char]0xNNNN + ...)``."""
    tokens = ps_tokens(expr.strip())
    if len(tokens) == 1 and tokens[0][0] == "str":
        return tokens[0][1]
    items: list[tuple[str, str]] = []
    for kind, text in tokens:
        if kind == "str":
            items.append(("str", text))
            continue
        if kind != "code":
            raise ValueError(f"comment in expression {expr!r}")
        for piece in re.findall(r"\S+", re.sub(r"([()+])", r" \1 ", text)):
            if piece in "()+" or _CHAR.match(piece):
                items.append(("code", piece))
            else:
                raise ValueError(f"unexpected code {piece!r} in {expr!r}")
    if len(items) < 3 or items[0] != ("code", "(") or items[-1] != ("code", ")") or \
            items[1] != ("str", ""):
        raise ValueError(f"not a ps_quote expression: {expr!r}")
    body = items[1:-1]
    operands = body[0::2]
    if any(op != ("code", "+") for op in body[1::2]) or len(body) % 2 == 0:
        raise ValueError(f"operands not joined by + in {expr!r}")
    units: list[int] = []
    for kind, text in operands:
        if kind == "str":
            raw = text.encode("utf-16-le", "surrogatepass")
            units.extend(int.from_bytes(raw[k:k + 2], "little") for k in range(0, len(raw), 2))
        else:
            m = _CHAR.match(text)
            if not m:
                raise ValueError(f"unexpected operand {text!r} in {expr!r}")
            units.append(int(m.group(1), 16))
    raw = b"".join(u.to_bytes(2, "little") for u in units)
    return raw.decode("utf-16-le", "surrogatepass")


def ps_check_script(text: str) -> None:
    """Every line tokenizes (no literal spans lines) and the script is ASCII."""
    assert text.isascii(), "the PowerShell script is not pure ASCII"
    for line in text.splitlines():
        ps_tokens(line)


def ps_marker_only_in_literals(text: str, marker: str) -> int:
    """How many lines hold ``marker``; fails if it ever appears in code."""
    count = 0
    for line in text.splitlines():
        if marker not in line:
            continue
        count += 1
        for kind, part in ps_tokens(line):
            assert not (kind == "code" and marker in part), f"{marker} in code: {line!r}"
    return count


# -- cmd -------------------------------------------------------------------------------------

CMD_SPECIAL = set('&|<>()"^')
LOG_PREFIX = '>>"%WM_LOG%" echo(%DATE% %TIME% '


def cmd_echo_text_ok(text: str) -> bool:
    """Unquoted echo text: every special escaped with ``^``, no ``%``/``!``, ASCII."""
    i = 0
    while i < len(text):
        ch = text[i]
        if not 0x20 <= ord(ch) <= 0x7E or ch in "%!":
            return False
        if ch == "^":
            if i + 1 >= len(text) or text[i + 1] not in CMD_SPECIAL:
                return False
            i += 2
            continue
        if ch in CMD_SPECIAL:
            return False
        i += 1
    return True


def cmd_quoted(line: str) -> list[str]:
    """The double-quoted segments of a command line; fails on unbalanced quotes."""
    assert line.count('"') % 2 == 0, f"unbalanced quotes: {line!r}"
    return line.split('"')[1::2]


def cmd_unquote(segment: str) -> str:
    """What a program receives for a double-quoted batch-file segment without variables: cmd's
    first phase turns ``%%`` into ``%``; inside quotes ``& | < > ^`` are literal, and ``!`` is
    too with delayed expansion disabled."""
    assert "%" not in segment.replace("%%", ""), f"a lone % would expand: {segment!r}"
    return segment.replace("%%", "%")


def cmd_check_marker(text: str, marker: str, *, encodable: str = "ascii") -> dict[str, int]:
    """Where ``marker`` (part of hostile hive data) shows up in a cmd script; fails unless each
    place is inert: a sanitised comment, an escaped echo, or a safe double-quoted argument
    (every ``%`` doubled, no control character, nothing outside ``encodable``, and delayed
    expansion disabled before any of them)."""
    seen = {"rem": 0, "echo": 0, "quoted": 0}
    lines = text.splitlines()
    no_delayed = next((i for i, line in enumerate(lines)
                       if line.startswith("setlocal") and "DisableDelayedExpansion" in line), None)
    for number, line in enumerate(lines):
        if marker not in line:
            continue
        line.encode(encodable)
        assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in line), repr(line)
        if line.startswith("rem "):
            assert line.isascii(), repr(line)
            assert not set(line[4:]) & (CMD_SPECIAL | {"%", "!"}), f"unsafe comment {line!r}"
            seen["rem"] += 1
        elif line.startswith("echo("):
            assert cmd_echo_text_ok(line[len("echo("):]), f"unescaped echo {line!r}"
            seen["echo"] += 1
        elif line.startswith(LOG_PREFIX):
            assert cmd_echo_text_ok(line[len(LOG_PREFIX):]), f"unescaped log {line!r}"
            seen["echo"] += 1
        else:
            quoted = cmd_quoted(line)
            assert any(marker in q for q in quoted), f"{marker} outside quotes: {line!r}"
            outside = "".join(line.split('"')[0::2])
            assert marker not in outside, f"{marker} outside quotes: {line!r}"
            assert no_delayed is not None and no_delayed < number, "delayed expansion is on"
            for q in quoted:
                if marker in q:
                    cmd_unquote(q)
                    assert not q.endswith("\\")
            seen["quoted"] += 1
    return seen
