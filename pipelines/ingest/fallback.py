"""The one "primary with a key, keyless fallback" helper.

A source group names its options in order (e.g. ``["coinglass", "farside"]``); :func:`plan` picks the ones a run
tries from the configured choice and whether the key is set; :func:`first_that_works` returns the first option
that delivers and :func:`every_that_works` all that deliver (CoinGlass *and* the exchanges, so that dbt can
compare them). Each failure before the last is recorded as a reason (shown in the run's ``fallback_reasons``
metadata and logged as a warning); when every option fails, the last error is raised with the earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pipelines.sources.http import SourceError

T = TypeVar("T")


def plan(choice: str, has_key: bool, keyed: Sequence[str], keyless: Sequence[str], what: str) -> list[str]:
    """``auto``: the keyed options (when the key is set) then the keyless ones; otherwise the one chosen."""
    choices = ("auto", *keyed, *keyless)
    if choice not in choices:
        raise ValueError(f"{what} source must be one of {choices}, got {choice!r}")
    if choice != "auto":
        return [choice]
    return [*keyed, *keyless] if has_key else list(keyless)


def _after(exc: SourceError, notes: list[str]) -> SourceError:
    if not notes:
        return exc
    return type(exc)(exc.source, exc.endpoint, f"{exc.problem} (after: {'; '.join(notes)})", field=exc.field,
                     value=exc.value, status=exc.status)


def first_that_works(options: Sequence[tuple[str, Callable[[], T]]], log, what: str) -> tuple[str, T, list[str]]:
    """(name, result, reasons) of the first option that does not raise :class:`SourceError`."""
    notes: list[str] = []
    for i, (name, fetch) in enumerate(options):
        try:
            return name, fetch(), notes
        except SourceError as exc:
            if i == len(options) - 1:
                raise _after(exc, notes) from exc
            notes.append(str(exc))
            log.warning(f"{what}: {exc}; falling back to {options[i + 1][0]}")
    raise ValueError(f"{what}: no source to try")


def every_that_works(options: Sequence[tuple[str, Callable[[], T]]], log, what: str) -> tuple[list[tuple[str, T]], list[str]]:
    """Every option that delivers, with the reasons of those that failed; raises when none delivers."""
    got: list[tuple[str, T]] = []
    notes: list[str] = []
    last: SourceError | None = None
    for name, fetch in options:
        try:
            got.append((name, fetch()))
        except SourceError as exc:
            last = exc
            notes.append(str(exc))
            log.warning(f"{what}: {exc}")
    if not got and last is not None:
        raise _after(last, notes[:-1]) from last
    return got, notes
