"""What the registry means to Windows: the operations on a guest's SYSTEM and SOFTWARE hives.

- ``changes`` -- keys by literal path, and the ``Change`` records every operation plans with;
- ``controlsets`` -- ``Select`` and the ``ControlSetNNN`` keys; ``version`` -- the release;
- ``services`` -- service keys; ``cdd`` -- the CriticalDeviceDatabase (Windows 7 and older);
  ``drivers`` -- the ``DriverDatabase`` (Windows 8 and later);
- ``xen`` -- the Xen PV drivers, found and neutralised; ``certs`` -- machine certificate stores;
- ``netsettings`` (the records), ``netvalues`` (tolerant value parsing) and ``network`` (the
  reader) -- every adapter's TCP/IP settings.

May import: ``winmigrate.hive``, ``winmigrate.regf`` and ``winmigrate.errors``. Nothing here
writes files or knows about a conversion (``winmigrate.convert``) or the command line.
"""
