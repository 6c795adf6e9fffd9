"""Settings read from the environment, in one place.

Secrets (API keys) are read here and nowhere else; they are never logged, never written to the
warehouse and never put into run metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
REPLAY_DATA_DIR = PACKAGE_DIR / "replay" / "data"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_DUCKDB_PATH = PROJECT_ROOT / "warehouse" / "btc_signals.duckdb"


def dbt_target_dir() -> Path:
    """The dbt target directory of this environment, as dbt and dagster-dbt read it: ``DBT_TARGET_PATH``
    (relative to the dbt project, or absolute), else ``target``. The parse, the definitions' manifest and
    the builds' partial parsing all use this one."""
    return DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")

MODES = ("replay", "live")


@dataclass(frozen=True)
class Settings:
    mode: str = "replay"
    duckdb_path: Path = DEFAULT_DUCKDB_PATH
    replay_dir: Path = REPLAY_DATA_DIR
    coinglass_api_key: str | None = field(default=None, repr=False)
    fred_api_key: str | None = field(default=None, repr=False)
    # live mode only: {host: base URL} from BTC_SIGNALS_LIVE_REDIRECTS ("host=http://127.0.0.1:8080,host2=...")
    redirects: dict[str, str] = field(default_factory=dict)

    @property
    def reader_path(self) -> Path:
        """The read-only copy published after each dashboard rebuild (see pipelines/snapshot.py)."""
        return self.duckdb_path.with_name(self.duckdb_path.stem + ".read" + self.duckdb_path.suffix)

    @property
    def secrets(self) -> list[str]:
        """Every secret value in force, for redaction."""
        return [s for s in (self.coinglass_api_key, self.fred_api_key) if s]


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    mode = env.get("BTC_SIGNALS_MODE", "replay").strip().lower() or "replay"
    if mode not in MODES:
        raise ValueError(f"BTC_SIGNALS_MODE must be one of {MODES}, got {mode!r}")
    return Settings(
        mode=mode,
        duckdb_path=Path(env.get("BTC_SIGNALS_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH),
        replay_dir=Path(env.get("BTC_SIGNALS_REPLAY_DIR") or REPLAY_DATA_DIR),
        coinglass_api_key=env.get("COINGLASS_API_KEY") or None,
        fred_api_key=env.get("FRED_API_KEY") or None,
        redirects=parse_redirects(env.get("BTC_SIGNALS_LIVE_REDIRECTS")),
    )


def parse_redirects(text: str | None) -> dict[str, str]:
    """``host=http://127.0.0.1:8080,host2=http://...`` → {host: base URL}; a malformed entry is an error."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        host, sep, base = item.strip().partition("=")
        if not item.strip():
            continue
        scheme, _, rest = base.strip().partition("://")
        if not sep or not host.strip() or scheme not in ("http", "https") or not rest.strip("/"):
            raise ValueError(f"BTC_SIGNALS_LIVE_REDIRECTS: entry {item.strip()!r} is not host=http(s)://address[:port]")
        out[host.strip().lower()] = base.strip()
    return out
