"""Transaction log replay: deciding which of a hive's logs Windows would apply, and replaying
them into a copy of the image.

The layouts and the mechanics of one log live in ``winmigrate.regf.logfile``; this module holds
the I/O (reading the sibling files) and the policy (the rules of msuhanov/regf's "Dirty state of a
hive" and "Multiple transaction log files", cross-checked with yarp). Files on disk are never
modified by a replay: the result is a new ``bytearray``. See ``docs/logs.md`` for the design.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ...errors import HiveFormatError, LogReplayError
from ...regf import layout as L
from ...regf.baseblock import checksum
from .paths import find_logs
from .report import LogFileReport, RecoveryReport, Rejection

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from collections.abc import Sequence

    from ...regf.logfile import LogHeader

    Buffer = bytes | bytearray | memoryview | mmap.mmap

__all__ = ["MAX_BINS_SIZE", "MAX_LOG_SIZE", "log_sequence_floor", "recover", "recover_file"]

_BASE = L.BASE_BLOCK_SIZE
#: Windows refuses hives of 2 GiB and more; no replay grows an image past this.
MAX_BINS_SIZE = 0x7FFFF000
#: A log larger than this is not read (real ones are kilobytes to tens of megabytes).
MAX_LOG_SIZE = 1 << 30
#: Growth allowance on top of the primary and its logs (see ``_bins_limit``).


# -- discovery ----------------------------------------------------------------------------------


def _role_of(path: str) -> str:
    upper = os.path.basename(path).upper()
    for role in ("LOG1", "LOG2", "LOG"):
        if upper.endswith("." + role):
            return role
    return "LOG"


# -- detection ----------------------------------------------------------------------------------


# -- replay -------------------------------------------------------------------------------------


@dataclass
class _Log:
    """A log file as read: its bytes, its header when valid, and what happened to it."""

    path: str
    role: str
    size: int
    data: bytes = b""
    header: LogHeader | None = None
    problem: Rejection | None = None
    used: bool = False
    entries: list[int] = field(default_factory=list)
    pages: int = 0
    nbytes: int = 0
    end: str | None = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def report(self) -> LogFileReport:
        h = self.header
        return LogFileReport(self.path, self.role, self.size, h.format if h else None,
                             h.sequence if h else None, h.timestamp if h else None, self.used,
                             tuple(self.entries), self.pages, self.nbytes, self.end)


@dataclass
class _Primary:
    valid: bool  # signature and checksum right
    dirty: bool
    seq1: int
    seq2: int
    timestamp: int
    bins_size: int
    first_bin_timestamp: int | None


def _read_primary(buf: Buffer, source: str) -> _Primary:
    from ...regf.logfile import first_bin_timestamp

    if len(buf) < 512:
        raise HiveFormatError(f"file is {len(buf)} bytes, too short for a base block (4096)", 0,
                              source=source)
    head = bytes(buf[:512])
    u32 = L.U32.unpack_from
    valid = head[:4] == L.REGF_SIGNATURE and u32(head, L.CHECKSUM_OFFSET)[0] == checksum(head)
    s1, s2 = u32(head, 4)[0], u32(head, 8)[0]
    ts = int(L.U64.unpack_from(head, 12)[0])
    bins = u32(head, 40)[0]
    return _Primary(valid, not valid or s1 != s2, s1, s2, ts, bins,
                    first_bin_timestamp(bytes(buf[:_BASE + 32])))


def _load_logs(paths: Sequence[str]) -> list[_Log]:
    from ...regf.logfile import parse_log_header

    out: list[_Log] = []
    for path in paths:
        name = os.path.basename(path)
        role = _role_of(path)
        try:
            size = os.path.getsize(path)
        except OSError as e:
            log = _Log(path, role, 0)
            log.problem = Rejection(name, None, f"cannot read: {e.strerror}", "invalid")
            out.append(log)
            continue
        log = _Log(path, role, size)
        out.append(log)
        if size > MAX_LOG_SIZE:
            log.problem = Rejection(name, None, f"{size} bytes is more than any real log "
                                                f"({MAX_LOG_SIZE}); not read", "invalid")
            continue
        try:
            with open(path, "rb") as f:
                log.data = f.read(size)  # only what was checked: a read never reserves more
        except OSError as e:
            log.problem = Rejection(name, None, f"cannot read: {e.strerror}", "invalid")
            continue
        log.size = len(log.data)
        try:
            log.header = parse_log_header(log.data, source=name)
        except HiveFormatError as e:
            log.problem = Rejection(name, e.offset, e.message,
                                    "empty" if log.size == 0 else "invalid")
    return out


def _bins_limit(primary_len: int, logs: Sequence[_Log]) -> int:
    """The largest hive bins size a replay may grow the image to. Every byte of a grown area comes
    from dirty pages in the logs (Windows logs a new bin whole), so the primary plus twice what
    the logs hold bounds any genuine growth -- with no slack beyond that, a few kilobytes of
    crafted log cannot make the replay allocate megabytes; 2 GiB bounds everything."""
    budget = primary_len + 2 * sum(log.size for log in logs)
    return min(MAX_BINS_SIZE, budget & ~0xFFF)


def _floor(logs: Sequence[_Log], limit: int) -> int:
    """The highest sequence number in any valid log base block or in the run of structurally
    valid entries that follows one (hashes not checked: a cheap scan of headers)."""
    from ...regf.logfile import FORMAT_NEW, scan_entries

    top = 0
    for log in logs:
        h = log.header
        if h is None:
            continue
        top = max(top, h.sequence)
        if h.format == FORMAT_NEW:
            scan = scan_entries(log.data, h.sequence, max_bins_size=limit, verify=False)
            for entry in scan.entries:
                top = max(top, entry.sequence)
    return top


def log_sequence_floor(primary_path: str | os.PathLike[str],
                       logs: str | Sequence[str] = "auto") -> int:
    """The highest sequence number found in the logs of ``primary_path`` (``0`` when there are
    none): a cheap read of their base blocks and entry headers, for a hive whose primary is clean
    but whose saves must still be numbered past any stale log entry next to it."""
    paths = find_logs(primary_path) if logs == "auto" else (
        [] if isinstance(logs, str) else list(logs))
    loaded = _load_logs(paths)
    try:
        primary_len = os.path.getsize(primary_path)
    except OSError:
        primary_len = 0
    return _floor(loaded, _bins_limit(primary_len, loaded))


def recover(buf: Buffer, path: str | os.PathLike[str], logs: str | Sequence[str], *,
            writable: bool) -> tuple[Buffer, RecoveryReport]:
    """Replay the transaction logs of the primary whose bytes are ``buf`` (read from ``path``)
    into a copy, the way Windows would at load time.

    ``logs`` is ``"auto"`` (the sibling ``.LOG``/``.LOG1``/``.LOG2`` files), ``"require"`` (the
    same, but raise ``LogReplayError`` when the primary is dirty and nothing applies) or a
    list of log paths. Returns ``(image, report)``: a new ``bytearray`` whose base block is clean
    when something was applied, else ``buf`` itself. Files are never modified."""
    fspath = os.fspath(path)
    source = os.path.basename(fspath)
    primary = _read_primary(buf, source)
    if isinstance(logs, str):
        if logs not in ("auto", "require"):
            raise LogReplayError(f"logs={logs!r}: expected 'auto', 'ignore', 'require' or a list")
        paths = find_logs(fspath)
    else:
        paths = [os.fspath(p) for p in logs]
    loaded = _load_logs(paths)
    limit = _bins_limit(len(buf), loaded)
    floor = _floor(loaded, limit)
    if primary.valid:
        # The primary's own numbers too: a write may have started (sequence 1 bumped) past the
        # last entry that reached the logs, and a save must still number itself past it.
        floor = max(floor, primary.seq1, primary.seq2)
    rejected: list[Rejection] = [log.problem for log in loaded
                                 if log.problem is not None and log.problem.kind != "empty"]
    reports = tuple(log.report() for log in loaded)

    def make(dirty: bool, applied: bool, **more: object) -> RecoveryReport:
        return RecoveryReport(
            dirty, applied, applied, floor, primary=source,
            primary_sequence=(primary.seq1, primary.seq2), primary_base_block_valid=primary.valid,
            bins_size_before=primary.bins_size, logs=reports, rejected=tuple(rejected),
            **more)  # type: ignore[arg-type]

    if not primary.dirty:
        # "If a hive isn't dirty, but a transaction log file (new format) contains subsequent log
        # entries, they are ignored" (spec, "Dirty state of a hive"); old logs likewise.
        note = ("the primary is clean: Windows ignores its logs, and so does winmigrate"
                if loaded else "the primary is clean")
        return buf, make(False, False, notes=(note,))

    from ...regf.logfile import FORMAT_NEW

    notes: list[str] = []
    order: list[int] = []
    new_logs = [log for log in loaded if log.header is not None and log.header.format == FORMAT_NEW]
    old_logs = [log for log in loaded if log.header is not None and log.header.format != FORMAT_NEW]
    outcome = None
    image = bytearray(buf) if new_logs or old_logs else bytearray()
    if new_logs:
        # Windows 8.1+ writes only new-format logs; an old-format file next to them is a left-over
        # (e.g. the dummy .LOG of an installation image), so the new format is preferred (as yarp).
        outcome = _replay_new(image, primary, new_logs, limit, rejected, notes, order)
        for log in old_logs:
            assert log.header is not None
            rejected.append(Rejection(log.name, None, "old-format log next to new-format ones: "
                                      "not used", "unused", log.header.sequence))
    elif old_logs:
        outcome = _replay_old(image, buf, primary, old_logs, limit, rejected, notes)
    elif not loaded:
        notes.append("no logs were given" if isinstance(logs, (list, tuple)) else
                     "no transaction logs were found next to the primary")
    fmt = "new" if new_logs else ("old" if old_logs else None)
    reports = tuple(log.report() for log in loaded)
    if outcome is None:
        if not primary.valid and bytes(buf[:4]) != L.REGF_SIGNATURE:
            raise HiveFormatError(
                f"not a registry hive: signature {bytes(buf[:4])!r}, expected b'regf' (and no "
                "transaction log holds a valid copy of its base block)", 0, source=source)
        report = make(True, False, format=fmt, notes=tuple(notes))
        if logs == "require":
            raise LogReplayError(f"{source}: the hive is dirty and no transaction log could be "
                                 f"applied: {report.summary()}; open with logs='ignore' to read "
                                 "the primary as it is (it cannot then be saved)")
        return buf, report
    final_sequence, bins_after, base_from = outcome
    floor = max(floor, final_sequence)
    return image, make(True, True, format=fmt, final_sequence=final_sequence,
                       bins_size_after=bins_after, base_block_from=base_from,
                       notes=tuple(notes), applied_order=tuple(order))


def _replay_new(image: bytearray, primary: _Primary, logs: list[_Log], limit: int,
                rejected: list[Rejection], notes: list[str],
                order: list[int]) -> tuple[int, int, str | None] | None:
    """New-format recovery (spec, "Log entries" notes 5-9 and "Multiple transaction log files",
    new format). Returns ``(final sequence, hive bins size, base block source)`` or ``None``."""
    from ...regf.logfile import apply_entry, finish_base_block, scan_entries, serial_less

    def seq_of(log: _Log) -> int:
        assert log.header is not None
        return log.header.sequence

    # Older log first: the log files are swapped regularly, so LOG1 need not hold the earlier
    # entries; compare the base blocks' sequence numbers (in serial order, they wrap).
    ordered = sorted(logs, key=lambda lg: seq_of(lg))
    if len(ordered) > 1 and serial_less(seq_of(ordered[-1]), seq_of(ordered[0])):
        ordered.reverse()  # the numbers wrapped around 2**32 between the two logs
    base_from = None
    if not primary.valid:
        # "If a primary file contains an invalid base block, only the transaction log file with
        # latest log entries is used in the recovery", and the base block comes from it.
        latest = ordered[-1]
        for log in ordered[:-1]:
            rejected.append(Rejection(log.name, None, "the primary's base block is invalid, so "
                                      "only the log with the latest entries is used", "unused",
                                      seq_of(log)))
        ordered = [latest]
        image[:512] = latest.data[:512]
        base_from = latest.name
        notes.append(f"the primary's base block is invalid; it was taken from {latest.name}")
    expected: int | None = None
    last: tuple[int, int, int] | None = None  # sequence, bins size, flags of the last entry
    for log in ordered:
        start = seq_of(log)
        if expected is None:
            if primary.valid and serial_less(start, primary.seq2):
                # Its entries predate the primary's last completed write: already in the primary.
                rejected.append(Rejection(
                    log.name, 512, f"its entries start at sequence {start}, before the primary's "
                    f"secondary sequence {primary.seq2}: already in the primary", "stale", start))
                continue
            expected = start
        elif start != expected:
            # "the first log entry of the next transaction log file is expected to have a
            # sequence number equal to N + 1"
            rejected.append(Rejection(log.name, 512, f"gap in sequence: this log starts at "
                                      f"{start}, the next entry needed is {expected}", "gap",
                                      start))
            break
        scan = scan_entries(log.data, start, max_bins_size=limit)
        for entry in scan.entries:
            apply_entry(image, entry, log.data)
            log.entries.append(entry.sequence)
            order.append(entry.sequence)
            log.pages += len(entry.pages)
            log.nbytes += sum(p[1] for p in entry.pages)
            last = (entry.sequence, entry.bins_size, entry.flags)
        log.used = bool(scan.entries)
        log.end = f"0x{scan.stop_offset:x}: {scan.stop_reason}"
        if scan.stop_kind == "invalid":
            rejected.append(Rejection(log.name, scan.stop_offset, scan.stop_reason, "invalid"))
        if scan.entries:
            expected = (scan.entries[-1].sequence + 1) & 0xFFFFFFFF
        # An empty run leaves ``expected`` at this log's start, so a later log cannot skip it.
    if last is None:
        if base_from is not None:
            notes.append("no entry of that log could be applied")
        return None
    sequence, bins_size, flags = last
    finish_base_block(image, sequence=sequence, bins_size=bins_size, ktm_locked=bool(flags & 1))
    return sequence, bins_size, base_from


def _replay_old(image: bytearray, original: Buffer, primary: _Primary, logs: list[_Log],
                limit: int, rejected: list[Rejection],
                notes: list[str]) -> tuple[int, int, str | None] | None:
    """Old-format recovery: pick the one log Windows 8 would use (spec, "Multiple transaction log
    files", old format), replay its dirty pages, stop at the first invalid dirty bin."""
    from ...regf.logfile import apply_old_log, finish_base_block, parse_old_log

    by_role: dict[str, _Log] = {}
    for log in logs:
        if log.role in by_role:
            rejected.append(Rejection(log.name, None, f"a second {log.role} file: not used",
                                      "unused"))
        else:
            by_role[log.role] = log
    ref: int | None
    if primary.valid:
        ref, what = primary.timestamp, "the primary's last-written time"
    else:
        # With an invalid base block the first bin's timestamp stands in for it (base block
        # note 3). That copy is refreshed by completed writes only, so a log of the interrupted
        # write is newer: accept a log at least as new (yarp does the same; the spec's "equal"
        # would never recover the case yarp's BadBaseBlockHive captures).
        ref, what = primary.first_bin_timestamp, "the first hive bin's timestamp"

    def applicable(log: _Log) -> bool:
        assert log.header is not None
        if ref is None:
            return True
        return log.header.timestamp == ref if primary.valid else log.header.timestamp >= ref

    def mismatch(log: _Log) -> Rejection:
        assert log.header is not None
        return Rejection(log.name, 12, f"last-written time 0x{log.header.timestamp:x} does not "
                         f"match {what} (0x{ref or 0:x}): the log belongs to another write",
                         "not-applicable", log.header.sequence)

    log1, log2, log0 = by_role.get("LOG1"), by_role.get("LOG2"), by_role.get("LOG")
    chosen: _Log | None = None
    if log1 is not None and applicable(log1):
        chosen = log1
    elif log2 is not None and log2.header is not None and (
            log1 is None or log1.header is None or log2.header.timestamp > log1.header.timestamp
    ) and (ref is None or log2.header.timestamp >= ref):
        # Windows 8 (and Windows 7 since KB3140410): when LOG1 is unusable, LOG2, the cumulative
        # log of a failed write, is used if it is more recent, even without a matching time. We
        # also require it to be no older than the primary (our own conservative addition).
        chosen = log2
        if log1 is not None:
            rejected.append(mismatch(log1))
    elif log0 is not None and applicable(log0):
        chosen = log0  # the single-log scheme (Windows XP/2003: only NAME.LOG)
    if chosen is None:
        for candidate in (log1, log2, log0):
            if candidate is not None:
                rejected.append(mismatch(candidate))
        return None
    for other in (log1, log2, log0):
        if other is not None and other is not chosen and not any(r.file == other.name
                                                                  for r in rejected):
            rejected.append(Rejection(other.name, None, f"{chosen.name} is the log Windows uses",
                                      "unused"))
    header = chosen.header
    assert header is not None
    try:
        parsed = parse_old_log(chosen.data, header, source=chosen.name, max_bins_size=limit)
    except HiveFormatError as e:
        rejected.append(Rejection(chosen.name, e.offset, e.message, "invalid", header.sequence))
        return None
    base_from = None
    if not primary.valid:
        # "If a base block of a primary file has a wrong Checksum, it is being recovered using a
        # base block from a transaction log file (and the File type field is set back to 0)."
        image[:512] = chosen.data[:512]
        base_from = chosen.name
        notes.append(f"the primary's base block is invalid; it was taken from {chosen.name}")
    result = apply_old_log(image, original, parsed, chosen.data)
    chosen.used = True
    chosen.pages = result.pages_applied
    chosen.nbytes = result.pages_applied * 512
    if result.stop_offset is not None:
        rejected.append(Rejection(chosen.name, parsed.pages_offset, f"recovery stopped: "
                                  f"{result.stop_reason}; {result.pages_rejected} dirty pages from "
                                  "there on were not applied", "invalid", header.sequence))
    if result.pages_applied == 0 and parsed.page_count > 0:
        chosen.used = False
        return None
    bins_size = header.bins_size
    if result.stop_offset is not None:
        # Bins past the stop point were not brought up to date: keep what the primary had, and
        # never claim bins that no page filled.
        keep = primary.bins_size if primary.valid else 0
        bins_size = min(bins_size, max(result.stop_offset, keep))
    # Vista+ writes the same sequence numbers to the log and the primary, XP the primary's one
    # higher (base block note 5): take the larger so the numbering only moves forward.
    sequence = max(header.sequence, primary.seq1) if primary.valid else header.sequence
    finish_base_block(image, sequence=sequence, bins_size=bins_size)
    return sequence, bins_size, base_from


def recover_file(path: str | os.PathLike[str], logs: str | Sequence[str] = "auto"
                 ) -> tuple[bytes | bytearray, RecoveryReport]:
    """Read the primary at ``path`` and run ``recover`` on it (a clean primary comes back
    as it is, with a report). For tools that want the consolidated image itself."""
    fspath = os.fspath(path)
    from ...errors import HiveFileError

    try:
        with open(fspath, "rb") as f:
            data = f.read()
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot open hive: {e.strerror}", fspath) from None
    if isinstance(logs, str) and logs not in ("auto", "require"):
        raise LogReplayError(f"logs={logs!r}: expected 'auto', 'require' or a list of paths")
    image, report = recover(data, fspath, logs, writable=False)
    return bytes(image) if not isinstance(image, (bytes, bytearray)) else image, report

