"""dbt models as Dagster assets: staging → intermediate → marts, seeds, and dbt tests as asset checks.

Public names for ``pipelines/definitions.py``: ``build_dbt_assets()`` (the assets definition ``dbt_models``, built
from the manifest it prepares: nothing is parsed at import; a dbt test of severity error is a blocking check) and
``dbt_resource(home)`` (the ``DbtCliResource`` under the resource key ``dbt``). ``dbt_models`` also
uses the ``warehouse`` resource (WarehouseResource): its path is passed to dbt as the var
``warehouse_path`` and its write lock is held for the whole build, so no other Dagster writer touches
the DuckDB file while dbt (a subprocess) writes it; it is also in the ``warehouse`` concurrency pool. No DuckDB
connection is open in this process meanwhile (which is also why the build does not use dagster-dbt's
``fetch_row_counts()``: it would query the warehouse from this process while dbt still writes it).

Only the selected models are built (``dbt build --select`` of the run's subset). The models tagged ``daily`` (the
time series over plant_online and plant_lab) are incremental: the days they rebuild come from the event log of
the daily-partitioned feeds (``pipelines/transform/daily.py``).
"""
# No ``from __future__ import annotations`` here: Dagster reads the ``config: DbtBuildConfig``
# annotation of the asset function at decoration time and cannot resolve it from a string.

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Config
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.contracts import delivery_rules, load_contracts
from pipelines.home import DBT_PROJECT_DIR, DataHome
from pipelines.ingest.partitions import is_partitioned
from pipelines.operations.instance import WAREHOUSE_POOL
from pipelines.operations.recovery import in_use
from pipelines.resources import WarehouseResource
from pipelines.transform.daily import DAILY_TAG, daily_rebuild
from pipelines.transform.dbt_child import PARENT_ENV
from pipelines.transform.project import DBT_PROJECT, dbt_launcher, prepare_dbt_project

RAW_VIEW_SUFFIX = "_current"
# The daily-partitioned ingestion assets (pipelines/ingest/partitions.py), sources of the daily models.
PARTITIONED_FEEDS = frozenset(AssetKey(["raw", c.feed]) for c in load_contracts().values() if is_partitioned(c))


# Asset tag of the models whose result depends on the reporting date (the day of the build unless configured):
# they are due again every day, whatever the data (pipelines/operations/plan.py).
CALENDAR_TAG = "reporting_date"
REPORTING_DATE_MACRO = "macro.sewershare.reporting_date"


def calendar_models(manifest: Mapping[str, Any]) -> frozenset[str]:
    """Unique ids of the models that call the ``reporting_date`` macro, directly or through other macros."""
    macros = manifest.get("macros", {})
    memo: dict[str, bool] = {}

    def calls(macro: str, path: frozenset[str] = frozenset()) -> bool:
        if macro == REPORTING_DATE_MACRO:
            return True
        if macro not in memo:
            inner = macros.get(macro, {}).get("depends_on", {}).get("macros", [])
            memo[macro] = any(calls(m, path | {macro}) for m in inner if m not in path)
        return memo[macro]

    return frozenset(uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"
                     and any(calls(m) for m in node.get("depends_on", {}).get("macros", [])))


class SewershareDbtTranslator(DagsterDbtTranslator):
    """Sources raw.<feed>_current (and raw.<feed>) are the ingestion assets ["raw", "<feed>"];
    models and seeds are keyed [schema, name] and grouped by layer; the models of ``calendar`` (unique ids)
    carry the asset tag ``reporting_date``."""

    def __init__(self, calendar: frozenset[str] = frozenset(), **kwargs):
        super().__init__(**kwargs)
        self.calendar = calendar

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if dbt_resource_props.get("unique_id") in self.calendar:
            tags[CALENDAR_TAG] = ""
        return tags

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




