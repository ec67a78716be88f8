"""Windows' upcase table (``winmigrate.regf.upcase``): hand cases, the NTFS ``$UpCase`` that
``mkntfs`` writes, and the ``lh`` hashes Windows stored for non-ASCII key names in real hives."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from winmigrate.regf.upcase import upcase, upcase_table

REPO = Path(__file__).resolve().parents[2]
CORPUS_EXTRACT = REPO.parent / "shared" / "corpus" / "extract"


def table_bytes() -> bytes:
    """The table laid out like NTFS ``$UpCase``: entry i = upcase of code unit i, u16 LE."""
    t = upcase_table()
    return struct.pack("<65536H", *(t.get(i, i) for i in range(0x10000)))


def lh_hash(name: str) -> int:
    h = 0
    units = upcase(name).encode("utf-16-le", "surrogatepass")
    for (unit,) in struct.iter_unpack("<H", units):
        h = (h * 37 + unit) & 0xFFFFFFFF
    return h


# --- hand cases ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Software\\Microsoft", "SOFTWARE\\MICROSOFT"),  # ASCII fast path
        ("a-z_0.9{}~", "A-Z_0.9{}~"),
        ("äöü", "ÄÖÜ"),
        ("Straße", "STRAßE"),  # 'ß' has no single-character uppercase: unchanged, length kept
        ("ÿ", "\u0178"),  # ÿ -> Ÿ, outside Latin-1
        ("µ", "µ"),  # micro sign: Python maps it to Greek capital mu, Windows does not
        ("ı", "ı"),  # dotless i: not a case pair with 'I'
        ("İi", "İI"),  # dotted capital I unchanged, plain i -> I
        ("ſ", "ſ"),  # long s
        ("привет ёж", "ПРИВЕТ ЁЖ"),  # Cyrillic
        ("ѐ ґ ӂ ԁ ԣ", "Ѐ Ґ Ӂ Ԁ Ԣ"),  # Cyrillic extensions up to Unicode 5.1
        ("ԥ", "ԥ"),  # U+0525: Unicode 5.2, not in Windows' table
        ("σοφός", "ΣΟΦΌς"),  # Greek: final sigma stays (Windows 7+), accented vowels map
        ("ᾳ ᾀ", "ᾼ ᾈ"),  # iota subscript: simple (titlecase) mapping, not 'ΑΙ'
        ("ǆ ǅ Ǆ", "Ǆ ǅ Ǆ"),  # digraph: lower maps, titlecase form stays
        ("ⰰ ⲁ ⴀ", "Ⰰ Ⲁ Ⴀ"),  # Glagolitic, Coptic, Georgian Nuskhuri (Unicode 4.1)
        ("ɐ ȿ", "Ɐ ȿ"),  # U+0250 -> U+2C6F (5.1); U+023F's capital U+2C7E is Unicode 5.2
        ("ꜣ ꝿ ꞌ ꞑ", "Ꜣ Ꝿ Ꞌ ꞑ"),  # Latin Extended-D up to 5.1 maps; U+A791 (6.0) does not
        ("ა", "ა"),  # Georgian Mkhedruli: Mtavruli capitals are Unicode 11
        ("ꭰ ᏸ Ꭰ", "ꭰ ᏸ Ꭰ"),  # Cherokee lower case letters are Unicode 8
        ("ａｚ ⅰ ⓐ", "ＡＺ Ⅰ Ⓐ"),  # fullwidth, Roman numerals, circled letters
        ("注册表 キー", "注册表 キー"),  # CJK and kana: uncased
        ("\U00010438 \U00010410", "\U00010438 \U00010410"),  # Deseret: astral, left alone
        ("a\U0001f30eb", "A\U0001f30eB"),  # astral between mapped BMP characters
        ("\ud800", "\ud800"),  # lone surrogates are code units like any other
        ("ä\udc00b\ud83c", "Ä\udc00B\ud83c"),
        ("", ""),
    ],
)
def test_hand_cases(name: str, expected: str) -> None:
    assert upcase(name) == expected


def test_length_in_code_units_is_kept() -> None:
    for cp in range(0x10000):
        assert len(upcase(chr(cp))) == 1


def test_table_is_made_of_case_twins() -> None:
    table = upcase_table()
    assert len(table) == 973  # 26 ASCII + 947 others
    for lower, upper in table.items():
        assert lower != upper
        assert not 0xD800 <= lower <= 0xDFFF and upper <= 0xFFFF
        assert upper not in table  # an upper-case letter maps to itself: upcase is idempotent
        assert chr(upper).lower() == chr(lower)  # each mapping is half of a Unicode case pair
    assert len(set(table.values())) == len(table)  # so no two letters share an upper case


def test_table_works_with_translate_and_is_read_only() -> None:
    table = upcase_table()
    assert "ǳ ſ".translate(table) == "Ǳ ſ"
    with pytest.raises(TypeError):
        table[0x61] = 0x62  # type: ignore[index]


def test_table_is_windows_8_upcase_by_digest() -> None:
    # The MD5 that ntfs-3g's source documents for the $UpCase of Windows 8 (also Windows 7's and
    # later releases'); holds on every Python version, with or without mkntfs.
    digest = hashlib.md5(table_bytes(), usedforsecurity=False).hexdigest()
    assert digest == "7ff498a44e45e77374cc7c962b1b92f2"


# --- oracle: the $UpCase that mkntfs (ntfs-3g) writes -----------------------------------------


@pytest.mark.oracle
@pytest.mark.skipif(
    not (shutil.which("mkntfs") and shutil.which("ntfscat")), reason="needs ntfs-3g (mkntfs)"
)
def test_matches_mkntfs_upcase(tmp_path: Path) -> None:
    image = tmp_path / "ntfs.img"
    with image.open("wb") as f:
        f.truncate(8 << 20)
    subprocess.run(["mkntfs", "-F", "-f", "-q", str(image)], check=True, capture_output=True)
    ref = subprocess.run(["ntfscat", str(image), "$UpCase"], check=True, capture_output=True).stdout
    assert len(ref) == 0x20000
    ours = table_bytes()
    if ours != ref:
        a = struct.unpack("<65536H", ours)
        b = struct.unpack("<65536H", ref)
        diff = [
            f"U+{i:04X}: ours U+{a[i]:04X}, $UpCase U+{b[i]:04X}"
            for i in range(0x10000)
            if a[i] != b[i]
        ]
        pytest.fail(f"{len(diff)} code units differ: " + "; ".join(diff[:20]))


# --- corpus: hashes Windows stored for non-ASCII key names -------------------------------------


def corpus_dir() -> Path:
    if not CORPUS_EXTRACT.is_file():
        pytest.skip("shared corpus not present")
    out = subprocess.run(
        [sys.executable, str(CORPUS_EXTRACT)], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


def lh_elements(data: bytes) -> list[tuple[str, int]]:
    """(key name, stored hash) of every element of every allocated ``lh`` cell of a primary hive.
    A throwaway reader: walks the bins and cells, trusts nothing beyond bounds checks."""
    out: list[tuple[str, int]] = []
    end = min(len(data), 4096 + struct.unpack_from("<I", data, 40)[0])
    pos = 4096
    while pos + 32 <= end and data[pos : pos + 4] == b"hbin":
        bin_end = pos + struct.unpack_from("<I", data, pos + 8)[0]
        if bin_end <= pos or bin_end > end:
            break
        cell = pos + 32
        while cell + 8 <= bin_end:
            size = struct.unpack_from("<i", data, cell)[0]
            if size == 0:
                break
            if size < 0 and data[cell + 4 : cell + 6] == b"lh":
                count = struct.unpack_from("<H", data, cell + 6)[0]
                count = min(count, (-size - 8) // 8)
                for i in range(count):
                    off, stored = struct.unpack_from("<II", data, cell + 8 + 8 * i)
                    nk = 4096 + off + 4
                    if nk + 76 > len(data) or data[nk : nk + 2] != b"nk":
                        continue
                    flags = struct.unpack_from("<H", data, nk + 2)[0]
                    length = struct.unpack_from("<H", data, nk + 72)[0]
                    raw = data[nk + 76 : nk + 76 + length]
                    if raw.isascii():
                        continue
                    if flags & 0x20:
                        name = raw.decode("latin-1")
                    else:
                        name = raw.decode("utf-16-le", "surrogatepass")
                    out.append((name, stored))
            cell += abs(size)
        pos = bin_end
    return out


@pytest.mark.corpus
def test_corpus_lh_hashes_of_non_ascii_names() -> None:
    root = corpus_dir()
    checked: list[tuple[str, str]] = []
    mismatches: list[str] = []
    seen: set[tuple[int, int]] = set()
    for dirpath, _, files in os.walk(root):
        for fn in sorted(files):
            path = Path(dirpath, fn)
            st = path.stat()
            if (st.st_dev, st.st_ino) in seen or st.st_size < 8192:
                continue
            seen.add((st.st_dev, st.st_ino))
            data = path.read_bytes()
            if data[:4] != b"regf":
                continue
            for name, stored in lh_elements(data):
                checked.append((str(path.relative_to(root)), name))
                if lh_hash(name) != stored:
                    mismatches.append(
                        f"{path.relative_to(root)}: {name!r} stored {stored:#x}, "
                        f"computed {lh_hash(name):#x}"
                    )
    assert not mismatches, "\n".join(mismatches)
    names = {name for _, name in checked}
    assert len(checked) >= 20 and len(names) >= 10, checked

    # The evidence discriminates: hashing str.upper() instead gets some of them wrong
    # ('abcd_äöüß' -> '...SS', Deseret small letter -> capital).
    def naive(name: str) -> int:
        h = 0
        for (unit,) in struct.iter_unpack("<H", name.upper().encode("utf-16-le", "surrogatepass")):
            h = (h * 37 + unit) & 0xFFFFFFFF
        return h

    assert any(naive(name) != lh_hash(name) for name in names)
