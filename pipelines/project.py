"""The dbt project as Dagster sees it. Kept alone in this module so that
``dagster-dbt project prepare-and-package --file pipelines/project.py`` can import it before a
manifest exists."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DbtProjectPreparer


def dbt_executable() -> str:
    """The dbt installed next to this Python (works without an activated venv), else dbt on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


class VenvDbtPreparer(DbtProjectPreparer):
    """Re-parses the manifest under ``dagster dev`` (so edited models show up on reload) with the dbt
    beside this Python. dagster-dbt's default preparer runs ``dbt`` from PATH, which a shell with no
    virtualenv activated does not have: the code location then fails to load."""

    def prepare_if_dev(self, project: DbtProject) -> None:
        if self.using_dagster_dev():
            self.prepare(project)

    def prepare(self, project: DbtProject) -> None:
        resource = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        resource.cli(["parse", "--quiet"], target_path=project.target_path).wait()


dbt_project = DbtProject(project_dir=Path(__file__).resolve().parent.parent / "dbt_project")
VenvDbtPreparer().prepare_if_dev(dbt_project)