def translator(manifest: Mapping[str, Any]) -> SewershareDbtTranslator:
    return SewershareDbtTranslator(calendar_models(manifest),
                                   settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(Config):
    """Run configuration of the dbt build."""

    reporting_date: str | None = None
    """Reporting date of the KPI marts (YYYY-MM-DD); empty = the day of the run."""
    full_refresh: bool = False
    """Rebuild the incremental (daily) models whole, ``dbt build --full-refresh``: after their SQL changed."""


def dbt_target_path(warehouse: WarehouseResource) -> Path:
    """One dbt target directory per warehouse, reused by every build of it: dbt's partial-parse state
    (``partial_parse.msgpack``) is valid only for the same vars and profile, i.e. the same warehouse, and
    re-parsing the project costs seconds of CPU per run. Builds of one warehouse take turns (pool).

    It lives in the data home, never in the checkout (issue 14: dagster-dbt's default, a new
    ``dbt_project/target/<run>`` folder per run, grew the checkout by ~19 MB a run): ``<home>/dbt/target`` for a
    warehouse at ``<home>/warehouse/``, else a folder beside the warehouse file. dbt's log (dagster-dbt points
    ``DBT_LOG_PATH`` at the same folder) is rotated by dbt itself (``log-file-max-bytes``)."""
    db = Path(warehouse.path).resolve()
    if db.parent.name == "warehouse":
        return db.parent.parent / "dbt" / "target"
    digest = hashlib.sha256(str(db).encode()).hexdigest()[:12]
    return db.parent / f".dbt-target-{db.stem}-{digest}"


@contextmanager
def _partition_env(start: str | None, end: str | None) -> Iterator[None]:
    """The days of the daily models as environment variables of the dbt subprocess (dagster-dbt passes this
    process's environment): read when the models run, they leave dbt's partial parsing valid."""
    names = {"SEWERSHARE_PARTITION_START": start or "", "SEWERSHARE_PARTITION_END": end or "",
             # the launcher's guard against a run that died before dbt armed its death signal (dbt_child.py)
             PARENT_ENV: str(os.getpid())}
    before = {k: os.environ.get(k) for k in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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


def build_dbt_assets() -> AssetsDefinition:
    """The dbt assets from the manifest (parsed first when stale)."""

    manifest = json.loads(prepare_dbt_project().read_text(encoding="utf-8"))

    @dbt_assets(manifest=manifest, project=DBT_PROJECT, dagster_dbt_translator=translator(manifest),
                name="dbt_models", pool=WAREHOUSE_POOL)
    def dbt_models(context: AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource,
                   warehouse: WarehouseResource):
        """dbt build (seeds, models, unit and data tests) of the selected models against the warehouse."""
        # feed_delivery_rules: the contracts' cadences as the one overdue rule (pipelines.contracts), for the alerts
        dbt_vars: dict[str, Any] = {"warehouse_path": str(Path(warehouse.path).resolve()),
                                    "feed_delivery_rules": delivery_rules()}
        if config.reporting_date:
            dbt_vars["reporting_date"] = config.reporting_date
        selected = set(context.selected_asset_keys)
        specs = list(context.assets_def.specs)
        daily = {s.key for s in specs if DAILY_TAG in s.tags}
        incremental = {s.key for s in specs if s.key in daily & selected
                       and s.metadata.get("dagster-dbt/materialization_type") == "incremental"}
        if incremental and not config.full_refresh:
            parents = {s.key: {d.asset_key for d in s.deps} for s in specs}
            rebuild = daily_rebuild(context.instance, parents, PARTITIONED_FEEDS, incremental, daily,
                                    selected - daily)
            context.log.info(f"按日增量模型重建范围 daily models rebuild: {rebuild.reason}")
            days = rebuild.days()
        else:
            days = (None, None)
        # --no-write-json: dagster-dbt reads dbt's events from its output, not the run's artifacts; writing the
        # manifest and run results costs a second or more of CPU per run (the project's manifest.json is
        # ``prepare_dbt_project()``'s, in dbt_project/target/).
        args = ["--no-write-json", "build", "--vars", json.dumps(dbt_vars)]
        if config.full_refresh:
            args.append("--full-refresh")
        home_root = Path(warehouse.path).resolve().parent.parent
        busy = in_use(DataHome(home_root)) if Path(warehouse.path).resolve().parent.name == "warehouse" \
            else nullcontext()      # dbt spills into the home's tmp/duckdb: a rerun's recovery leaves it alone
        with _warehouse_write_lock(warehouse), busy:
            with _partition_env(*days):      # the subprocess starts inside dbt.cli
                invocation = dbt.cli(args, context=context, target_path=dbt_target_path(warehouse))
            yield from invocation.stream()

    return dbt_models


class SewershareDbtCliResource(DbtCliResource):
    """``DbtCliResource`` without the dbt adapter dagster-dbt opens in this process before every invocation.

    That adapter (all of dbt-core imported and a profile loaded: seconds of CPU per run) only serves
    ``fetch_row_counts()`` / ``fetch_column_metadata()``, which this project does not use because they would read
    the DuckDB file from this process while dbt's subprocess writes it. dagster-dbt 0.29 treats a missing
    adapter as a normal case (it is also what happens when creating it fails)."""

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ARG002 - dagster-dbt's private hook
        return None


def dbt_resource(home: DataHome | None = None) -> DbtCliResource:
    """The dbt CLI resource (resource key ``dbt``). The warehouse path comes from the ``warehouse``
    resource at run time, so ``home`` is accepted for symmetry with the other resources only."""
    return SewershareDbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                    dbt_executable=dbt_launcher())
