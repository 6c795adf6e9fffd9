"""A throw-away PostgreSQL cluster on 127.0.0.1, for trying the production instance locally, for its
end-to-end test and for the benchmark. Uses the server binaries of the Debian ``postgresql`` package
(``apt-get install postgresql``); nothing is installed by this module.

    python deploy/local_postgres.py /tmp/pg     # start a cluster there; prints the env to export; Ctrl-C stops it

PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` system user that the
Debian package creates (``runuser -u postgres``), in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import signal
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "dagster"
USER = "dagster"


class PostgresUnavailable(RuntimeError):
    pass


def server_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl: $PG_BIN_DIR, else the newest Debian install, else PATH."""
    if os.environ.get("PG_BIN_DIR"):
        return Path(os.environ["PG_BIN_DIR"])
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if debian:
        return Path(debian[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise PostgresUnavailable("PostgreSQL server binaries not found: `apt-get install postgresql` (or set PG_BIN_DIR)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Cluster:
    port: int
    data_dir: Path

    @property
    def env(self) -> dict[str, str]:
        """What deploy/dagster.postgres.yaml reads."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": USER,
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": DB_NAME,
        }

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{DB_NAME}"


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root and there is no `postgres` user to run the server as") from None
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{Path(cmd[0]).name} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


@contextlib.contextmanager
def local_cluster(base: Path) -> Iterator[Cluster]:
    """initdb a cluster in base/pgdata, start it on a free loopback port, create the role and database
    the Dagster instance uses, yield, then stop it (fast shutdown) whatever happened."""
    bindir = server_bin_dir()
    base.mkdir(parents=True, exist_ok=True)
    data, sock = base / "pgdata", base / "pgsock"
    sock.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        ids = pwd.getpwnam("postgres")
        for p in (base, sock):
            os.chown(p, ids.pw_uid, ids.pw_gid)
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    port = free_port()
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock}"
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "postgres.log"), "-o", opts, "-w", "-t", "60", "start"])
    try:
        psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
        _run([*psql, "-c", f"create role {USER} login", "-c", f"create database {DB_NAME} owner {USER}"])
        yield Cluster(port=port, data_dir=data)
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the cluster on `kill` too
    with local_cluster(Path(argv[0]).resolve()) as cluster:
        for k, v in cluster.env.items():
            print(f"export {k}={v}")
        print("# PostgreSQL is up; Ctrl-C (or SIGTERM) stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
