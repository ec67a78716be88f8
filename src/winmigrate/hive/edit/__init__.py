"""Changing a hive image the way Windows does.

``editor.Editor`` is the one object every change goes through; it combines ``cells`` (raw access
through the allocator, snapshots, the recount before a save) with one mixin per concern: ``lists``
(sorted subkey lists), ``data`` (values and their data) and ``security`` (shared ``sk`` records).
``naming`` holds the rules for names, ``blank`` the bytes of a new hive.

May import: ``winmigrate.regf``, ``winmigrate.errors`` and the hive model below it (``key``,
``lookup``, ``model``); never ``hivefile``, ``save`` or anything above.
"""
