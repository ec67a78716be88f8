"""Record builders reproduce real Windows cells byte for byte: build(parse(b)) == b."""

from __future__ import annotations

import pytest

import winmigrate
from tests.helpers import WIN7_SYSTEM, corpus_file
from winmigrate.regf import layout as L
from winmigrate.regf.build import build_db, build_leaf, build_nk, build_sk, build_vk, hint_for
from winmigrate.regf.records import list_leaves, read_nk_named, read_sk
from winmigrate.regf.security import SecurityDescriptor

pytestmark = pytest.mark.corpus


def _payload(hive: winmigrate.Hive, off: int, n: int) -> bytes:
    a = off + 4096 + 4
    return bytes(hive._img.buf[a:a + n])


def test_nk_vk_lists_sk_rebuild_exactly() -> None:
    path = corpus_file(WIN7_SYSTEM)
    counts = {"nk": 0, "vk": 0, "leaf": 0, "sk": 0, "db": 0}
    seen_sk: set[int] = set()
    with winmigrate.open(path) as hive:
        img = hive._img
        for key in hive.walk():
            nk, name = read_nk_named(img, key.offset)
            built = build_nk(
                name=name, flags=nk[L.NK_FLAGS], timestamp=nk[L.NK_TIMESTAMP],
                access_bits=nk[L.NK_ACCESS_BITS], parent=nk[L.NK_PARENT],
                subkey_count=nk[L.NK_SUBKEY_COUNT], volatile_subkey_count=nk[6],
                subkey_list=nk[L.NK_SUBKEY_LIST], volatile_subkey_list=nk[8],
                value_count=nk[L.NK_VALUE_COUNT], value_list=nk[L.NK_VALUE_LIST],
                security=nk[L.NK_SECURITY], class_offset=nk[L.NK_CLASS],
                class_length=nk[L.NK_CLASS_LENGTH], max_name=nk[L.NK_MAX_NAME],
                max_class=nk[L.NK_MAX_CLASS], max_value_name=nk[L.NK_MAX_VALUE_NAME],
                max_value_data=nk[L.NK_MAX_VALUE_DATA], workvar=nk[L.NK_WORKVAR])
            assert built == _payload(hive, key.offset, len(built)), key.path
            counts["nk"] += 1
            for value in key.values():
                vk = value._vk
                built = build_vk(name=value.name, size_field=vk[L.VK_DATA_SIZE],
                                 data_offset=vk[L.VK_DATA_OFFSET],
                                 type_=vk[L.VK_TYPE], flags=vk[L.VK_FLAGS],
                                 spare=vk[L.VK_SPARE])
                assert built == _payload(hive, value.offset, len(built)), (key.path, value.name)
                counts["vk"] += 1
                size, data_off = vk[L.VK_DATA_SIZE], vk[L.VK_DATA_OFFSET]
                if size > L.BIG_DATA_THRESHOLD and not size & L.DATA_RESIDENT:
                    start, _n = img.cell(data_off)
                    _sig, count, seglist = L.DB.unpack_from(img.buf, start)
                    assert build_db(count, seglist) == _payload(hive, data_off, 8)
                    counts["db"] += 1
            if key.subkey_count:
                names = {k.offset: k.name for k in key.subkeys()}
                for leaf_off, sig, elements, hints in list_leaves(img, key._fields()[7]):
                    if sig != L.LI_SIGNATURE:
                        assert hints == [hint_for(sig, names[e]) for e in elements], key.path
                    built = build_leaf(sig, elements, hints)
                    assert built == _payload(hive, leaf_off, len(built))
                    counts["leaf"] += 1
            sk_off = key._fields()[L.NK_SECURITY]
            if sk_off not in seen_sk:
                seen_sk.add(sk_off)
                sk, descriptor = read_sk(img, sk_off)
                built = build_sk(flink=sk[2], blink=sk[3], reference_count=sk[4],
                                 descriptor=descriptor, reserved=sk[1])
                assert built == _payload(hive, sk_off, len(built))
                SecurityDescriptor.parse(descriptor)
                counts["sk"] += 1
    assert counts["nk"] == 30756 and counts["vk"] == 73456
    assert counts["leaf"] > 1000 and counts["sk"] > 10 and counts["db"] >= 1
