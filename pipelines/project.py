"""The dbt project as Dagster sees it. Kept alone in this module so that
``dagster-dbt project prepare-and-package --file pipelines/project.py`` can import it before a
manifest exists. How dbt is invoked (its
executable, --vars, build arguments and the parse) is pipelines/dbt_invocation.py."""

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import DbtProjectPreparer

from pipelines.dbt_invocation import parse
from pipelines.settings import DBT_PROJECT_DIR, dbt_target_dir


class VenvDbtPreparer(DbtProjectPreparer):
    """Re-parses the manifest under ``dagster dev`` when the dbt project changed (so edited models show up
    on reload; ``parse``) with the dbt beside this Python. dagster-dbt's default preparer runs ``dbt`` from
    PATH, which a shell with no virtualenv activated does not have: the code location then fails to load."""

    def prepare_if_dev(self, project: DbtProject) -> None:
        if self.using_dagster_dev():
            self.prepare(project)

    def prepare(self, project: DbtProject) -> None:
        parse(project.project_dir / project.target_path)


# The target directory is this environment's (DBT_TARGET_PATH), so that the manifest the definitions are built
# from, the parse and the builds' partial parsing are one.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=dbt_target_dir())
VenvDbtPreparer().prepare_if_dev(dbt_project)
