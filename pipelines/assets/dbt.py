"""The dbt project as Dagster assets; dbt tests surface as asset checks."""


from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.project import dbt_project

LAYER_GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


class Translator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "rules"
        fqn = dbt_resource_props.get("fqn", [])
        for part in fqn[1:-1]:
            if part in LAYER_GROUPS:
                return LAYER_GROUPS[part]
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def btc_signals_dbt(context: AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` of the selected models, seeds and tests. A failing test fails its asset check
    and dbt skips everything downstream of it, so bad data never reaches the dashboard."""
    yield from dbt.cli(["build"], context=context).stream()
