"""The logical diff: empty against itself, exactly the edits made, and a .reg rendering that
turns A into B."""

from __future__ import annotations

import io
import time
from datetime import datetime, timezone

import pytest

import winmigrate
from tests.helpers import BIG_SYSTEM, WIN7_SYSTEM, corpus_file
from winmigrate.cli.diff import reg_pieces
from winmigrate.hive.diff import (
    KeyAdded,
    KeyChanged,
    KeyRemoved,
    ValueAdded,
    ValueChanged,
    ValueRemoved,
    diff,
    iter_diff,
)
from winmigrate.regfile import apply, encode_text, parse

PREFIX = "HKEY_LOCAL_MACHINE\\SYSTEM"


def sz(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le")


def _pair() -> tuple[winmigrate.Hive, winmigrate.Hive]:
    a = winmigrate.create("ROOT")
    for h in (a,):
        svc = h.root.create_key("Services")
        svc.create_key("xenvbd").set_value("Start", 0)
        svc.create_key("xenvbd\\Parameters").set_value("x", "y")
        svc.create_key("Tcpip").set_value("Hostname", "old")
        svc.subkey("Tcpip").set_value("Keep", 1)
        svc.subkey("Tcpip").set_value("Gone", b"\x01", winmigrate.RegType.BINARY)
    b = winmigrate.Hive.from_bytes(a.to_bytes(), writable=True)
    return a, b


def test_a_hive_against_itself_is_empty() -> None:
    a, b = _pair()
    assert diff(a, a).empty and diff(a, b).empty
    assert diff(a, b, metadata=True).empty


def test_exactly_the_edits_made() -> None:
    a, b = _pair()
    services = b.key("Services")
    services.delete_key("xenvbd", recursive=True)
    viostor = services.create_key("viostor")
    viostor.set_value("Start", 0)
    tcpip = services.subkey("tcpip")
    tcpip.set_value("Hostname", "new")
    tcpip.delete_value("Gone")
    tcpip.set_value("Keep", 1, winmigrate.RegType.QWORD)  # same number, other type
    tcpip.set_value("Added", ["a", "b"])
    result = diff(a, b)
    assert list(result.changes) == [
        ValueChanged("Services\\Tcpip", "Hostname", 1, sz("old"), 1, sz("new")),
        ValueChanged("Services\\Tcpip", "Keep", 4, b"\1\0\0\0", 11, b"\1" + bytes(7)),
        ValueRemoved("Services\\Tcpip", "Gone", 3, b"\x01"),
        ValueAdded("Services\\Tcpip", "Added", 7, "a\0b\0\0".encode("utf-16-le")),
        KeyAdded("Services\\viostor"),
        ValueAdded("Services\\viostor", "Start", 4, bytes(4)),
        KeyRemoved("Services\\xenvbd"),
        ValueRemoved("Services\\xenvbd", "Start", 4, bytes(4)),
        KeyRemoved("Services\\xenvbd\\Parameters"),
        ValueRemoved("Services\\xenvbd\\Parameters", "x", 1, sz("y")),
    ]
    assert result.counts() == {"value_removed": 3, "value_changed": 2, "value_added": 2,
                               "key_added": 1, "key_removed": 2}
    assert result.keys_compared == 3  # root, Services, Tcpip
    # The same, from B's point of view, reversed.
    back = diff(b, a).counts()
    assert back == {"value_removed": 2, "value_changed": 2, "value_added": 3,
                    "key_added": 2, "key_removed": 1}


def test_names_match_case_insensitively_and_value_order_is_ignored() -> None:
    a, b = _pair()
    tcpip = b.key("Services\\Tcpip")
    for name in ("Hostname", "Keep", "Gone"):
        v = tcpip.value(name)
        tcpip.delete_value(name)
        tcpip.set_value(name.upper(), raw=v.raw, type=v.type_number)
    assert diff(a, b).empty


def test_metadata_and_timestamps() -> None:
    a, b = _pair()
    key = b.key("Services\\Tcpip")
    key.set_class_name("NewClass")
    key.touch(datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert diff(a, b).empty
    changes = diff(a, b, metadata=True).changes
    assert changes == (KeyChanged("Services\\Tcpip", "class_name", None, "NewClass"),)
    stamped = [c for c in diff(a, b, timestamps=True).changes if c.path == "Services\\Tcpip"]
    assert stamped == [KeyChanged("Services\\Tcpip", "last_written",
                                  a.key("Services\\Tcpip").last_written.isoformat(),  # type: ignore[union-attr]
                                  "2020-01-02T03:04:05+00:00")]


def test_subtrees_and_streaming() -> None:
    a, b = _pair()
    b.key("Services\\Tcpip").set_value("Hostname", "new")
    sub = diff(a.key("Services\\Tcpip"), b.key("Services\\Tcpip"))
    assert [c.kind for c in sub.changes] == ["value_changed"]
    assert sub.changes[0].path == "Services\\Tcpip"
    first = next(iter_diff(a, b))
    assert first.kind == "value_changed"


def test_reg_rendering_turns_a_into_b() -> None:
    a, b = _pair()
    b.key("Services").delete_key("xenvbd", recursive=True)
    b.key("Services").create_key("viostor\\Parameters").set_value("odd", b"\x61\x00",
                                                                  winmigrate.RegType.SZ)
    b.key("Services\\Tcpip").delete_value("Gone")
    b.key("Services\\Tcpip").set_value("", "default")
    out = io.BytesIO()
    encode_text(reg_pieces(diff(a, b).changes, PREFIX), out)
    text = out.getvalue().decode("utf-16")
    assert "[-HKEY_LOCAL_MACHINE\\SYSTEM\\Services\\xenvbd]" in text
    assert "xenvbd\\Parameters" not in text  # covered by the [-...] of its parent
    assert '"Gone"=-' in text and '@="default"' in text and '"odd"=hex(1):61,00' in text
    apply(a, parse(out.getvalue()))
    assert diff(a, b).empty


@pytest.mark.corpus
def test_corpus_system_against_itself_is_fast_and_empty() -> None:
    path = corpus_file(BIG_SYSTEM)
    with winmigrate.open(path) as a, winmigrate.open(path) as b:
        start = time.perf_counter()
        result = diff(a, b)
        elapsed = time.perf_counter() - start
    assert result.empty and result.keys_compared > 30_000 and result.values_compared > 70_000
    assert elapsed < 10, f"diff of the 16 MB SYSTEM hive took {elapsed:.1f} s"


@pytest.mark.corpus
def test_corpus_edits_are_found_and_the_reg_form_replays_them() -> None:
    path = corpus_file(WIN7_SYSTEM)
    with winmigrate.open(path) as a:
        b = winmigrate.Hive.from_bytes(path.read_bytes(), writable=True)
        services = b.key("ControlSet001\\Services")
        services.create_key("viostor").set_value("Start", 0)
        services.delete_key("Tcpip", recursive=True)
        b.key("Select").set_value("Current", 2)
        result = diff(a, b)
        kinds = result.counts()
        assert kinds["key_added"] == 1 and kinds["value_added"] == 1
        assert kinds["value_changed"] == 1
        removed = [c.path for c in result.changes if isinstance(c, KeyRemoved)]
        assert removed[0] == "ControlSet001\\services\\Tcpip"
        assert all(p.startswith("ControlSet001\\services\\Tcpip") for p in removed)
        out = io.BytesIO()
        encode_text(reg_pieces(result.changes, PREFIX), out)
        c = winmigrate.Hive.from_bytes(path.read_bytes(), writable=True)
        apply(c, parse(out.getvalue()))
        assert diff(c, b).empty


def test_a_subtree_on_one_side_only() -> None:
    a, b = _pair()
    b.key("Services").create_key("viostor").set_value("Start", 0)
    added = diff(a.get_key("Services\\viostor"), b.key("Services\\viostor"))
    assert added.changes == (KeyAdded("Services\\viostor"),
                             ValueAdded("Services\\viostor", "Start", 4, bytes(4)))
    removed = diff(b.key("Services\\viostor"), None)
    assert [c.kind for c in removed.changes] == ["key_removed", "value_removed"]
    with pytest.raises(winmigrate.UsageError):
        diff(None, None)
