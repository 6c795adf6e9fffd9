"""Machine-readable provenance of the replay dataset: which days of which file are derived, not observed.

Two files, both ``file,…,origin,how`` with ``origin`` one of ``real`` / ``derived``:

* ``data/<folder>/provenance.csv`` — ``file,day,origin,how``: one row per day of a file (coinglass futures,
  binance_futures), written by ``scripts/build_replay_derivatives.py``;
* ``data/provenance_files.csv`` — ``file,first_day,last_day,origin,how``: a day range of a file (open-ended when
  a bound is empty; both empty = the whole file), for every file whose origin changes at most a few times.
  Day rows win over range rows for the same file. A served file declared in neither is an error.

``derived_days`` answers, for the files one replay answer was made from, the day ranges a row of that answer is
derived on. The replay transport sends them as the ``X-Replay-Derived-Days`` header; live servers never do.
"""

from __future__ import annotations

import csv
import functools
from datetime import date, timedelta
from pathlib import Path

Range = tuple[date | None, date | None]  # inclusive; None = open
FILES_TABLE = "provenance_files.csv"
DERIVED_DAYS_HEADER = "X-Replay-Derived-Days"
ORIGINS = ("real", "derived")


def _error(rel: str, problem: str):
    from pipelines.replay.transport import ReplayDataError

    folder, _, file = rel.partition("/")
    return ReplayDataError(folder, file, problem)


def _day(text: str, rel: str, line: int) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _error(rel, f"line {line}: day {text!r} is not YYYY-MM-DD") from None


def _rows(path: Path, rel: str, columns: list[str]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or list(reader.fieldnames)[: len(columns)] != columns:
            raise _error(rel, f"header {reader.fieldnames} is not {columns}")
        rows = list(reader)
    for i, row in enumerate(rows, start=2):
        if row["origin"] not in ORIGINS:
            raise _error(rel, f"line {i}: origin {row['origin']!r} is not one of {ORIGINS}")
    return rows


def _compress(days: list[date]) -> list[Range]:
    out: list[list[date]] = []
    for d in sorted(set(days)):
        if out and d - out[-1][1] == timedelta(days=1):
            out[-1][1] = d
        else:
            out.append([d, d])
    return [(a, b) for a, b in out]


@functools.lru_cache(maxsize=8)
def _load(root: str, stamp: tuple) -> dict[str, list[Range]]:
    """{"<folder>/<file>": derived ranges} for every declared file (an empty list = real throughout)."""
    base = Path(root)
    declared: dict[str, list[Range]] = {}
    for row_no, row in enumerate(_rows(base / FILES_TABLE, FILES_TABLE, ["file", "first_day", "last_day"]), 2):
        rel = row["file"]
        spans = declared.setdefault(rel, [])
        if row["origin"] == "derived":
            spans.append((_day(row["first_day"], FILES_TABLE, row_no), _day(row["last_day"], FILES_TABLE, row_no)))
    for path in sorted(base.glob("*/provenance.csv")):
        rel_csv = f"{path.parent.name}/provenance.csv"
        per_file: dict[str, list[date]] = {}
        for row_no, row in enumerate(_rows(path, rel_csv, ["file", "day"]), 2):
            days = per_file.setdefault(f"{path.parent.name}/{row['file']}", [])
            if row["origin"] == "derived":
                days.append(_day(row["day"], rel_csv, row_no))
        for rel, days in per_file.items():
            declared[rel] = _compress(days)
    return declared


def _stamp(root: Path) -> tuple:
    files = [root / FILES_TABLE, *sorted(root.glob("*/provenance.csv"))]
    return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.exists())


def derived_days(root: Path, served: list[str]) -> list[Range]:
    """The day ranges on which an answer made from ``served`` files is derived (empty: real throughout)."""
    if not served:
        return []
    root = Path(root)
    if not (root / FILES_TABLE).is_file():
        raise _error(FILES_TABLE, f"missing (looked for {root / FILES_TABLE})")
    declared = _load(str(root), _stamp(root))
    spans: list[Range] = []
    for rel in served:
        if rel not in declared:
            raise _error(rel, f"has no provenance: declare it in {FILES_TABLE} or its folder's provenance.csv")
        spans.extend(declared[rel])
    return spans


def format_days(spans: list[Range]) -> str:
    return ",".join(f"{a or ''}..{b or ''}" for a, b in spans)


def parse_days(text: str | None) -> list[Range]:
    """The header's ranges back; an empty or absent header = nothing derived."""
    out: list[Range] = []
    for item in (text or "").split(","):
        if ".." not in item:
            continue
        a, _, b = item.strip().partition("..")
        out.append((date.fromisoformat(a) if a else None, date.fromisoformat(b) if b else None))
    return out


def is_derived(day: date, spans: list[Range]) -> bool:
    return any((a is None or a <= day) and (b is None or day <= b) for a, b in spans)
