"""A read-only copy of the warehouse for readers, published after each dashboard rebuild.

DuckDB lets one process write a database file, and while it does no other process can open the
file, not even read-only. So that users can query while runs write, every successful dbt run
publishes a consistent copy next to the warehouse (``btc_signals.read.duckdb``) by copying the
closed file to a temporary name and renaming it over the old copy: the rename is atomic, and a
reader that has the old copy open keeps reading it (its inode lives until it closes).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb


def publish_reader_copy(db_path: Path, reader_path: Path) -> Path:
    """Checkpoint the warehouse, copy it and atomically replace the reader copy. Returns its path."""
    with duckdb.connect(str(db_path)) as con:
        con.execute("checkpoint")
    tmp = reader_path.with_name(f".{reader_path.name}.{os.getpid()}.tmp")
    shutil.copyfile(db_path, tmp)
    os.replace(tmp, reader_path)
    return reader_path


def path_for_reading(db_path: Path, reader_path: Path) -> Path:
    """The reader copy when there is one, else the warehouse itself."""
    return reader_path if reader_path.exists() else db_path
