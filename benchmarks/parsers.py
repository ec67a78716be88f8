"""One small program per parser and task, each run as a whole process by ``run.py``.

Every program does the same work: ``walk`` visits every key and decodes every value (name, type
and data); ``lookup`` starts, imports, opens the hive, finds one deep key and reads one value.
They print a count so a broken walk cannot pass for a fast one.
"""

from __future__ import annotations

WALK = {
    "winmigrate": """
import sys, winmigrate
hive = winmigrate.open(sys.argv[1])
keys = values = 0
for key in hive.walk():
    keys += 1
    for v in key.values():
        v.name; v.type; v.data
        values += 1
print(keys, values)
""",
    "python-registry": """
import sys
from Registry import Registry
reg = Registry.Registry(sys.argv[1])
keys = values = 0
stack = [reg.root()]
while stack:
    key = stack.pop()
    keys += 1
    for v in key.values():
        v.name(); v.value_type(); v.value()
        values += 1
    stack.extend(key.subkeys())
print(keys, values)
""",
    "regipy": """
import sys
from regipy.registry import RegistryHive
hive = RegistryHive(sys.argv[1])
keys = values = 0
for sk in hive.recurse_subkeys(as_json=False):
    keys += 1
    values += len(sk.values or [])
print(keys + 1, values)
""",
    "dissect.regf": """
import sys
from dissect.regf import RegistryHive
hive = RegistryHive(open(sys.argv[1], "rb"))
keys = values = 0
stack = [hive.root()]
while stack:
    key = stack.pop()
    keys += 1
    for v in key.values():
        v.name; v.type; v.value
        values += 1
    stack.extend(key.subkeys())
print(keys, values)
""",
    "libregf": """
import sys, pyregf
f = pyregf.file()
f.open(sys.argv[1])
keys = values = 0
stack = [f.get_root_key()]
while stack:
    key = stack.pop()
    keys += 1
    for i in range(key.get_number_of_values()):
        v = key.get_value(i)
        v.get_name(); v.get_type(); v.get_data()
        values += 1
    stack.extend(key.get_sub_key(i) for i in range(key.get_number_of_sub_keys()))
print(keys, values)
""",
    "hivex": """
import sys, hivex
h = hivex.Hivex(sys.argv[1])
keys = values = 0
stack = [h.root()]
while stack:
    node = stack.pop()
    keys += 1
    h.node_name(node)
    for v in h.node_values(node):
        h.value_key(v); h.value_value(v)
        values += 1
    stack.extend(h.node_children(node))
print(keys, values)
""",
}

LOOKUP = {
    "winmigrate": """
import sys, winmigrate
with winmigrate.open(sys.argv[1]) as hive:
    print(hive.key(sys.argv[2]).value(sys.argv[3]).data)
""",
    "python-registry": """
import sys
from Registry import Registry
print(Registry.Registry(sys.argv[1]).open(sys.argv[2]).value(sys.argv[3]).value())
""",
    "regipy": """
import sys
from regipy.registry import RegistryHive
key = RegistryHive(sys.argv[1]).get_key("\\\\" + sys.argv[2])
print([v.value for v in key.iter_values() if v.name == sys.argv[3]][0])
""",
    "dissect.regf": """
import sys
from dissect.regf import RegistryHive
print(RegistryHive(open(sys.argv[1], "rb")).open(sys.argv[2]).value(sys.argv[3]).value)
""",
    "libregf": """
import sys, pyregf
f = pyregf.file()
f.open(sys.argv[1])
key = f.get_key_by_path(sys.argv[2])
print(key.get_value_by_name(sys.argv[3]).get_data_as_string())
""",
    "hivex": """
import sys, hivex
h = hivex.Hivex(sys.argv[1])
node = h.root()
for part in sys.argv[2].split("\\\\"):
    node = h.node_get_child(node, part)
print(h.value_value(h.node_get_value(node, sys.argv[3])))
""",
}

EDIT = {
    # Open the 16 MB SYSTEM hive, add a viostor service (5 values) and a CriticalDeviceDatabase
    # entry, save to a new file, or in place without a second argument (fsync included for
    # winmigrate: its saves are crash-safe; in place, journalled through the hive's log).
    "winmigrate": """
import sys, winmigrate
from winmigrate import RegType
with winmigrate.open(sys.argv[1], writable=True) as hive:
    ccs = hive.current_control_set
    svc = hive.key(ccs + "\\\\Services").create_key("viostor")
    svc.set_value("Type", 1)
    svc.set_value("Start", 0)
    svc.set_value("ErrorControl", 1)
    svc.set_value("Group", "SCSI miniport")
    svc.set_value("ImagePath", "system32\\\\drivers\\\\viostor.sys", RegType.EXPAND_SZ)
    cdd = hive.key(ccs + "\\\\Control\\\\CriticalDeviceDatabase").create_key(
        "pci#ven_1af4&dev_1001&rev_00")
    cdd.set_value("Service", "viostor")
    cdd.set_value("ClassGUID", "{4D36E97B-E325-11CE-BFC1-08002BE10318}")
    hive.save(sys.argv[2] if len(sys.argv) > 2 else None)
print("ok")
""",
    "hivex": """
import sys, hivex
h = hivex.Hivex(sys.argv[1], write=True)
root = h.root()
cs = h.node_get_child(root, "ControlSet001")
svcs = h.node_get_child(cs, "Services")
svc = h.node_add_child(svcs, "viostor")
def dword(n): return {"key": n[0], "t": 4, "value": n[1].to_bytes(4, "little")}
h.node_set_values(svc, [dword(("Type", 1)), dword(("Start", 0)), dword(("ErrorControl", 1)),
    {"key": "Group", "t": 1, "value": "SCSI miniport\\0".encode("utf-16-le")},
    {"key": "ImagePath", "t": 2,
     "value": "system32\\\\drivers\\\\viostor.sys\\0".encode("utf-16-le")}])
cdd = h.node_get_child(h.node_get_child(cs, "Control"), "CriticalDeviceDatabase")
e = h.node_add_child(cdd, "pci#ven_1af4&dev_1001&rev_00")
h.node_set_values(e, [{"key": "Service", "t": 1, "value": "viostor\\0".encode("utf-16-le")},
    {"key": "ClassGUID", "t": 1,
     "value": "{4D36E97B-E325-11CE-BFC1-08002BE10318}\\0".encode("utf-16-le")}])
h.commit(sys.argv[2] if len(sys.argv) > 2 else None)
print("ok")
""",
}

BULK = """
import sys, winmigrate
from winmigrate import RegType
with winmigrate.open(sys.argv[1], writable=True) as hive:
    parent = hive.key(hive.current_control_set + "\\\\Services")
    for i in range(1000):
        key = parent.create_key(f"bulk{i:04d}")
        key.set_value("Type", 1)
        key.set_value("Start", 3)
        key.set_value("ErrorControl", 1)
        key.set_value("ImagePath", f"system32\\\\drivers\\\\bulk{i}.sys", RegType.EXPAND_SZ)
        key.set_value("DisplayName", f"Bulk driver {i}")
    hive.save(sys.argv[2])
print("ok")
"""
