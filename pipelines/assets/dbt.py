"""The dbt project as Dagster assets; dbt tests surface as asset checks."""


import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.project import dbt_project
from pipelines.resources import SourcesResource

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
def btc_signals_dbt(context: AssetExecutionContext, dbt: DbtCliResource, sources: SourcesResource):
    """`dbt build` of the selected models, seeds and tests. A failing test fails its asset check
    and dbt skips everything downstream of it, so bad data never reaches the dashboard."""
    dbt_vars = {"dashboard_end_date": dashboard_end_date(sources).isoformat()}
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()


def dashboard_end_date(sources: SourcesResource) -> date:
    """Replay: the bundled dataset's last day. Live: today (UTC)."""
    settings = sources.settings()
    if settings.mode == "replay":
        manifest = json.loads((settings.replay_dir / "manifest.json").read_text())
        return date.fromisoformat(manifest["window_end"])
    return datetime.now(tz=UTC).date()
