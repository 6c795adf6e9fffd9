"""pipelines/process.py: a command ends without the interpreter's teardown, but with its exit code, its atexit
callbacks and its buffered output; it waits for a running thread as a normal exit does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pipelines.dbt_child import LAUNCHER

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = textwrap.dedent("""
    import atexit, sys, threading, time
    from pipelines.process import exit_now

    class Teardown:
        def __del__(self):  # runs when the interpreter frees the modules at a normal exit
            sys.__stderr__.write("teardown ran\\n")

    KEPT = Teardown()
    atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
    if sys.argv[1] == "thread":
        threading.Thread(target=lambda: (time.sleep(0.5), print("thread finished"))).start()
    sys.stdout.write("buffered, no newline")
    sys.exit(exit_now(3))
""")


def run(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_the_exit_skips_the_teardown_but_keeps_the_code_the_atexit_callbacks_and_the_output():
    done = run("plain")
    assert done.returncode == 3
    assert done.stdout == "buffered, no newline"
    assert done.stderr == "atexit ran\n"  # and no "teardown ran"


def test_a_running_thread_is_waited_for_as_at_a_normal_exit():
    done = run("thread")
    assert done.returncode == 3
    assert done.stdout == "buffered, no newlinethread finished\n"
    assert done.stderr == "atexit ran\nteardown ran\n"


def test_the_dbt_launcher_exits_with_dbts_own_code_and_message():
    launcher = Path(sys.executable).parent / LAUNCHER
    done = subprocess.run([str(launcher), "no-such-command"], cwd=ROOT / "dbt_project", capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done  # click's usage error, as `dbt no-such-command` exits
    assert "No such command 'no-such-command'" in done.stderr
    assert "Usage: dbt " in done.stderr


def test_the_collector_is_off_during_the_imports_then_skips_what_they_left():
    program = textwrap.dedent("""
        import gc
        from pipelines.process import collect_after_imports, imports_done

        imports_done()  # not deferred: nothing changes
        assert gc.isenabled() and gc.get_freeze_count() == 0
        collect_after_imports()
        assert not gc.isenabled()
        import dagster  # noqa: F401  (what a command imports first)
        imports_done()
        assert gc.isenabled() and gc.get_freeze_count() > 100_000, gc.get_freeze_count()
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout == "ok\n", done.stderr


def test_a_reader_that_stops_reading_ends_the_command_without_a_traceback():
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `btc-signals parse | head -0`: every write to standard output fails with EPIPE
    try:  # (the parse is current, conftest made it: the command prints that it is)
        done = subprocess.run([str(Path(sys.executable).parent / "btc-signals"), "parse"], cwd=ROOT, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert done.returncode == 1
    assert done.stderr == ""
