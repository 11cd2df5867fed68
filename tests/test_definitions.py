"""The code location loads; its asset graph has the expected keys, groups, checks, automation."""

from __future__ import annotations

import importlib
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.extraction.schemas import DAILY_SYSTEMS, SYSTEMS

STAGING_MODELS = [
    "stg_crm__contacts",
    "stg_shop__orders",
    "stg_shop__order_lines",
    "stg_pos__receipts",
    "stg_pos__receipt_lines",
    "stg_loyalty__cards",
    "stg_web__events",
    "stg_messaging__events",
    "stg_surveys__responses",
    "stg_reference__stores",
    "stg_reference__products",
]


@pytest.fixture(scope="module")
def manifest(dbt_manifest) -> dict:
    return json.loads(dbt_manifest.read_text())


@pytest.fixture(scope="module")
def defs(dbt_manifest) -> dg.Definitions:
    return importlib.import_module("orchestration.definitions").defs


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


@pytest.fixture(scope="module")
def translator():
    from orchestration.translator import ClientbaseTranslator

    return ClientbaseTranslator()


def _models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)


def test_extraction_assets_are_partitioned_per_system(graph):
    from orchestration.assets.extraction import EXTRACTION_ASSET_KEYS, raw_asset_key

    keys = graph.get_all_asset_keys()
    assert len(EXTRACTION_ASSET_KEYS) == 11
    for key in EXTRACTION_ASSET_KEYS:
        assert key in keys, key
        node = graph.get(key)
        assert node.group_name == "extraction"
        system = key.path[1]
        assert (node.partitions_def is not None) == (system in DAILY_SYSTEMS), key
        if node.partitions_def is not None:
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert {k.path[1] for k in EXTRACTION_ASSET_KEYS} == set(SYSTEMS)
    # each extraction asset carries the two extraction checks
    checks = {c for c in graph.asset_check_keys}
    for key in EXTRACTION_ASSET_KEYS:
        assert dg.AssetCheckKey(key, "row_conservation") in checks
        assert dg.AssetCheckKey(key, "quarantine_share") in checks
    assert raw_asset_key("crm", "contacts") == dg.AssetKey(["raw", "crm", "contacts"])


def test_every_dbt_model_is_an_asset(graph, manifest, translator):
    keys = graph.get_all_asset_keys()
    models = _models(manifest)
    names = {m["name"] for m in models}
    assert set(STAGING_MODELS) <= names
    for model in models:
        assert translator.get_asset_key(model) in keys, model["name"]
    assert dg.AssetKey(["staging", "stg_crm__contacts"]) in keys


def test_raw_sources_are_the_extraction_assets(graph, manifest, translator):
    from orchestration.assets.extraction import EXTRACTION_ASSET_KEYS

    raw_sources = [s for s in manifest["sources"].values() if s["schema"] == "raw"]
    source_keys = {translator.get_asset_key(s) for s in raw_sources}
    # every landing table is a dbt source, and every raw source is an asset something writes
    # (the extraction assets, or another module's raw-zone writer)
    assert set(EXTRACTION_ASSET_KEYS) <= source_keys
    for key in source_keys:
        assert key.path[0] == "raw" and len(key.path) == 3, key
        assert graph.get(key).is_materializable, key
    stg = graph.get(dg.AssetKey(["staging", "stg_crm__contacts"]))
    assert dg.AssetKey(["raw", "crm", "contacts"]) in stg.parent_keys
    # no dangling source stubs: every raw parent of a staging model is materialisable
    for name in STAGING_MODELS:
        for parent in graph.get(dg.AssetKey(["staging", name])).parent_keys:
            if parent.path[0] == "raw":
                assert graph.get(parent).is_materializable, parent


def test_groups_follow_the_model_folders(graph, manifest, translator):
    for model in _models(manifest):
        folders = model["fqn"][1:-1]
        group = graph.get(translator.get_asset_key(model)).group_name
        if folders[0] == "staging":
            assert group == "staging", model["name"]
        elif len(folders) > 1:
            assert group == {"orders": "sales"}.get(folders[1], folders[1]), model["name"]


def test_dbt_tests_are_asset_checks(graph, manifest):
    check_names = {c.name for c in graph.asset_check_keys}
    tests = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and n.get("attached_node", "").startswith("model.")
    ]
    assert tests, "the dbt project has no tests attached to models"
    missing = [t["name"] for t in tests if t["name"] not in check_names]
    assert not missing, missing[:10]


