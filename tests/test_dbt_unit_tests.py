"""dbt unit tests: the nightly build skips them (fixed inputs, nothing the night's data can
change), so the suite runs every one of them here, against a copy of the S build."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e


def test_the_nightly_build_skips_unit_tests(built_s):
    # dagster-dbt writes each invocation's results into its own folder under the target path
    (run_results,) = built_s.target_path.glob("*/run_results.json")
    results = json.loads(run_results.read_text())["results"]
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert "unit_test" not in kinds
    assert {"model", "test"} <= kinds


def test_every_dbt_unit_test_passes(built_s, tmp_path):
    env = built_s.private_copy(tmp_path)
    manifest = json.loads((built_s.target_path / "manifest.json").read_text())
    expected = {uid for uid in manifest["unit_tests"]}
    assert len(expected) >= 29, "the project's unit tests went missing"
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "test", "--select", "resource_type:unit_test",
         "--project-dir", str(REPO_DIR / "dbt_project"), "--profiles-dir", str(REPO_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-5000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    results = [r for r in results if r["unique_id"].startswith("unit_test.")]  # not the hooks
    assert {r["unique_id"] for r in results} == expected
    assert {r["status"] for r in results} == {"pass"}



def test_unit_tests_are_declared_where_dbt_reads_them():
    """dbt reads `unit_tests:` only at a file's top level: nested under a model it is silently
    ignored, and its tests never run (four files had that, one with a malformed expectation)."""
    import yaml

    nested = []
    for yml in sorted((REPO_DIR / "dbt_project" / "models").rglob("*.yml")):
        document = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
        models = document.get("models", [])
        nested += [f"{yml.name}: {m['name']}" for m in models if "unit_tests" in m]
    assert not nested, f"unit_tests nested under models (move them to the top level): {nested}"
