"""What a driver's INF file says about its package: class, class GUID, provider, ``DriverVer``,
catalog, the hardware IDs it installs on, the services it adds and the files it copies -- so
the conversion binds the IDs the driver really claims instead of a hard-coded list.

The INF syntax read here is the documented one: ``[Section]`` headers, ``key = value`` lines,
``;`` comments outside quotes, ``\\`` at a line's end continuing it, ``%token%`` replaced from
``[Strings]`` (a language-specific ``[Strings.0409]`` too), ``%%`` a literal percent. The file is
UTF-16LE with a byte-order mark, UTF-8 with one, or ANSI (code page 1252). Models sections are
found through ``[Manufacturer]`` with their platform decorations (``NTamd64``, ``NTx86.6.1``,
``NTarm64``...): an architecture's hardware IDs are those of its decorated sections, or of the
undecorated one when it has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .volume import ConversionError

__all__ = ["InfError", "InfInfo", "parse_inf"]

#: INF platform decorations by guest architecture.
_PLATFORMS = {"amd64": "ntamd64", "x86": "ntx86", "ARM64": "ntarm64", "ia64": "ntia64"}
_MAX_INF = 4 << 20  # virtio-win's INFs are a few kB; refuse something that is not an INF


class InfError(ConversionError):
    """The bytes are not an INF file this reader understands."""


@dataclass(frozen=True)
class InfInfo:
    """The parts of an INF the conversion uses (see the module docstring). ``hardware_ids``
    maps a platform (``ntamd64``, ``ntx86``, ``""`` for undecorated) to its IDs in file order."""

    name: str
    class_name: str | None
    class_guid: str | None
    provider: str | None
    driver_date: str | None
    driver_version: str | None
    catalog_files: tuple[str, ...]
    hardware_ids: dict[str, tuple[str, ...]]
    services: tuple[str, ...]
    source_files: tuple[str, ...]

    def ids_for(self, arch: str) -> tuple[str, ...]:
        """The hardware IDs this INF installs on for a guest architecture."""
        platform = _PLATFORMS.get(arch, arch.lower())
        ids = self.hardware_ids.get(platform)
        if ids is None:
            ids = self.hardware_ids.get("", ())
        return ids

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "class": self.class_name, "class_guid": self.class_guid,
                "provider": self.provider, "driver_date": self.driver_date,
                "driver_version": self.driver_version, "catalog_files": list(self.catalog_files),
                "hardware_ids": {k: list(v) for k, v in self.hardware_ids.items()},
                "services": list(self.services), "source_files": list(self.source_files)}


def _decode(data: bytes, name: str) -> str:
    if len(data) > _MAX_INF:
        raise InfError(f"{name}: {len(data):,} bytes is too large for an INF file")
    if data.startswith(b"\xff\xfe"):
        text = data[2:].decode("utf-16-le", "replace")
    elif data.startswith(b"\xfe\xff"):
        text = data[2:].decode("utf-16-be", "replace")
    elif data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", "replace")
    elif len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        text = data.decode("utf-16-le", "replace")  # UTF-16 without a BOM
    else:
        text = data.decode("cp1252", "replace")
    if "\0" in text:
        raise InfError(f"{name}: binary data, not an INF file")
    return text


def _strip_comment(line: str) -> str:
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            return line[:i]
    return line


def _sections(text: str) -> dict[str, list[str]]:
    """Section name (lower-case) -> its logical lines, comments removed, continuations joined.
    A section that appears twice is one section (INF rule)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    pending = ""
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line = (pending + line).strip()
        pending = ""
        if not line:
            continue
        if line.startswith("[") and "]" in line:
            name = line[1:line.index("]")].strip().lower()
            current = sections.setdefault(name, [])
            continue
        if current is not None:
            current.append(line)
    return sections


def _split(line: str) -> tuple[str | None, list[str]]:
    """``key = a, "b, c"`` -> ("key", ["a", "b, c"]); a line without ``=`` has no key."""
    key = None
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "=" and not quoted:
            key, line = line[:i].strip(), line[i + 1:]
            break
    fields: list[str] = []
    field: list[str] = []
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            fields.append("".join(field).strip())
            field = []
        else:
            field.append(ch)
    fields.append("".join(field).strip())
    return key, fields


def parse_inf(data: bytes, name: str = "INF") -> InfInfo:
    """Read an INF file's package description (see the module docstring)."""
    text = _decode(data, name)
    sections = _sections(text)
    if "version" not in sections:
        raise InfError(f"{name}: no [Version] section")
    strings: dict[str, str] = {}
    for section in sorted(s for s in sections if s == "strings" or s.startswith("strings.")):
        for line in sections[section]:
            key, fields = _split(line)
            if key is not None and key.lower() not in strings:
                strings[key.lower()] = ",".join(fields)

    def expand(value: str) -> str:
        def one(m: re.Match[str]) -> str:
            token = m.group(1)
            if not token:
                return "%"
            found = strings.get(token.lower())
            # a [Strings] value writes a literal percent sign as %% too
            return m.group(0) if found is None else found.strip('"').replace("%%", "%")
        return re.sub(r"%([^%]*)%", one, value).strip().strip('"')

    version: dict[str, str] = {}
    for line in sections["version"]:
        key, fields = _split(line)
        if key is not None:
            version[key.lower()] = ",".join(fields)
    driver_ver = version.get("driverver")
    date = ver = None
    if driver_ver:
        parts = [expand(p) for p in driver_ver.split(",")]
        date = parts[0] or None
        ver = parts[1] if len(parts) > 1 and parts[1] else None
    catalogs = tuple(dict.fromkeys(
        expand(v) for k, v in version.items() if k == "catalogfile" or
        k.startswith("catalogfile.")))

    ids: dict[str, list[str]] = {}
    for line in sections.get("manufacturer", []):
        _key, fields = _split(line)
        if not fields or not fields[0]:
            continue
        base = expand(fields[0]).lower()
        decorations = [f.strip().lower() for f in fields[1:] if f.strip()]
        models = [(base, "")] + [(f"{base}.{d}", d.split(".")[0]) for d in decorations]
        for section, platform in models:
            for model in sections.get(section, []):
                _k, parts = _split(model)
                for hwid in parts[1:]:
                    hwid = expand(hwid)
                    if hwid:
                        bucket = ids.setdefault(platform, [])
                        if hwid.upper() not in (h.upper() for h in bucket):
                            bucket.append(hwid)
    services: list[str] = []
    for section, lines in sections.items():
        if not section.endswith(".services"):
            continue
        for line in lines:
            key, fields = _split(line)
            if key is not None and key.lower() == "addservice" and fields[0]:
                service = expand(fields[0])
                if service.lower() not in (s.lower() for s in services):
                    services.append(service)
    files: list[str] = []
    for section, lines in sections.items():
        if section == "sourcedisksfiles" or section.startswith("sourcedisksfiles."):
            for line in lines:
                key, _fields = _split(line)
                if key and key.lower() not in (f.lower() for f in files):
                    files.append(expand(key))
    return InfInfo(
        name=name, class_name=expand(version["class"]) if "class" in version else None,
        class_guid=expand(version["classguid"]).upper() if "classguid" in version else None,
        provider=expand(version["provider"]) if "provider" in version else None,
        driver_date=date, driver_version=ver, catalog_files=catalogs,
        hardware_ids={k: tuple(v) for k, v in ids.items()}, services=tuple(services),
        source_files=tuple(files))
