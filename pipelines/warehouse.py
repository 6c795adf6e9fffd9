"""The DuckDB warehouse file: one writer at a time, opened once, failing in one line.

**One writer.** DuckDB itself allows one writing process per file, but it only says so when a second
process opens the file — after that process has fetched everything and is about to land it. So every
run that writes the warehouse (``btc-signals run``, and every run the UI, a schedule or a sensor
launches, through the resources of ``pipelines/resources.py``) first takes an OS file lock beside it,
``<warehouse>.lock`` (``fcntl.flock``, exclusive, non-blocking). The holder writes who it is into the
file (PID, command, Dagster run id, since when), so a refused run can name it. The kernel drops the lock
when the holder's process ends, however it ends (a SIGKILL included): there is no stale lock to clear.
Within one process the lock is re-entrant (the CLI holds it for its two runs; the resources of those
runs take it again).

**Fail fast.** ``dagster_duckdb.DuckDBResource`` retries a failed open ten times with backoff (about
100 s per asset). A locked, read-only or missing warehouse does not heal in 100 s, so
:func:`open_warehouse` opens once and turns DuckDB's error into :class:`WarehouseError`, one line that
says what and where.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written now; the message is the whole story, in one line."""


class WarehouseBusy(WarehouseError):
    """Another run holds the warehouse's writer lock."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def describe_holder(info: dict[str, Any]) -> str:
    parts = [f"PID {info['pid']}" if info.get("pid") else None]
    if info.get("host") and info["host"] != socket.gethostname():
        parts.append(f"on {info['host']}")
    if info.get("run_id"):
        parts.append(f"Dagster run {info['run_id']}")
    if info.get("since"):
        parts.append(f"since {info['since']}")
    what = info.get("command") or "another run"
    detail = ", ".join(p for p in parts if p)
    return f"{what} ({detail})" if detail else what


def read_holder(db_path: Path) -> dict[str, Any]:
    """What the current (or last) holder wrote into the lock file; {} if nothing readable."""
    try:
        text = lock_path(db_path).read_text()
        return json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}


class _Held:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.count = 0
        self.info: dict[str, Any] = {}


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


class WarehouseLock:
    """The writer lock of one warehouse file. ``acquire`` refuses at once (:class:`WarehouseBusy`,
    naming the holder) if another process holds it; re-entrant within a process."""

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(os.path.realpath(db_path))  # one lock per file, however the path is spelt
        self.path = lock_path(self.db_path)
        self._acquired = False

    def acquire(self, *, command: str | None = None, run_id: str | None = None) -> WarehouseLock:
        with _GUARD:
            key = str(self.path)
            held = _HELD.get(key)
            if held is None:
                held = _HELD[key] = self._lock_file()
                held.info = {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": command or _this_command(),
                    "since": datetime.now(tz=UTC).isoformat(timespec="seconds"),
                }
            if run_id and held.info.get("run_id") != run_id:
                held.info["run_id"] = run_id
            self._write(held)
            held.count += 1
            self._acquired = True
        return self

    def _lock_file(self) -> _Held:
        if not self.db_path.parent.is_dir():
            raise WarehouseError(f"warehouse {self.db_path}: directory {self.db_path.parent} does not exist")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise WarehouseError(
                f"warehouse {self.db_path}: cannot create its lock file {self.path.name} ({exc.strerror}); "
                "is the directory read-only?"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WarehouseBusy(
                f"warehouse {self.db_path} is being written by {describe_holder(read_holder(self.db_path))}: "
                "refused; run again when it has finished"
            ) from None
        return _Held(fd)

    @staticmethod
    def _write(held: _Held) -> None:
        data = json.dumps(held.info).encode()
        os.ftruncate(held.fd, 0)
        os.pwrite(held.fd, data, 0)

    def release(self) -> None:
        if not self._acquired:
            return
        with _GUARD:
            self._acquired = False
            held = _HELD[str(self.path)]
            held.count -= 1
            if held.count == 0:
                os.ftruncate(held.fd, 0)  # the description is only true while held
                fcntl.flock(held.fd, fcntl.LOCK_UN)
                os.close(held.fd)
                del _HELD[str(self.path)]

    def __enter__(self) -> WarehouseLock:
        return self if self._acquired else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _this_command() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return " ".join([name, *sys.argv[1:3]])


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>\S+) \(PID (?P<pid>\d+)\)")


def explain_open_error(db_path: Path | str, exc: BaseException) -> str:
    """DuckDB's open error as one line that says what and where."""
    path = Path(db_path)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if m := _LOCK_HOLDER.search(text):
        return (f"warehouse {path} is locked by another process ({Path(m['exe']).name}, PID {m['pid']}): "
                "only one process may write it; close it or wait for it to finish")
    if "Permission denied" in text or "Read-only file system" in text or "read-only" in text.lower():
        return f"warehouse {path} is read-only ({text.removeprefix('IO Error: ')}): runs need to write it"
    if not path.parent.is_dir():
        return f"warehouse {path}: directory {path.parent} does not exist"
    return f"warehouse {path}: cannot open it ({text})"


def open_warehouse(db_path: Path | str, *, read_only: bool = False, config: dict[str, Any] | None = None):
    """Open the warehouse once (no retries): a :class:`WarehouseError` in one line if it cannot be."""
    path = Path(db_path)
    if not path.parent.is_dir():
        raise WarehouseError(f"warehouse {path}: directory {path.parent} does not exist")
    if not read_only and path.exists() and not os.access(path, os.W_OK):
        raise WarehouseError(f"warehouse {path} is read-only (no write permission): runs need to write it")
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except (duckdb.IOException, duckdb.PermissionException, RuntimeError) as exc:
        raise WarehouseError(explain_open_error(path, exc)) from None
