"""dbt models as Dagster assets: staging → intermediate → marts, seeds, and dbt tests as asset checks.

Public names for ``pipelines/definitions.py``: ``dbt_models`` (the assets definition) and
``dbt_resource(home)`` (the ``DbtCliResource`` under the resource key ``dbt``). ``dbt_models`` also
uses the ``warehouse`` resource (WarehouseResource): its path is passed to dbt as the var
``warehouse_path`` and its write lock is held for the whole build, so no other Dagster writer touches
the DuckDB file while dbt (a subprocess) writes it. No DuckDB connection is open in this process
meanwhile (which is also why the build does not use dagster-dbt's ``fetch_row_counts()``: it would
query the warehouse from this process while dbt still writes it).
"""
# No ``from __future__ import annotations`` here: Dagster reads the ``config: DbtBuildConfig``
# annotation of the asset function at decoration time and cannot resolve it from a string.

import fcntl
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Config
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.contracts import delivery_rules
from pipelines.home import DBT_PROJECT_DIR, DataHome
from pipelines.resources import WarehouseResource
from pipelines.transform.project import DBT_PROJECT, MANIFEST_PATH, dbt_executable, prepare_dbt_project

prepare_dbt_project()

RAW_VIEW_SUFFIX = "_current"


class SewershareDbtTranslator(DagsterDbtTranslator):
    """Sources raw.<feed>_current (and raw.<feed>) are the ingestion assets ["raw", "<feed>"];
    models and seeds are keyed [schema, name] and grouped by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            table = dbt_resource_props["name"]
            if dbt_resource_props.get("source_name", "raw") != "raw":
                # audit.file_registry: written by every ingestion asset, read by the feed-delivery alerts
                return AssetKey([dbt_resource_props["source_name"], table])
            if not table.endswith(RAW_VIEW_SUFFIX):
                # raw.<feed> itself (every version, for histories): dagster-dbt wants one key per dbt resource,
                # and ["raw", feed] is the _current view's; the same ingestion asset writes both
                return AssetKey(["raw_history", table])
            return AssetKey(["raw", table[: -len(RAW_VIEW_SUFFIX)]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return f"transform_{dbt_resource_props['schema']}"


TRANSLATOR = SewershareDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(Config):
    """Run configuration of the dbt build."""

    reporting_date: str | None = None
    """Reporting date of the KPI marts (YYYY-MM-DD); empty = the day of the run."""


@contextmanager
def _warehouse_write_lock(warehouse: WarehouseResource) -> Iterator[None]:
    # The same lock file WarehouseResource.writer() takes, without opening a connection:
    # dbt's subprocess is the writer here.
    Path(warehouse.path).parent.mkdir(parents=True, exist_ok=True)
    with open(warehouse.lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dbt_assets(manifest=MANIFEST_PATH, project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR, name="dbt_models")
def dbt_models(context: AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource,
               warehouse: WarehouseResource):
    """dbt build (seeds, models, unit and data tests) against the warehouse."""
    # feed_delivery_rules: the contracts' cadences as the one overdue rule (pipelines.contracts), for the alerts
    dbt_vars: dict[str, Any] = {"warehouse_path": str(Path(warehouse.path).resolve()),
                                "feed_delivery_rules": delivery_rules()}
    if config.reporting_date:
        dbt_vars["reporting_date"] = config.reporting_date
    with _warehouse_write_lock(warehouse):
        yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()


def dbt_resource(home: DataHome | None = None) -> DbtCliResource:
    """The dbt CLI resource (resource key ``dbt``). The warehouse path comes from the ``warehouse``
    resource at run time, so ``home`` is accepted for symmetry with the other resources only."""
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                          dbt_executable=dbt_executable())
