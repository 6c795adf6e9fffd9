"""A command-line process's start-up and end: the garbage collector during the imports, and the exit without
the interpreter's teardown.

**Start-up.** Importing Dagster, dagster-dbt, the definitions and Great Expectations creates ≈ 500,000 objects
that live as long as the process. Python's cyclic garbage collector, which runs every 700 new objects and
now and then over every object, spent 1.8 s of those imports (1,100 young, 100 middle and 7 full collections,
measured with ``gc.callbacks``) and 2.4 s of a one-day `btc-signals run` finding nothing to free.
``collect_after_imports`` turns it off for the imports; ``imports_done`` then moves everything alive into
the collector's permanent generation (``gc.freeze``, made for this) and turns it back on, so that later
collections look only at what the run itself creates.

**Exit.** At a normal exit Python clears every module and frees those objects one by one, which took 2.3 s
after the imports alone and ≈ 4.5 s after a run (`btc-signals run` for one day: "succeeded" printed at 42.4 s,
the process gone at 47.2 s; a `dbt build` 1.4 s after its last line). Nothing of it is needed: the operating
system reclaims the memory.

``exit_now`` does what a normal exit does that matters, in the same order, then ends the process at once:

1. if a thread other than the main one is still running and not a daemon, it returns and lets the
   interpreter join that thread as usual (nothing is cut short);
2. runs the ``atexit`` callbacks (``logging.shutdown`` flushes and closes the log files, dbt's among them);
3. flushes standard output and error;
4. ``os._exit(code)``.

Files, the warehouse and the Dagster instance are closed by the code that opened them before this is
reached (``with`` blocks); what a program leaves open is closed by the kernel, as after a crash, which
DuckDB's and SQLite's logs make safe. Only for the entry points of processes (never inside the tests'
own process, whose interpreter must go on).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

_deferred = False  # the collector is off until imports_done


def collect_after_imports() -> None:
    """No garbage collection until ``imports_done`` (the first thing of a command's process)."""
    global _deferred
    if gc.isenabled():
        gc.disable()
        _deferred = True


def imports_done() -> None:
    """What is alive now lives as long as the process: never scan it again; collect what comes after. Does
    nothing unless ``collect_after_imports`` turned the collector off (e.g. in a test's process, which calls
    the run many times: freezing there would keep every earlier test's garbage for good)."""
    global _deferred
    if _deferred:
        _deferred = False
        gc.freeze()
        gc.enable()


def threads_running() -> list[threading.Thread]:
    """Non-daemon threads other than the main one that are still alive: a normal exit would wait for them."""
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]


def exit_now(code: int) -> int:
    """End the process with ``code`` without the interpreter's teardown; returns ``code`` (to exit as usual)
    only when a non-daemon thread is still running."""
    if threads_running():
        return code
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a pipe whose reader has gone: nothing more can be said
            pass
    os._exit(code)


def exit_code(exc: SystemExit) -> int:
    """The status ``sys.exit(x)`` gives the process, as the interpreter computes it (None → 0, an int → itself,
    anything else is printed to stderr → 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def run_then_exit(command: Callable[[], object]) -> NoReturn:
    """A process's entry point: ``command`` with the collector off until it calls ``imports_done``, then the
    exit without teardown with its status (its return value or its ``SystemExit``, as ``sys.exit`` reads it)."""
    collect_after_imports()
    try:
        code = exit_code(SystemExit(command()))
    except SystemExit as exc:  # argparse's and click's usage errors, --help, click's end of every command
        code = exit_code(exc)
    except BrokenPipeError:  # whoever read standard output stopped (`btc-signals show | head`): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # what is still buffered goes nowhere
        code = 1  # as Python's own note on SIGPIPE has it
    sys.exit(exit_now(code))
