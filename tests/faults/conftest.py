"""Fixtures of the fault-injection suite: the loopback server and a fast, observable HTTP client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import pipelines.resources as resources
from pipelines.sources.http import HOST_MIN_INTERVAL_S, RetryPolicy

from .server import FaultServer

# Short settings so a whole retry sequence takes well under a second; sleeps are recorded, not slept.
TEST_RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.05, backoff_max_s=0.2, retry_after_max_s=120.0)
READ_TIMEOUT_S = 2.0  # generous for a loaded 2-core machine; the hung-connection faults outlast it


@pytest.fixture
def server(monkeypatch) -> Iterator[FaultServer]:
    """The loopback server, with BTC_SIGNALS_LIVE_REDIRECTS sending every source host to it."""
    srv = FaultServer().start()
    monkeypatch.setenv("BTC_SIGNALS_LIVE_REDIRECTS", srv.redirects_env)
    try:
        yield srv
    finally:
        srv.stop()


class SleepRecorder(list):
    """Records every wait the HttpClient asks for; sleeps for real (capped) only when ``real`` is set."""

    real = False
    cap_s = 3.0

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(min(seconds, self.cap_s))


@pytest.fixture
def sleeps(monkeypatch) -> SleepRecorder:
    """Make every HttpClient the pipeline creates fast and observable: short timeouts, three attempts,
    no per-host rate limit, and waits recorded (not slept, unless ``sleeps.real = True``)."""
    recorded = SleepRecorder()
    real = resources.HttpClient

    def fast_client(**kwargs: Any):
        return real(
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=1.0),
            retry=TEST_RETRY,
            sleep=recorded,
            **kwargs,
        )

    monkeypatch.setattr(resources, "HttpClient", fast_client)
    for host in list(HOST_MIN_INTERVAL_S):
        monkeypatch.setitem(HOST_MIN_INTERVAL_S, host, 0.0)
    return recorded