def test_nightly_schedule_runs_yesterday_then_everything_downstream(defs, graph, manifest):
    from orchestration.assets.extraction import EXTRACTION_ASSET_KEYS
    from orchestration.dbt_assets import AS_OF_DATE_TAG
    from orchestration.schedules import nightly_build_schedule

    schedule = defs.resolve_schedule_def("nightly_build_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Moscow"
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 22, 2, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    )
    request = nightly_build_schedule(context)
    assert request.partition_key == "2026-11-21"
    assert request.tags[AS_OF_DATE_TAG] == "2026-11-22"
    assert request.run_key == "nightly-2026-11-21"
    # 2026-11-22 is a Sunday: the week's run that tests every row (data_tests_since_last_pass.sql)
    assert json.loads(
        request.run_config["ops"]["clientbase_dbt_assets"]["config"]["vars_json"]
    ) == {"data_tests_whole": True}
    monday = nightly_build_schedule(
        dg.build_schedule_context(
            scheduled_execution_time=datetime(
                2026, 11, 23, 2, 0, tzinfo=ZoneInfo("Europe/Moscow")
            )
        )
    )
    assert monday.partition_key == "2026-11-22" and not monday.run_config

    job = defs.resolve_job_def("nightly_build")
    selected = job.asset_layer.selected_asset_keys
    assert set(EXTRACTION_ASSET_KEYS) <= selected
    model_keys = {dg.AssetKey([m["config"]["schema"], m["name"]]) for m in _models(manifest)}
    assert model_keys <= selected


def test_landing_sensor_targets_the_extraction_assets(defs):
    from orchestration.assets.extraction import EXTRACTION_ASSET_KEYS

    sensor = defs.resolve_sensor_def("landing_sensor")
    job = defs.resolve_job_def(sensor.job_name)
    assert job.asset_layer.selected_asset_keys == set(EXTRACTION_ASSET_KEYS)


@pytest.mark.parametrize(
    ("config", "tags", "expected"),
    [
        ("2026-05-01", {"dagster/partition": "2026-01-01"}, "2026-05-01"),
        (None, {"clientbase/as_of_date": "2026-04-30"}, "2026-04-30"),
        (None, {"dagster/partition": "2026-10-31"}, "2026-11-01"),
        (
            None,
            {
                "dagster/asset_partition_range_start": "2026-01-01",
                "dagster/asset_partition_range_end": "2026-03-31",
            },
            "2026-04-01",
        ),
        (None, {}, None),
    ],
)
def test_as_of_date_passed_to_dbt(dbt_manifest, config, tags, expected):
    from orchestration.dbt_assets import as_of_date_for_run

    assert as_of_date_for_run(config, tags) == expected


def test_as_of_environment_sets_the_date_for_dbt_and_restores_the_environment(monkeypatch):
    import os

    from orchestration.project import AS_OF_ENV, as_of_environment

    monkeypatch.setenv(AS_OF_ENV, "2026-01-01")
    with as_of_environment("2026-11-01"):
        assert os.environ[AS_OF_ENV] == "2026-11-01"
    assert os.environ[AS_OF_ENV] == "2026-01-01"
    with as_of_environment(None):  # nothing to pin: the environment stays as it is
        assert os.environ[AS_OF_ENV] == "2026-01-01"
    monkeypatch.delenv(AS_OF_ENV)
    with as_of_environment("2026-11-02"):
        assert os.environ[AS_OF_ENV] == "2026-11-02"
    assert AS_OF_ENV not in os.environ


def test_the_as_of_date_comes_from_the_var_else_the_environment(dbt_manifest, tmp_path):
    """What the macro renders: var as_of_date first, then CLIENTBASE_AS_OF_DATE (the nightly
    date is the variable, not a var, so that a new date does not cost dbt a full re-parse).
    Without either it renders current_date, as before the variable existed (one dbt
    invocation less here; the demo's builds without a date use it)."""
    import os
    import subprocess

    from orchestration.config import DBT_PROJECT_DIR, REPO_DIR
    from orchestration.project import AS_OF_ENV

    def rendered(env_value: str, dbt_vars: str | None = None) -> str:
        env = dict(os.environ, CLIENTBASE_DATA_DIR=str(tmp_path),
                   DBT_TARGET_PATH=str(tmp_path / "target"))
        env[AS_OF_ENV] = env_value
        command = ["dbt", "compile", "--quiet", "--profiles-dir", str(REPO_DIR),
                   "--inline", "select {{ as_of_date() }} as d"]
        if dbt_vars:
            command += ["--vars", dbt_vars]
        done = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return " ".join(done.stdout.split())

    assert "cast('2026-11-01' as date)" in rendered("2026-11-01")
    assert "cast('2026-05-31' as date)" in rendered("2026-11-01", "{as_of_date: '2026-05-31'}")
