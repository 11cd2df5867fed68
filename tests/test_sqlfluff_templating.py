"""The sqlfluff setup renders dbt models offline with the project's real macros.

`make lint` lints everything; this checks that what it lints is the SQL dbt would run, not
a template rendered with stand-ins that silently hide the macros.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlfluff.core import FluffConfig, Linter

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def linter(monkeypatch: pytest.MonkeyPatch) -> Linter:
    # paths in .sqlfluff are relative to the repository root, where `make lint` runs
    monkeypatch.chdir(REPO)
    return Linter(config=FluffConfig.from_path(str(REPO)))


def test_project_macros_and_dispatch_render_their_duckdb_sql(linter: Linter) -> None:
    rendered = linter.render_file(
        str(REPO / "dbt_project/models/staging/pos/stg_pos__receipts.sql"), linter.config
    )
    assert not rendered.templater_violations, rendered.templater_violations
    sql = rendered.templated_variants[0].templated_str
    # clientbase.normalise_phone → adapter.dispatch → duckdb__regexp_replace_all
    assert "regexp_replace(" in sql and "'g')" in sql
    # dbt.safe_cast resolves to the project's duckdb__safe_cast (try_cast), as dbt would
    assert "try_cast(total_amount as decimal(18, 2))" in sql
    assert "try_strptime(trim(created_at_local), '%d.%m.%Y %H:%M:%S')" in sql
    assert "{{" not in sql and "{%" not in sql


def test_a_macro_return_value_keeps_its_type(linter: Linter) -> None:
    """dbt's return() hands back a value, not text: a macro returning a list is iterated by its
    items (not by the characters of its repr), and a macro returning false is false."""
    rendered = linter.render_file(
        str(REPO / "dbt_project/models/marts/identity/dim_customers.sql"), linter.config
    )
    assert not rendered.templater_violations, rendered.templater_violations
    sql = rendered.templated_variants[0].templated_str
    for system in ("crm", "loyalty", "shop", "pos", "surveys", "web", "messaging"):
        assert f"max(case when source_system = '{system}' then 1 else 0 end)" in sql
    assert "source_system = '['" not in sql

    activity = linter.render_file(
        str(REPO / "dbt_project/models/intermediate/hygiene/int_customer_activity_summarised.sql"),
        linter.config,
    ).templated_variants[0].templated_str
    # event_summary_before_as_of() returns false without a warehouse to ask (execute = False),
    # so the branch that reads the event logs is the one rendered
    assert "stg_web__events" in activity
