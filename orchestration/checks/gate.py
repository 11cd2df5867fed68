"""Publishing gate: list the error-severity check failures that must stop tonight's publication."""

import json
from pathlib import Path

# dbt writes `fail` for an error-severity test over its threshold and `warn` for a warn-severity
# one (or an error test that only crossed warn_if); `error` means the node itself could not run.
_BLOCKING_TEST_STATUSES = frozenset({"fail", "error"})
_BLOCKING_NODE_STATUSES = frozenset({"error"})

GX_RESULTS_SUBDIR = "results"


def dbt_blocking_failures(run_results_path: str | Path) -> list[str]:
    """Error-severity test failures and failed nodes in one dbt run_results.json."""
    path = Path(run_results_path)
    if not path.exists():
        # No evidence that the build passed is a reason not to publish.
        return [f"dbt run results not found at {path}: the build did not run or did not finish"]
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
    except (json.JSONDecodeError, KeyError) as error:
        return [f"dbt run results at {path} are unreadable: {error}"]
    failures = []
    for result in results:
        unique_id = result.get("unique_id", "?")
        status = result.get("status")
        is_test = unique_id.startswith(("test.", "unit_test."))
        blocking = _BLOCKING_TEST_STATUSES if is_test else _BLOCKING_NODE_STATUSES
        if status in blocking:
            message = (result.get("message") or "").strip().splitlines()
            detail = f": {message[0]}" if message else ""
            failures.append(f"dbt {unique_id} {status}{detail}")
    return failures


def gx_blocking_failures(gx_results_dir: str | Path) -> list[str]:
    """Failed error-severity Great Expectations checks, from the latest result of each check."""
    folder = Path(gx_results_dir)
    failures = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("severity") == "ERROR" and not result.get("passed", False):
            failed = ", ".join(result.get("failed_expectations", [])) or "see Data Docs"
            failures.append(
                f"gx {result.get('check_name', path.stem)} on partition "
                f"{result.get('partition') or '-'} failed: {failed}"
            )
    return failures


def failed_blocking_checks(
    run_results_path: str | Path, gx_results_dir: str | Path | None = None
) -> list[str]:
    """Everything that blocks publication: dbt error-severity failures, then GX error checks.

    An empty list means publishing may go ahead; each entry is a sentence for the UI / logs.
    `gx_results_dir` defaults to `<reports>/gx/results` from the settings.
    """
    if gx_results_dir is None:
        from orchestration.config import get_settings

        gx_results_dir = get_settings().reports_dir / "gx" / GX_RESULTS_SUBDIR
    return dbt_blocking_failures(run_results_path) + gx_blocking_failures(gx_results_dir)
