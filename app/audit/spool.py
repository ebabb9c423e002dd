"""Durable local spool for audit entries the database could not take (yet).

Layout of the spool directory:

- ``<time_ns>-<pid>-<seq>.jsonl``: segments, one :meth:`AuditEntry.to_json` line per entry.
  A segment is created under a ``.tmp`` name, locked (``flock``) and only then renamed, so a
  replayer never sees a segment a writer has not locked yet (atomic rotation). Every append is
  written, flushed and ``os.fsync``-ed before it returns; after a failed write the segment is
  abandoned, so a partial line can only ever be the last one of a segment.
- ``rejected/<segment>.jsonl``: lines that cannot be replayed (a corrupt or truncated line, or an
  entry the database refuses for good), with the reason. Kept for an operator, never deleted.

A writer holds an exclusive ``flock`` on its open segment, so replay (which needs the same lock
without waiting) skips it, also across processes sharing the directory; a lock dies with its
process, so segments of a crashed process become replayable. A segment is deleted only after
every entry in it was committed; a crash in between replays it again (inserts are idempotent).
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from app.audit.entry import AuditEntry

log = logging.getLogger("vcf_cds.audit")

SEGMENT_GLOB = "*.jsonl"
TMP_SUFFIX = ".tmp"


class Spool:
    """Append-only JSON-lines segments in ``directory`` (thread-safe)."""

    def __init__(self, directory: Path, *, max_segment_entries: int = 1000) -> None:
        self.directory = Path(directory)
        self.rejected_dir = self.directory / "rejected"
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        self._max_entries = max_segment_entries
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._entries = 0
        self._seq = itertools.count()
        self.rejected = 0  # lines moved to rejected/ by this process
        self._counts: dict[str, tuple[int, int]] = {}  # segment name -> (size, newlines)
        self._remove_stale_tmp()

    # ------------------------------------------------------------------ writing

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Durably append ``entries`` (one fsync). Raises ``OSError`` when the disk fails."""
        if not entries:
            return
        data = "".join(e.to_json() + "\n" for e in entries).encode("utf-8")
        with self._lock:
            file = self._file or self._open_segment()
            try:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            except OSError:
                self._close_segment()  # never append behind a partial line
                raise
            self._entries += len(entries)
            if self._entries >= self._max_entries:
                self._close_segment()

    def seal(self) -> None:
        """Close the open segment so replay can take it."""
        with self._lock:
            self._close_segment()

    def close(self) -> None:
        self.seal()

    # ------------------------------------------------------------------ reading

    def segments(self) -> list[Path]:
        """Segment files, oldest first."""
        return sorted(self.directory.glob(SEGMENT_GLOB))

    def depth(self) -> int:
        """Complete entries waiting in segments (open ones included). Counts are cached per
        segment and size, so a large spool is not re-read on every call."""
        counts: dict[str, tuple[int, int]] = {}
        for path in self.segments():
            try:
                size = path.stat().st_size
                cached = self._counts.get(path.name)
                if cached is None or cached[0] != size:
                    cached = (size, path.read_bytes()[:size].count(b"\n"))
            except FileNotFoundError:
                continue
            counts[path.name] = cached
        self._counts = counts
        return sum(count for _, count in counts.values())

    def replay(self, commit: Callable[[list[AuditEntry]], None], batch_size: int = 200) -> int:
        """Commit every unlocked segment, oldest first, in batches; delete a segment once all of
        it is committed. An exception from ``commit`` stops the replay and propagates; the
        segment stays. Returns the number of entries committed."""
        done = 0
        for path in self.segments():
            try:
                file = path.open("rb")
            except FileNotFoundError:
                continue
            with file:
                if not _try_lock(file) or os.fstat(file.fileno()).st_nlink == 0:
                    continue  # being written, or already replayed and deleted by someone else
                entries, bad = _parse(file.read())
                for start in range(0, len(entries), batch_size):
                    commit(entries[start : start + batch_size])
                for text, reason in bad:  # only now: a failed commit would repeat them
                    self.reject(path.stem, text, reason)
                path.unlink(missing_ok=True)
                done += len(entries)
        return done

    def reject(self, source: str, line: str, reason: str) -> None:
        """Keep an unreplayable line in ``rejected/`` with its reason (fsynced)."""
        record = json.dumps({"reason": reason, "line": line}, ensure_ascii=False) + "\n"
        target = self.rejected_dir / f"{source}.jsonl"
        with self._lock, target.open("ab") as file:
            file.write(record.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
            self.rejected += 1
        log.error("audit spool: rejected a line of %s (%s); kept in %s", source, reason, target)

    # ------------------------------------------------------------------ internals

    def _open_segment(self) -> BinaryIO:
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):06d}.jsonl"
        final = self.directory / name
        tmp = final.with_name(name + TMP_SUFFIX)
        file = tmp.open("xb")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            os.replace(tmp, final)
            _fsync_dir(self.directory)
        except OSError:
            file.close()
            tmp.unlink(missing_ok=True)
            raise
        self._file, self._entries = file, 0
        return file

    def _close_segment(self) -> None:
        if self._file is not None:
            try:
                self._file.close()  # releases the lock
            except OSError:
                log.exception("audit spool: closing a segment failed")
            self._file = None

    def _remove_stale_tmp(self) -> None:
        """``.tmp`` files are empty by construction; unlocked ones belong to dead processes."""
        for path in self.directory.glob("*" + TMP_SUFFIX):
            try:
                with path.open("rb") as file:
                    if _try_lock(file):
                        path.unlink(missing_ok=True)
            except OSError:
                continue


def _parse(data: bytes) -> tuple[list[AuditEntry], list[tuple[str, str]]]:
    """Entries of a segment, and the (line, reason) pairs that are not entries. Lines are split
    on newline bytes only (U+2028, which ``str.splitlines`` splits on, may occur in an entry)."""
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the segment ends with a newline
    entries: list[AuditEntry] = []
    bad: list[tuple[str, str]] = []
    for raw in lines:
        if not raw.strip():
            continue
        text = raw.decode("utf-8", errors="replace")
        try:
            entries.append(AuditEntry.from_json(text))
        except (ValueError, TypeError, KeyError) as exc:
            bad.append((text, f"corrupt line ({type(exc).__name__})"))
    if tail.strip():
        bad.append(
            (tail.decode("utf-8", errors="replace"), "truncated last line (interrupted write)")
        )
    return entries, bad


def _try_lock(file: BinaryIO) -> bool:
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
