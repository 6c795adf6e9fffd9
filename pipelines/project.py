"""The dbt project as Dagster sees it. Kept alone in this module so that
``dagster-dbt project prepare-and-package --file pipelines/project.py`` can import it before a
manifest exists."""

from pathlib import Path

from dagster_dbt import DbtProject

dbt_project = DbtProject(project_dir=Path(__file__).resolve().parent.parent / "dbt_project")
dbt_project.prepare_if_dev()
