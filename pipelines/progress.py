"""What `btc-signals run` prints: progress a person can follow, and why a run failed, in one line per step.

The Dagster console log (framework lines, tracebacks) is off unless ``--verbose``. Instead
:class:`Progress` listens to the run's events as the instance stores them
(``DagsterInstance.add_event_listener``) and prints, with the time since the run started, each source
as it starts and ends (days, rows, which source answered), dbt's progress every few seconds, and the
warnings the assets log. :func:`failure_lines` turns a failed run's events into the underlying causes:
the error the step's own code raised (``[source] endpoint: problem (field, value)``, DuckDB's error,
dbt's error lines), not Dagster's wrapper around it, and each failed check with its summary of the
failing rows.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

DBT_TICK_S = 5.0
PLAN_TICK_S = 30.0
MAX_LINE = 400


ANSI = re.compile(r"\x1b\[[0-9;]*m")  # dbt colours its FAIL/ERROR words; dagster-dbt passes them on


def _short(text: str, limit: int = MAX_LINE) -> str:
    text = " ".join(ANSI.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def step_labels() -> dict[str, tuple[list[str], list[str]]]:
    """op name -> (asset keys it materialises, checks it evaluates)."""
    from pipelines.definitions import defs

    labels = {}
    for a in defs.get_repository_def().asset_graph.assets_defs:
        if a.is_executable:
            labels[a.op.name] = ([k.to_user_string() for k in a.keys],
                                 [f"{c.asset_key.to_user_string()}:{c.name}" for c in a.check_keys])
    return labels


class Progress:
    """An event listener for one run that prints progress lines."""

    def __init__(self, job_name: str, *, days: int | None = None, out: TextIO | None = None,
                 labels: dict[str, tuple[list[str], list[str]]] | None = None, t0: float | None = None) -> None:
        self.job_name = job_name
        self.days = days
        self.out = out or sys.stdout
        self.labels = step_labels() if labels is None else labels
        self.t0 = time.monotonic() if t0 is None else t0
        self.checks_announced = False
        self.started: dict[str, float] = {}
        self.first_metadata: dict[str, dict[str, Any]] = {}
        self.materialised: dict[str, int] = {}
        self.checks: dict[str, list[int]] = {}
        self.last_tick = time.monotonic()
        self.planned = 0

    def line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=self.out, flush=True)

    def _name(self, step: str) -> str:
        keys, checks = self.labels.get(step, ([], []))
        if len(keys) == 1:
            return keys[0]
        if len(keys) > 1:
            return "dbt build"
        return f"check {checks[0]}" if len(checks) == 1 else step

    def _is_asset_step(self, step: str | None) -> bool:
        return bool(step) and bool(self.labels.get(step, ([], []))[0])

    def __call__(self, entry) -> None:
        try:
            self._on(entry)
        except Exception as exc:  # progress must never break a run
            print(f"(progress output failed: {exc!r})", file=sys.stderr)

    def _on(self, entry) -> None:
        from dagster import DagsterEventType

        event = entry.dagster_event
        if event is None:
            if entry.level >= logging.WARNING and entry.user_message:
                self.line(f"  ! {self._name(entry.step_key) if entry.step_key else self.job_name}: "
                          f"{_short(entry.user_message)}")
            return
        step = event.step_key
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            # Dagster records one planned event per asset and partition before the run starts
            # (12 x 26 monthly partitions for the whole window): say what is happening.
            self.planned += 1
            if time.monotonic() - self.last_tick >= PLAN_TICK_S:
                self.last_tick = time.monotonic()
                self.line(f"{self.job_name}: Dagster is recording the run plan ({self.planned} planned materialisations so far)")
        elif kind == DagsterEventType.RUN_START:
            plan = f" ({self.planned} materialisations planned)" if self.planned else ""
            self.line(f"{self.job_name} started" + (f" for {self.days} day(s)" if self.days else "") + plan)
        elif kind == DagsterEventType.STEP_START and self._is_asset_step(step):
            self.started[step] = time.monotonic()
            keys, _ = self.labels[step]
            what = f"{len(keys)} models, seeds and tests" if len(keys) > 1 else (
                f"{self.days} day(s)" if self.days else "")
            self.line(f"{self._name(step)}: started{' (' + what + ')' if what else ''}")
        elif kind == DagsterEventType.STEP_START and step and not self.checks_announced:
            self.checks_announced = True
            self.line("quality checks: running (failures are listed at the end)")
        elif kind == DagsterEventType.ASSET_MATERIALIZATION and step:
            self.materialised[step] = self.materialised.get(step, 0) + 1
            self.first_metadata.setdefault(step, dict(event.event_specific_data.materialization.metadata))
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION and step:
            passed, failed = self.checks.setdefault(step, [0, 0])
            self.checks[step] = [passed + 1, failed] if event.event_specific_data.passed else [passed, failed + 1]
        elif kind == DagsterEventType.STEP_SUCCESS and self._is_asset_step(step):
            self.line(f"{self._name(step)}: done in {self._took(step)}{self._summary(step)}")
        elif kind == DagsterEventType.STEP_FAILURE and step:
            self.line(f"{self._name(step)}: FAILED after {self._took(step)}")

    def _took(self, step: str) -> str:
        return f"{time.monotonic() - self.started.get(step, self.t0):.1f} s"

    def _summary(self, step: str) -> str:
        keys, _ = self.labels.get(step, ([], []))
        passed, failed = self.checks.get(step, [0, 0])
        if len(keys) > 1:
            return f": {self.materialised.get(step, 0)} models and seeds, {passed + failed} tests ({failed} failed)"
        meta = self.first_metadata.get(step, {})
        parts = []
        rows = meta.get("rows") or meta.get("dagster/row_count")
        if rows is not None:
            parts.append(f"{getattr(rows, 'value', rows)} rows")
        source = meta.get("source") or meta.get("sources")
        if source is not None:
            value = getattr(source, "value", source)
            value = ", ".join(value) if isinstance(value, list) else value
            if value:
                parts.append(f"from {value}")
        return f" ({', '.join(parts)})" if parts else ""


ANSI = re.compile(r"\x1b\[[0-9;]*m")
DBT_NODE_DONE = re.compile(r"^(\d+) of (\d+) (?!START)(\S+)")


class DbtOutput(io.TextIOBase):
    """Stands in for stdout while dbt runs: dagster-dbt re-prints every dbt log line there (hundreds
    per build). This keeps a count of finished nodes and prints it every few seconds, with dbt's own
    failure and error lines as they come and its final tally."""

    def __init__(self, progress: Progress, tick_s: float = DBT_TICK_S) -> None:
        self.progress = progress
        self.tick_s = tick_s
        self.buffer_ = ""
        self.done = self.total = self.failed = 0
        self.last = time.monotonic()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.buffer_ += text
        *lines, self.buffer_ = self.buffer_.split("\n")
        for line in lines:
            self._line(ANSI.sub("", line).strip())
        return len(text)

    def _line(self, line: str) -> None:
        if m := DBT_NODE_DONE.match(line):
            self.done, self.total = int(m[1]), int(m[2])
            if m[3] in ("FAIL", "ERROR"):
                self.failed += 1
                self.progress.line(f"  ! dbt: {_short(line)}")
        elif line.startswith(("Done. PASS=", "Completed with")):
            self.progress.line(f"dbt: {line}")
        elif line.startswith(("Failure in", "Database Error", "Runtime Error", "Compilation Error")):
            self.progress.line(f"  ! dbt: {_short(line)}")
        if self.total and time.monotonic() - self.last >= self.tick_s:
            self.last = time.monotonic()
            self.progress.line(f"dbt build: {self.done} of {self.total} nodes done ({self.failed} failed)")


def _own_error(error) -> Any:
    """The first error in the chain that is not Dagster's wrapper: what the step's code raised."""
    err = error
    while err is not None and err.cls_name and err.cls_name.startswith("Dagster") and err.cause is not None:
        err = err.cause
    return err or error


def _error_text(err) -> str:
    """The error's message without the module path; our own errors (``pipelines.…``) already say
    which source, field and value, so without the class name too."""
    text = (err.message or "").strip()
    head, sep, rest = text.partition(": ")
    if sep and "." in head and " " not in head:
        module, _, cls = head.rpartition(".")
        text = rest if module.startswith("pipelines") else f"{cls}: {rest}"
    return text


def failure_lines(events: Iterable[Any], checks: Iterable[Any]) -> list[str]:
    """One line per failed step and per failed check, saying why."""
    from dagster import DagsterEventType

    lines: list[str] = []
    failed_checks = [c for c in checks if not c.passed]
    for c in failed_checks:
        summary = c.description or ""
        count = (c.metadata or {}).get("dagster_dbt/failed_row_count")
        if count is not None and not summary:  # a dbt test; a described one (model_checks) says more than the count
            summary = f"{getattr(count, 'value', count)} failing row(s)"
        lines.append(_short(f"check {c.asset_key.to_user_string()}:{c.check_name} failed"
                            + (f": {summary}" if summary else "")))
    events = list(events)
    run_failures = [e for e in events if e.event_type == DagsterEventType.RUN_FAILURE]
    step_failures = [e for e in events if e.event_type in (DagsterEventType.STEP_FAILURE,
                                                           DagsterEventType.RESOURCE_INIT_FAILURE)]
    for event in step_failures or ([] if failed_checks else run_failures):
        error = getattr(event.event_specific_data, "error", None)
        if error is None:
            lines.append(f"{event.step_key or event.job_name}: failed")
            continue
        own = _own_error(error)
        if own.cls_name == "DagsterAssetCheckFailedError" and failed_checks:
            continue  # the failed checks are listed above, with their summaries
        text = _error_text(own)
        if "Errors parsed from dbt logs:" in text:  # dagster-dbt: dbt's own error lines follow
            dbt_errors = [e for e in text.split("Errors parsed from dbt logs:", 1)[1].split("\n\n") if e.strip()]
            for e in dbt_errors or [text]:
                lines.append(_short(f"{event.step_key}: dbt: {e.strip()}"))  # dbt's own lines, joined
            continue
        if own.cls_name == "DagsterExecutionInterruptedError":
            text = "interrupted (the run was stopped by a signal)"
        where = f"{event.step_key}: " if event.step_key else ""
        lines.append(_short(f"{where}{text.splitlines()[0] if text else own.cls_name}"))
    return lines
