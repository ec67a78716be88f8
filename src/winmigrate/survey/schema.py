"""The rows a survey writes, and their schema -- one definition for the JSON Lines and the
Parquet output, the documentation (``docs/scan.md``) and the tests.

Two tables:

- **facts** (``HiveFacts``): one row per hive file -- what it is, its state, and for SYSTEM (and
  SOFTWARE) hives the Windows facts that decide a conversion;
- **keys** (``KeyRow``): one row per key, per value and per problem of every hive, for timelines.

Every row has every column (``None`` where it does not apply), in the order below. Column types
are spelled in a small vocabulary that ``winmigrate.survey.arrow`` maps to Arrow types:
``string``, ``int64``, ``uint64``, ``float64``, ``bool``, ``timestamp`` (UTC; microseconds in
Parquet, ISO 8601 text in JSON Lines), ``list<string>`` and ``list<nic>`` (a list of
``NicFacts`` structs).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, TypedDict

__all__ = [
    "FACTS_COLUMNS",
    "KEYS_COLUMNS",
    "NIC_FIELDS",
    "SCHEMA_VERSION",
    "Column",
    "HiveFacts",
    "KeyRow",
    "NicFacts",
    "clean_text",
]

#: Bumped whenever a column is added, removed or changes meaning; stored in each facts row
#: (``schema``) and in the Parquet files' metadata, so that a resumed run never mixes two
#: schemas in one output.
SCHEMA_VERSION = 1


class Column(NamedTuple):
    """One column: its name, type (see the module docstring) and meaning."""

    name: str
    type: str
    doc: str


class NicFacts(TypedDict):
    """One network adapter's TCP/IP settings (``winmigrate.windows.network.interfaces``)."""

    guid: str
    name: str | None
    description: str | None
    service: str | None
    is_xen: bool
    dhcp: bool
    ipv4: list[str]
    gateways: list[str]
    dns_servers: list[str]
    dns_suffix: str | None
    ipv6: list[str]
    ipv6_dns_servers: list[str]
    mac_override: str | None
    static: bool


NIC_FIELDS: tuple[Column, ...] = (
    Column("guid", "string", "adapter GUID, upper case in braces"),
    Column("name", "string", "connection name (\"Local Area Connection\")"),
    Column("description", "string", "driver description of the adapter"),
    Column("service", "string", "the adapter's driver service (xennet, netkvm, e1iexpress...)"),
    Column("is_xen", "bool", "the adapter is a Xen PV NIC"),
    Column("dhcp", "bool", "IPv4 from DHCP (EnableDHCP)"),
    Column("ipv4", "list<string>", "static IPv4 addresses with prefix length (10.0.0.5/24)"),
    Column("gateways", "list<string>", "IPv4 default gateways"),
    Column("dns_servers", "list<string>", "static DNS servers (IPv4 and IPv6)"),
    Column("dns_suffix", "string", "connection-specific DNS suffix"),
    Column("ipv6", "list<string>", "static IPv6 addresses with prefix length"),
    Column("ipv6_dns_servers", "list<string>", "static IPv6 DNS servers"),
    Column("mac_override", "string", "a MAC address set in the driver's settings"),
    Column("static", "bool", "any setting a fresh adapter would not have (has_static_config)"),
)


class HiveFacts(TypedDict):
    """A facts row (see ``FACTS_COLUMNS`` for each field's meaning)."""

    path: str
    sha256: str | None
    size: int | None
    guest: str | None
    kind: str
    kind_evidence: str | None
    logs: list[str]
    regf_version: str | None
    root_name: str | None
    embedded_name: str | None
    last_written: datetime | None
    state: str | None
    recovery: str | None
    read_mode: str | None
    check_ok: bool | None
    problem_count: int
    problems: list[str]
    notes: list[str]
    keys: int | None
    values: int | None
    error: str | None
    error_type: str | None
    windows_product: str | None
    windows_version: str | None
    windows_build: int | None
    windows_family: str | None
    windows_source: str | None
    architecture: str | None
    architecture_source: str | None
    computer_name: str | None
    control_set_current: str | None
    control_sets_in_use: list[str]
    control_sets_present: list[str]
    xen_found: bool | None
    xen_services: list[str]
    xen_devices: list[str]
    xen_uninstallers: list[str]
    nics: list[NicFacts]
    software: str | None
    convert_ok: bool | None
    convert_blockers: list[str]
    convert_warnings: list[str]
    convert_changes: int | None
    seconds: float
    winmigrate_version: str
    schema: int


