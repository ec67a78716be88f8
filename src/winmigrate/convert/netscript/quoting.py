"""Quoting for the first-boot scripts: PowerShell literals and cmd strings (see the rules in
``winmigrate.convert.netscript`` and docs/network.md)."""

from __future__ import annotations

__all__ = ["CMD_FORBIDDEN", "cmd_comment", "cmd_quote", "cmd_safe", "cmd_text", "codepage_codec",
           "plain", "ps_comment", "ps_quote"]

CMD_FORBIDDEN = frozenset('"%!^&|<>')


def ps_quote(text: str) -> str:
    """A PowerShell expression whose value is exactly ``text``: a single-quoted literal (``'``
    doubled) for printable ASCII, ``[char]0xNNNN`` (UTF-16 code units) for anything else."""
    parts: list[str] = []
    buf: list[str] = []
    units = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(units), 2):
        unit = units[i] | units[i + 1] << 8
        if 0x20 <= unit <= 0x7E:
            buf.append("''" if unit == 0x27 else chr(unit))
            continue
        if buf:
            parts.append("'" + "".join(buf) + "'")
            buf = []
        parts.append(f"[char]0x{unit:04X}")
    if buf or not parts:
        parts.append("'" + "".join(buf) + "'")
    if len(parts) == 1 and parts[0].startswith("'"):
        return parts[0]
    return "(" + " + ".join(["''", *parts]) + ")"  # a string first, so + concatenates


def ps_comment(text: str) -> str:
    return "".join(ch if 0x20 <= ord(ch) <= 0x7E else "?" for ch in text)


def cmd_safe(text: str, codepage: int | None = None) -> bool:
    """Whether ``text`` may be written (through ``cmd_quote``) inside double quotes in the
    scripts' batch files, saved in OEM code page ``codepage`` (printable ASCII when ``None``):
    not empty, no double quote (nothing escapes one inside quotes), no control character, every
    character encodable, and no final backslash (which would escape the closing quote for
    programs that parse their command line the C way)."""
    if not text or text.endswith("\\") or '"' in text:
        return False
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029" for ch in text):
        return False
    if text.isascii():
        return True
    codec = codepage_codec(codepage)
    if codec is None:
        return False
    try:
        return text.encode(codec).decode(codec) == text
    except UnicodeError:
        return False


def cmd_quote(text: str) -> str:
    """``text`` for a double-quoted batch argument (``cmd_safe`` must hold): ``%`` doubled; in
    quotes ``& | < > ^`` are literal, and ``!`` is too with delayed expansion disabled."""
    return '"' + text.replace("%", "%%") + '"'


def plain(text: str) -> bool:
    """Printable ASCII without ``" % ! ^ & | < >`` (for the log file path, which is expanded
    from a variable in several places)."""
    return (bool(text) and all(0x20 <= ord(ch) <= 0x7E and ch not in CMD_FORBIDDEN
                               for ch in text) and not text.endswith("\\"))


def codepage_codec(codepage: int | None) -> str | None:
    """The Python codec of Windows code page ``codepage``, when there is one."""
    if codepage is None or isinstance(codepage, bool) or not isinstance(codepage, int):
        return None
    import codecs

    try:
        return codecs.lookup(f"cp{codepage}").name
    except LookupError:
        return None


def cmd_text(text: str) -> str:
    """Text for an unquoted ``echo``: printable ASCII with cmd's specials escaped; ``?`` for
    control and non-ASCII characters and for ``%``/``!`` (never expanded)."""
    out = []
    for ch in text:
        if not 0x20 <= ord(ch) <= 0x7E or ch in "%!":
            out.append("?")
        elif ch in '^&|<>()"':
            out.append("^" + ch)
        else:
            out.append(ch)
    return "".join(out)


def cmd_comment(text: str) -> str:
    return "".join("?" if not 0x20 <= ord(ch) <= 0x7E or ch in '%!^&|<>()"' else ch
                   for ch in text)
