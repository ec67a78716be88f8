"""Hand-written ``.reg`` files (tests/regfile/golden, see its README) parse to the content they
spell out, and winmigrate's export of that content is the same file byte for byte."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import assert_written_ok
from winmigrate.regfile import (
    KeyLine,
    RegFileError,
    ValueDelete,
    ValueLine,
    apply,
    detect_prefix,
    dumps,
    export_reg,
    format_value_line,
    import_reg,
    parse,
)

GOLDEN = Path(__file__).parent / "golden"


def sz(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le")


def units(text: str) -> bytes:
    return text.encode("utf-16-le")


def content(hive: winmigrate.Hive) -> dict[str, list[tuple[str, int, bytes]]]:
    return {k.path: [(v.name, v.type_number, v.raw) for v in k.values()] for k in hive.walk()}


REGEDIT5_EXPECTED: dict[str, list[tuple[str, int, bytes]]] = {
    "": [("", 1, sz("the default value"))],
    "acpi/pnp0a03": [("Slash", 1, sz("a key name with a slash"))],
    "Escapes": [
        ('quote"in name', 1, sz('say "hi"')),
        ("back\\slash", 1, sz("C:\\Windows\\System32\\")),
        ("empty", 1, b"\0\0"),
        ("semi;colon", 1, sz('a;b=c [x] @ ""')),
        ("x" * 72, 3, b"\x01\x02\x03"),
    ],
    "Services": [],
    "Services\\viostor": [
        ("Type", 4, b"\x01\0\0\0"),
        ("Start", 4, b"\0\0\0\0"),
        ("ErrorControl", 4, b"\x01\0\0\0"),
        ("ImagePath", 2, sz("system32\\drivers\\viostor.sys")),
        ("DisplayName", 1, sz("Red Hat VirtIO SCSI controller")),
        ("Group", 1, sz("SCSI miniport")),
        ("Owners", 7, units("viostor.inf\0\0")),
    ],
    "Types": [
        ("none", 0, b""),
        ("none_data", 0, b"\x01\x02"),
        ("sz", 1, sz("hello")),
        ("expand", 2, sz("%SystemRoot%")),
        ("binary", 3, bytes(range(64))),
        ("binary_empty", 3, b""),
        ("dword", 4, bytes.fromhex("efbeadde")),
        ("dword_be", 5, b"\x01\x02\x03\x04"),
        ("link", 6, units("\\REGISTRY")),
        ("multi", 7, units("one\0two\0\0")),
        ("resource_list", 8, b"\x01\0\0\0"),
        ("full_resource", 9, b"\0"),
        ("requirements", 10, b"\xaa\xbb"),
        ("qword", 11, bytes.fromhex("0807060504030201")),
        ("devprop", 0xFFFF0012, b"\x01\0\0\0"),
        ("short_dword", 4, b"\x01\x02"),
        ("sz_no_terminator", 1, units("ab")),
        ("sz_after_nul", 1, units("a\0b\0")),
        ("sz_newline", 1, units("a\r\nb\0")),
    ],
    "[brackets]": [("]", 1, sz("]"))],
    "Ünïcödé ключ 鍵": [
        ("naïve €", 1, sz("Grüße, 世界")),
        ("😀ab", 3, bytes(range(23))),
    ],
}


def test_regedit5_golden_parses_to_its_content() -> None:
    data = (GOLDEN / "regedit5_types.reg").read_bytes()
    assert data[:2] == b"\xff\xfe" and "\r\n" in data.decode("utf-16-le")
    reg = parse(data)
    assert reg.format == "5.00" and reg.encoding == "utf-16-le"
    hive = winmigrate.create("GOLDEN")
    report = apply(hive, reg)
    assert report.prefix == "HKEY_LOCAL_MACHINE\\GOLDEN"
    assert content(hive) == REGEDIT5_EXPECTED
    assert_written_ok(hive, unreferenced=False)


def test_regedit5_golden_is_what_export_writes() -> None:
    """Escaping, dword/hex/hex(N) forms, the 77-column wrap (counted in UTF-16 units: the
    emoji name wraps after 22 bytes, not 23), blank lines, CRLF, BOM: byte for byte."""
    data = (GOLDEN / "regedit5_types.reg").read_bytes()
    hive = winmigrate.create("GOLDEN")
    apply(hive, parse(data))
    assert dumps(hive, prefix="HKEY_LOCAL_MACHINE\\GOLDEN") == data


def test_regedit4_golden() -> None:
    data = (GOLDEN / "regedit4_ansi.reg").read_bytes()
    reg = parse(data)
    assert reg.format == "REGEDIT4" and reg.encoding == "cp1252"
    hive = winmigrate.create("NTUSER")
    report = apply(hive, reg)
    assert report.prefix == "HKEY_CURRENT_USER"
    assert content(hive)["Software\\Golden"] == [
        ("", 1, sz("Café €5")),
        ("Ümlaut", 4, b"\x2a\0\0\0"),
        # REGEDIT4 hex string data is ANSI: regedit converts it to UTF-16 as it imports.
        ("expand", 2, sz("%USERPROFILE%\\é")),
        ("multi", 7, units("a\0é\0\0")),
        ("bin", 3, bytes.fromhex("deadbeef")),
        ("sz_hex", 1, units("€")),
    ]
    assert dumps(hive.key("Software\\Golden"), prefix="HKEY_CURRENT_USER",
                 regedit4=True) == data


def test_hivexregedit_style_export_imports() -> None:
    """LF, no BOM, 'PREFIX\\' for the root, hex(1)/hex(3) for strings and binary, sorted
    values, Latin-1 and UTF-8 lines mixed, str(1):"..." (--unsafe-printable-strings)."""
    reg = parse((GOLDEN / "hivexregedit_style.reg").read_bytes())
    hive = winmigrate.create("SOFTWARE")
    report = apply(hive, reg)
    assert report.prefix == "HKEY_LOCAL_MACHINE\\SOFTWARE"
    assert content(hive) == {
        "": [],
        "Golden": [
            ("", 1, sz("def")),
            ("binary", 3, b"\0\x01\x02"),
            ("devprop", 0xFFFF0012, b"\x01\0\0\0"),
            ("dword", 4, b"\x10\0\0\0"),
            ("expand", 2, sz("%")),
            ("printable", 1, sz("hello")),
            ("qword", 11, b"\x01" + bytes(7)),
            ('quote"d', 3, b""),
        ],
        "Golden\\straße": [("grüße", 1, sz("gü"))],
        "Golden\\İstanbul": [("ключ", 4, b"\x01\0\0\0")],
    }


def test_hivexregedit_without_prefix_is_root_relative() -> None:
    reg = parse((GOLDEN / "hivexregedit_noprefix.reg").read_bytes())
    assert detect_prefix("\\Select") == "\\"
    hive = winmigrate.create("SYSTEM")
    apply(hive, reg)
    assert content(hive) == {"": [], "Select": [("Current", 4, b"\x01\0\0\0")],
                             "Select\\Sub": [("", 1, sz("x"))]}


def _edit_target() -> winmigrate.Hive:
    hive = winmigrate.create("SYSTEM")
    keep = hive.root.create_key("Keep")
    keep.set_value("", "default")
    keep.set_value("changed", "old text")
    keep.set_value("unchanged", 7)
    keep.set_value("gone", "bye")
    drop = hive.root.create_key("Drop")
    drop.create_key("Child\\Grandchild").set_value("v", 1)
    return hive


def test_merge_semantics() -> None:
    hive = _edit_target()
    report = import_reg(hive, (GOLDEN / "edits.reg").read_bytes())
    assert content(hive) == {
        "": [],
        "Keep": [("changed", 1, sz("new text")), ("unchanged", 4, b"\x07\0\0\0"),
                 ("indented", 4, b"\x01\0\0\0"), ("hexy", 3, bytes.fromhex("deadbeef"))],
        "New": [],
        "New\\Deeper": [("x", 7, units("a\0\0"))],
    }
    kinds = [(c.kind, c.path, c.name, c.line) for c in report.changes]
    assert kinds == [
        ("value_changed", "Keep", "changed", 5),
        ("value_added", "Keep", "indented", 6),
        ("value_deleted", "Keep", "gone", 8),
        ("value_deleted", "Keep", "", 9),
        ("value_added", "Keep", "hexy", 10),
        ("key_deleted", "Drop", None, 15),
        ("key_created", "New", None, 18),
        ("key_created", "New\\Deeper", None, 18),
        ("value_added", "New\\Deeper", "x", 19),
    ]
    assert report.unchanged == 1 and report.absent == 1
    assert_written_ok(hive, unreferenced=False)


def test_an_import_changes_nothing_when_the_content_is_already_there() -> None:
    hive = _edit_target()
    text = dumps(hive, prefix="HKLM\\SYSTEM")
    stamps = [k.timestamp for k in hive.walk()]
    report = import_reg(hive, text)
    assert report.changes == () and report.unchanged == 5
    assert [k.timestamp for k in hive.walk()] == stamps  # nothing was even rewritten


@pytest.mark.parametrize(("text", "line", "words"), [
    ("REGEDIT\r\n", 1, "not a .reg file"),
    ("Windows Registry Editor Version 4.00\n", 1, "not a .reg file"),
    ("REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X\n", 3, "closing ']'"),
    ("REGEDIT4\n\"a\"=\"b\"\n", 2, "before any [KEY]"),
    ("REGEDIT4\n[-HKLM\\X\\Y]\n\"a\"=\"b\"\n", 3, "deletes its key"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=dword:123456789\n", 3, "bad dword"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=dword:\n", 3, "bad dword"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=hex:01,2g\n", 3, "bad hex byte"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=hex:01,100\n", 3, "bad hex byte"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=hex(100000000):01\n", 3, "32 bits"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=qword:01\n", 3, "unknown data format"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=\"unterminated\n", 3, "closing quote"),
    ("REGEDIT4\n[HKLM\\X]\n\"a=\"b\"\n", 3, "expected '='"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=\"b\" junk\n", 3, "after the string"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=\"b\\0\"\n", 3, "\\0"),
    ("REGEDIT4\n[HKLM\\X]\nHKLM\\X\\a=b\n", 3, "expected [KEY]"),
    ("REGEDIT4\n[HKLM\\X] junk\n", 2, "after the key name"),
    ("REGEDIT4\n[HKLM\\X]\n\"a\"=hex:01,\\\n\n[HKLM\\Y]\n", 5, "more hex data"),
])
def test_parse_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(RegFileError) as info:
        parse(text.encode("cp1252"), source="bad.reg")
    assert info.value.line == line
    assert words in str(info.value) and str(info.value).startswith(f"bad.reg, line {line}: ")
    assert isinstance(info.value, winmigrate.WinmigrateError)


def test_undecodable_file() -> None:
    with pytest.raises(RegFileError, match="cannot decode"):
        parse(b"\xff\xfe" + HEADER5_UTF16 + b"\x41")


HEADER5_UTF16 = "Windows Registry Editor Version 5.00\r\n".encode("utf-16-le")


@pytest.mark.parametrize(("text", "prefix", "line", "words"), [
    ("[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\B]\n", None, 4,
     "outside HKEY_LOCAL_MACHINE\\SYSTEM"),
    ("[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\n", "HKEY_USERS\\S-1-5-18", 3, "outside HKEY_USERS"),
    ("[SYSTEM\\A]\n", None, 3, "cannot tell which part"),
    ("[-HKEY_LOCAL_MACHINE\\SYSTEM]\n", None, 3, "root cannot be deleted"),
    ("[HKEY_LOCAL_MACHINE\\SYSTEM\\" + "k" * 256 + "]\n", None, 3, "at most 255"),
])
def test_apply_errors_name_the_line(text: str, prefix: str | None, line: int,
                                    words: str) -> None:
    hive = winmigrate.create("SYSTEM")
    hive.root.create_key("Before")
    before = content(hive)
    with pytest.raises(RegFileError) as info:
        import_reg(hive, HEADER5 + text, prefix=prefix)
    assert info.value.line == line and words in str(info.value)
    assert content(hive) == before  # the transaction rolled back


HEADER5 = "Windows Registry Editor Version 5.00\n\n"


def test_prefixes_match_case_insensitively_and_abbreviated() -> None:
    hive = winmigrate.create("SYSTEM")
    text = HEADER5 + "[hklm\\system\\A]\n[HKEY_LOCAL_MACHINE\\SYSTEM\\a\\B]\n"
    apply(hive, parse(text), prefix="HKEY_LOCAL_MACHINE\\System\\")
    assert [k.path for k in hive.walk()] == ["", "A", "A\\B"]
    assert detect_prefix("HKEY_USERS\\S-1-5-21-1\\Software") == "HKEY_USERS\\S-1-5-21-1"
    assert detect_prefix("HKCU\\Software") == "HKCU"
    assert detect_prefix("HKEY_LOCAL_MACHINE") is None


def test_import_into_a_subtree_key() -> None:
    hive = winmigrate.create("SOFTWARE")
    target = hive.root.create_key("Classes")
    apply(target, parse(HEADER5 + "[HKEY_CLASSES_ROOT\\.txt]\n@=\"txtfile\"\n"))
    assert hive.key("Classes\\.txt").get("") == "txtfile"


def test_parse_ops_and_line_endings() -> None:
    for eol in ("\r\n", "\n", "\r"):
        text = eol.join([HEADER5.strip(), "", "[HKLM\\S\\K]", "\"a\"=hex:01,\\", "  02",
                         "\"b\"=-", "@=\"d\"", ""])
        reg = parse(text.encode("utf-8"))
        assert reg.ops == (KeyLine(3, "HKLM\\S\\K"), ValueLine(4, "HKLM\\S\\K", "a", 3, b"\1\2"),
                           ValueDelete(6, "HKLM\\S\\K", "b"),
                           ValueLine(7, "HKLM\\S\\K", "", 1, sz("d")))


def test_bom_variants() -> None:
    text = HEADER5 + "[HKLM\\S\\K]\n\"é\"=\"ü\"\n"
    for data in (b"\xef\xbb\xbf" + text.encode("utf-8"), b"\xfe\xff" + text.encode("utf-16-be"),
                 text.encode("utf-16-le"), text.encode("utf-8")):
        ops = parse(data).ops
        assert ops[1] == ValueLine(4, "HKLM\\S\\K", "é", 1, sz("ü"))


@pytest.mark.parametrize(("lead", "first_line_bytes"), [
    ('"Name"=hex:', 22), ('"FailureActions"=hex:', 19), ('@=hex(2):', 23),
    ('"ImagePath"=hex(2):', 20),
])
def test_wrap_rule_matches_real_regedit_lines(lead: str, first_line_bytes: int) -> None:
    """First-line byte counts seen in real regedit exports; continuation lines hold 25 bytes
    and every line stays within 80 columns."""
    name = "" if lead.startswith("@") else lead.split('"')[1]
    t = 3 if lead.endswith("hex:") else 2
    line, lossy = format_value_line(name, t, bytes(100))
    assert lossy is None
    rows = line.split("\r\n")
    assert rows[0].startswith(lead) and rows[0].count(",") == first_line_bytes
    assert all(r.endswith(",\\") for r in rows[:-1])
    assert all(r.startswith("  ") and r.count(",") == 25 for r in rows[1:-1])
    assert max(len(r) for r in rows) <= 80


def test_regedit4_lossy_characters_are_reported() -> None:
    hive = winmigrate.create("X")
    key = hive.root.create_key("Ключ")
    key.set_value("name", "日本")
    key.set_value("ok", "café")
    report = export_reg(hive, io.BytesIO(), prefix="HKEY_LOCAL_MACHINE\\X", regedit4=True)
    assert not report.exact
    assert [(s.path, s.name) for s in report.lossy] == [("Ключ", None), ("Ключ", "name")]
    back = winmigrate.create("X")
    apply(back, parse(dumps(hive, prefix="HKLM\\X", regedit4=True)))
    assert back.key("????").get("name") == "??" and back.key("????").get("ok") == "café"


def test_value_names_with_line_breaks_survive() -> None:
    hive = winmigrate.create("X")
    hive.root.create_key("good").set_value("v\r\nw", "escaped as Wine's regedit does")
    report = export_reg(hive, io.BytesIO(), prefix="HKLM\\X")
    assert report.exact and report.values == 1
    back = winmigrate.create("X")
    apply(back, parse(dumps(hive, prefix="HKLM\\X")))
    assert back.key("good").get("v\r\nw") == "escaped as Wine's regedit does"
