"""How dbt nodes become Dagster assets: the base spec (keys ``[schema, model]`` for
models, ``[source, table]`` for sources, so ``source('raw', 'usage_events')`` is
``["raw", "usage_events"]``, the ingest asset's key), extended with a group per dbt folder
and a layer tag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

from orchestration.dbt_project import dbt_group

__all__ = ["MeterlineTranslator", "dbt_group"]


class MeterlineTranslator(DagsterDbtTranslator):
    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") not in ("model", "seed", "snapshot"):
            return spec
        fqn = list(props.get("fqn") or [])
        layer = fqn[1] if len(fqn) > 2 else "dbt"
        return spec.replace_attributes(group_name=dbt_group(fqn)).merge_attributes(
            tags={"meterline/layer": layer}, kinds={"duckdb"}
        )
