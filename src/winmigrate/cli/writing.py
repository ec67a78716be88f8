"""What the commands that change a hive share: opening it for writing, saving it, dry runs,
writing output files atomically, and reading user-typed key paths."""

from __future__ import annotations

import argparse
import os
import sys
from typing import BinaryIO

from ..errors import WinmigrateError
from ..hive.files import create_temporary, fsync_folder
from .common import (
    OPENED,
    logs_argument,
    note,
    open_hive,
    warn,
    warn_if_dirty,
)
from .failures import Parser

__all__ = ["AtomicOutput", "CommandError", "add_write_options", "intermixed", "memory_copy",
           "note", "open_for_write", "open_input", "print_summary", "resolve_or_create", "save",
           "summary_line", "warn"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import BinaryIO

    from ..hive import Hive, Key


class CommandError(WinmigrateError):
    """The command refused its input (exit code 1): e.g. ``rm`` of a key with subkeys without
    ``--recursive``. Not a usage error: the command line itself was well formed."""


def add_write_options(p: argparse.ArgumentParser, *, logs: bool = True,
                      force: bool = True) -> None:
    """The options every command that changes a hive shares (docs/cli.md, "Conventions")."""
    p.add_argument("--dry-run", "-n", action="store_true",
                   help="show what would change, with the same summary; the hive is only read")
    backup = p.add_mutually_exclusive_group()
    backup.add_argument("--no-backup", action="store_true",
                        help="do not keep the previous file as HIVE.bak (and its logs as "
                             "HIVE.LOG1.bak ...), which every real run does by default")
    # The default since 0.4; still accepted so that scripts written for 0.3 keep working.
    backup.add_argument("--backup", action="store_true", help=argparse.SUPPRESS)
    if force:
        p.add_argument("--force", action="store_true",
                       help="change the hive even if its file is read-only (no write permission "
                            "bit), which is otherwise refused, even for root")
    if logs:
        # No --log FILE: the in-place save consolidates a dirty file with the logs next to it.
        p.add_argument("--logs", choices=("auto", "require"), default="auto",
                       help="transaction logs of a dirty hive: replay them first (auto, the "
                            "default), or fail if none can be applied (require)")


def open_for_write(path: str, args: argparse.Namespace) -> Hive:
    """The hive opened writable (read into memory, exclusively locked) -- or, for ``--dry-run``,
    a writable copy in memory (the file is only read) -- to be saved with ``save``. A read-only
    file is refused unless ``--force``."""
    if getattr(args, "dry_run", False):
        return memory_copy(path, args)
    return open_hive(path, writable=True, args=args)


def save(hive: Hive, args: argparse.Namespace) -> None:
    """Save the changes, keeping ``HIVE.bak`` unless ``--no-backup`` (nothing for a dry run)."""
    if not getattr(args, "dry_run", False):
        hive.save(backup=not getattr(args, "no_backup", False))


def summary_line(paths: Sequence[str], count: int, args: argparse.Namespace) -> str:
    """The closing line every writing command prints on stderr: the same count for a dry run
    as for a real run."""
    where = " and ".join(paths)
    changes = f"{count} change{'' if count == 1 else 's'}"
    if getattr(args, "dry_run", False):
        return f"winmigrate: dry run: {changes}; {where} {'was' if len(paths) == 1 else 'were'} " \
               "not modified"
    if not count:
        return f"winmigrate: no change; {where} {'was' if len(paths) == 1 else 'were'} not " \
               "modified"
    kept = "" if getattr(args, "no_backup", False) else \
        f" (previous {'file' if len(paths) == 1 else 'files'} kept as " \
        f"{', '.join(p + '.bak' for p in paths)})"
    return f"winmigrate: {changes} written to {where}{kept}"


def print_summary(paths: Sequence[str], count: int, args: argparse.Namespace) -> None:
    if not getattr(args, "json", False):  # the JSON on stdout says as much
        print(summary_line(paths, count, args), file=sys.stderr)


def memory_copy(path: str, args: argparse.Namespace) -> Hive:
    """A writable in-memory copy of the hive at ``path`` (its logs replayed, as a writable open
    would), for dry runs: the file is only read, so no write permission is needed."""
    from ..hive import Hive
    from ..hive.logs import recover_file

    logs = logs_argument(args)
    OPENED.append((path, None))
    data, report = recover_file(path, logs)
    if report.primary_dirty and not report.applied:
        # As the read-only dry runs do: the plan is made on the primary file as it is, and a
        # real run will refuse. The copy is marked clean so that it can be changed in memory.
        warn_if_dirty(path, report, logs, args)
        data = _marked_clean(data)
    return Hive.from_bytes(data, writable=True)


def _marked_clean(data: bytes | bytearray) -> bytearray:
    from ..regf.baseblock import checksum

    image = bytearray(data)
    image[8:12] = image[4:8]  # secondary sequence = primary
    image[508:512] = checksum(image).to_bytes(4, "little")
    return image


def resolve_or_create(hive: Hive, path: str) -> tuple[Key, list[str]]:
    """The key at ``path`` (``CurrentControlSet`` resolved), creating what is missing below the
    deepest existing ancestor; returns it and the paths of the keys created."""
    parts = [p for p in path.split("\\") if p]
    for i in range(len(parts), -1, -1):
        found = hive.get_key("\\".join(parts[:i]))
        if found is not None:
            break
    else:  # pragma: no cover - the root always exists
        raise AssertionError
    key = found
    created = []
    for part in parts[i:]:
        key = key.create_key(part)
        created.append(key.path)
    return key, created


class AtomicOutput:
    """``with AtomicOutput(path) as f: f.write(...)`` -- written to a temporary file beside
    ``path`` and renamed over it only when the block succeeds; ``-`` is standard output."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._tmp: str | None = None
        self._file: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if self.path == "-":
            return sys.stdout.buffer
        target = self.path
        if os.path.isdir(target):
            raise IsADirectoryError(21, f"cannot write {target}: it is a directory", target)
        folder = os.path.dirname(os.path.abspath(target))
        try:
            fd, self._tmp = create_temporary(folder, os.path.basename(target))
        except OSError as e:
            raise OSError(e.errno, f"cannot write {target}: {e.strerror}", target) from None
        self._file = os.fdopen(fd, "wb")
        return self._file

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self._file is None or self._tmp is None:
            if self.path == "-":
                sys.stdout.buffer.flush()
            return
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                os.chmod(self._tmp, 0o666 & ~_umask())
                os.replace(self._tmp, self.path)
                self._tmp = None
                fsync_folder(os.path.dirname(os.path.abspath(self.path)))
        except OSError as e:
            raise OSError(e.errno, f"cannot write {self.path}: {e.strerror}",
                          self.path) from None
        finally:
            if self._tmp is not None:
                try:
                    os.unlink(self._tmp)
                except OSError:
                    pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def open_input(path: str) -> BinaryIO:
    """A binary stream of an input file, or of standard input for ``-``."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except IsADirectoryError:
        raise IsADirectoryError(21, f"cannot read {path}: it is a directory", path) from None
    except OSError as e:
        raise OSError(e.errno, f"cannot read {path}: {e.strerror}", path) from None


class IntermixedParser(Parser):
    """A (sub)parser whose options may come between and after its positional arguments:
    ``set HIVE PATH NAME --type REG_DWORD 0`` or ``export HIVE -o x.reg PATH``. Plain argparse
    assigns a ``*``/``?`` positional as soon as it meets the first option, and then rejects the
    words after it."""

    _intermixing = False

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None,
                         ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing:  # the two passes of parse_known_intermixed_args
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def intermixed(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let ``parser`` (made by ``add_parser``) take options anywhere among its positionals."""
    parser.__class__ = IntermixedParser
    return parser
