"""A read-only copy of the warehouse for readers, published after each dashboard rebuild.

DuckDB lets one process write a database file, and while it does no other process can open the
file, not even read-only. So that users can query while runs write, every successful dbt run
publishes a consistent copy next to the warehouse (``btc_signals.read.duckdb``).

The copy is taken under a lock held for the whole copy: the run's writer lock
(``pipelines/warehouse.py``, so no other run starts writing) *and* a read-write DuckDB connection that
stays open from the checkpoint to the end of the copy (so no other process, ours or not, can write
the file meanwhile). It is written to a temporary name, flushed to disk and renamed over the old copy:
the rename is atomic, and a reader that has the old copy open keeps reading it (its inode lives until
it closes). A publish killed half-way leaves only its temporary file, which the next publish (or the
next ``btc-signals run``) removes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.warehouse import WarehouseLock, open_warehouse


def _temp_name(reader_path: Path, pid: int) -> Path:
    return reader_path.with_name(f".{reader_path.name}.{pid}.tmp")


def remove_stale_temps(reader_path: Path) -> list[Path]:
    """Delete temporary files of interrupted publishes. Call only while holding the writer lock (then no
    publish is in progress). Returns what was removed."""
    removed = []
    for tmp in reader_path.parent.glob(f".{reader_path.name}.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def publish_reader_copy(db_path: Path, reader_path: Path) -> Path:
    """Checkpoint the warehouse, copy it and atomically replace the reader copy. Returns its path."""
    with WarehouseLock(db_path):
        remove_stale_temps(reader_path)
        tmp = _temp_name(reader_path, os.getpid())
        con = open_warehouse(db_path)
        try:
            con.execute("checkpoint")  # everything in the main file, the WAL empty
            with open(db_path, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, length=8 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, reader_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            con.close()
    _fsync_dir(reader_path.parent)
    return reader_path


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def path_for_reading(db_path: Path, reader_path: Path) -> Path:
    """The reader copy when there is one, else the warehouse itself."""
    return reader_path if reader_path.exists() else db_path
