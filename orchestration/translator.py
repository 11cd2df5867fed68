"""How dbt resources become Dagster assets: raw sources → extraction assets, groups by layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from orchestration.assets.extraction import raw_asset_key

# intermediate/<area>/ and marts/<area>/ share the group of their area; orders are sales.
_AREA_GROUPS = {"orders": "sales"}


class ClientbaseTranslator(DagsterDbtTranslator):
    """Model keys stay dbt's default `<schema>/<model>` (staging/stg_crm__contacts,
    marts/customer_rfm); only the raw sources are remapped onto the extraction assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source" and (
            dbt_resource_props.get("schema") == "raw"
        ):
            identifier = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            system, sep, table = identifier.partition("__")
            if sep:
                # Convention of create_raw_relations(): raw.<system>__<table> is the folder
                # raw/<system>/<table>/, which the extraction asset raw/<system>/<table> writes.
                return raw_asset_key(system, table)
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        explicit = super().get_group_name(dbt_resource_props)  # meta.dagster.group / dbt group
        if explicit:
            return explicit
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "source":
            return "extraction"
        if resource_type == "seed":
            return "seeds"
        if resource_type == "snapshot":
            return "snapshots"
        fqn = dbt_resource_props.get("fqn", [])
        folders = fqn[1:-1]  # drop the project name and the model name
        if not folders:
            return "dbt"
        layer = folders[0]
        if layer == "staging" or len(folders) == 1:
            return layer
        area = folders[1]
        return _AREA_GROUPS.get(area, area)