FACTS_COLUMNS: tuple[Column, ...] = (
    Column("path", "string", "the hive file, absolute (with sha256, the key for resuming)"),
    Column("sha256", "string", "SHA-256 of the file as found (its logs not included); null "
                               "when it could not be read"),
    Column("size", "int64", "file size in bytes"),
    Column("guest", "string", "the guest's root folder when the file sits in a Windows "
                              "installation (a folder holding Windows\\System32\\config)"),
    Column("kind", "string", "SYSTEM, SOFTWARE, SAM, SECURITY, NTUSER, DEFAULT, UsrClass, "
                             "Amcache, BCD, COMPONENTS, DRIVERS, other; log (a transaction "
                             "log without its primary) or not-a-hive"),
    Column("kind_evidence", "string", "what decided the kind: content, embedded name or file "
                                      "name"),
    Column("logs", "list<string>", "the transaction logs paired with it (file names)"),
    Column("regf_version", "string", "format version, \"1.5\""),
    Column("root_name", "string", "name of the root key"),
    Column("embedded_name", "string", "the file name Windows stored in the base block"),
    Column("last_written", "timestamp", "the base block's last-written time"),
    Column("state", "string", "clean, recovered (dirty, logs replayed) or unrecovered (dirty, "
                              "read as it is on disk)"),
    Column("recovery", "string", "what log recovery did, one line (dirty hives)"),
    Column("read_mode", "string", "strict, or tolerant when a strict read failed (then the "
                                  "problems list what was skipped)"),
    Column("check_ok", "bool", "Windows' load-time checks (Hive.check) found no problem "
                               "(notes aside)"),
    Column("problem_count", "int64", "problems found by the checks and the tolerant read"),
    Column("problems", "list<string>", "the first 20 problems, one line each"),
    Column("notes", "list<string>", "the first 20 notes of the checks: what Windows tolerates "
                                    "or repairs on load, one line each"),
    Column("keys", "int64", "number of keys (counted by the checks)"),
    Column("values", "int64", "number of values"),
    Column("error", "string", "why the file could not be read at all (then most other "
                              "columns are null)"),
    Column("error_type", "string", "the exception's class name"),
    Column("windows_product", "string", "ProductName (SOFTWARE)"),
    Column("windows_version", "string", "major.minor.build (SOFTWARE)"),
    Column("windows_build", "int64", "CurrentBuildNumber (SOFTWARE)"),
    Column("windows_family", "string", "legacy-cdd (Windows 7/2008 R2 and older) or "
                                       "driver-database (8/2012 and later)"),
    Column("windows_source", "string", "SOFTWARE, or SYSTEM when inferred without SOFTWARE"),
    Column("architecture", "string", "x86, x64, arm64, ia64, 64-bit (or the raw text)"),
    Column("architecture_source", "string", "where the architecture was read"),
    Column("computer_name", "string", "ComputerName of the current control set (SYSTEM)"),
    Column("control_set_current", "string", "the ControlSetNNN Select\\Current names"),
    Column("control_sets_in_use", "list<string>", "the control sets Select names"),
    Column("control_sets_present", "list<string>", "every ControlSetNNN key"),
    Column("xen_found", "bool", "anything points at Xen PV drivers (SYSTEM)"),
    Column("xen_services", "list<string>", "known Xen PV services installed"),
    Column("xen_devices", "list<string>", "Xen PV device instances under Enum"),
    Column("xen_uninstallers", "list<string>", "Xen tools in SOFTWARE's Uninstall list"),
    Column("nics", "list<nic>", "network adapters of the current control set (SYSTEM)"),
    Column("software", "string", "the SOFTWARE hive used with this SYSTEM hive (its sibling)"),
    Column("convert_ok", "bool", "the Xen -> KVM conversion could run on it (SYSTEM; null "
                                 "for other kinds)"),
    Column("convert_blockers", "list<string>", "why it could not"),
    Column("convert_warnings", "list<string>", "what to look at before converting"),
    Column("convert_changes", "int64", "number of registry changes the conversion plans"),
    Column("seconds", "float64", "time spent on this hive by the worker"),
    Column("winmigrate_version", "string", "the winmigrate that wrote the row"),
    Column("schema", "int64", "the schema version (SCHEMA_VERSION)"),
)


class KeyRow(TypedDict):
    """A keys row as JSON Lines holds it (see ``KEYS_COLUMNS``)."""

    path: str
    sha256: str | None
    entry: str
    key: str | None
    last_written: str | None
    filetime: int | None
    subkeys: int | None
    values: int | None
    name: str | None
    type: str | None
    type_number: int | None
    size: int | None
    data: str | None
    data_format: str | None
    truncated: bool | None
    message: str | None


KEYS_COLUMNS: tuple[Column, ...] = (
    Column("path", "string", "the hive file, absolute"),
    Column("sha256", "string", "SHA-256 of the hive file"),
    Column("entry", "string", "key, value, or problem (something skipped or unreadable)"),
    Column("key", "string", "key path below the root, backslash-separated (\"\" is the root)"),
    Column("last_written", "timestamp", "the key's last-written time (value rows: their "
                                        "key's); null when not a valid date"),
    Column("filetime", "uint64", "the same as the raw FILETIME (100 ns ticks since 1601)"),
    Column("subkeys", "int64", "key rows: number of subkeys"),
    Column("values", "int64", "key rows: number of values"),
    Column("name", "string", "value rows: the value name (\"\" is the default value)"),
    Column("type", "string", "value rows: REG_SZ, REG_DWORD... or 0x... for other numbers"),
    Column("type_number", "int64", "value rows: the type as stored"),
    Column("size", "int64", "value rows: data length in bytes"),
    Column("data", "string", "value rows: the data as text (see data_format)"),
    Column("data_format", "string", "string, strings (REG_MULTI_SZ, one per line), integer "
                                    "(decimal) or hex (everything else)"),
    Column("truncated", "bool", "value rows: data cut at --max-data bytes (then hex)"),
    Column("message", "string", "problem rows: what was wrong"),
)


def clean_text(text: str) -> str:
    """``text`` without lone UTF-16 surrogates (each becomes U+FFFD), so that it can be written
    as UTF-8: JSON Lines and Parquet both need valid Unicode. Other characters, NUL and
    control characters included, are kept."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
