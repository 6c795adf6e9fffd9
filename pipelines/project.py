"""The dbt project as Dagster sees it. Kept alone in this module so that
``dagster-dbt project prepare-and-package --file pipelines/project.py`` can import it before a
manifest exists."""

import json
import shutil
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DbtProjectPreparer

from pipelines.settings import Settings, load_settings


def dbt_executable() -> str:
    """The dbt installed next to this Python (works without an activated venv), else dbt on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dashboard_end_date(settings: Settings | None = None) -> date:
    """The dashboard's last day. Replay: the bundled dataset's last day. Live: today (UTC)."""
    settings = settings or load_settings()
    if settings.mode == "replay":
        from pipelines.partitions import replay_window

        return replay_window(settings)[1]
    return datetime.now(tz=UTC).date()


def dbt_vars_args(settings: Settings | None = None) -> list[str]:
    """``--vars`` of every dbt parse and build (``btc-signals parse``, ``dagster dev``'s parse, the dbt
    asset, the tests). dbt keeps its partial-parse state only while the vars stay the same: a build
    with other vars than the parse before it re-parses all nodes (≈ 8 CPU-s, docs/operations.md)."""
    return ["--vars", json.dumps({"dashboard_end_date": dashboard_end_date(settings).isoformat()})]


def dbt_build_args(*, full_refresh: bool = False, settings: Settings | None = None) -> list[str]:
    """The dbt build of the dbt asset. The daily increment (the default) leaves out the unit tests, which
    test the SQL, not the day's data (they run in a full rebuild and in the test suite); a full rebuild
    (``full_refresh``) runs every node and rebuilds incremental models from scratch.
    docs/operations.md, "dbt: the daily increment", has the figures."""
    mode = ["--full-refresh"] if full_refresh else ["--exclude-resource-type", "unit_test"]
    return ["build", *dbt_vars_args(settings), *mode]


class VenvDbtPreparer(DbtProjectPreparer):
    """Re-parses the manifest under ``dagster dev`` (so edited models show up on reload) with the dbt
    beside this Python. dagster-dbt's default preparer runs ``dbt`` from PATH, which a shell with no
    virtualenv activated does not have: the code location then fails to load."""

    def prepare_if_dev(self, project: DbtProject) -> None:
        if self.using_dagster_dev():
            self.prepare(project)

    def prepare(self, project: DbtProject) -> None:
        resource = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        resource.cli(["parse", "--quiet", *dbt_vars_args()], target_path=project.target_path).wait()


dbt_project = DbtProject(project_dir=Path(__file__).resolve().parent.parent / "dbt_project")
VenvDbtPreparer().prepare_if_dev(dbt_project)
