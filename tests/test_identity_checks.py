"""Unit tests of the identity scoring arithmetic and the graph-health verdicts."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.checks.identity import (
    Thresholds,
    cluster_count,
    largest_cluster,
    merges_and_splits,
    singleton_share,
)
from orchestration.identity_score import score


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def test_score_counts_pairs_and_splits() -> None:
    truth = _frame(
        [
            ("crm_contact", "1", "P1"),
            ("shop_order", "a", "P1"),
            ("shop_order", "b", "P1"),
            ("crm_contact", "2", "P2"),
            ("shop_order", "c", "P2"),
            ("web_cookie", "x", ""),  # belongs to nobody
            ("pos_receipt", "gone", "P2"),  # quarantined: not in the warehouse
        ],
        ["record_type", "record_id", "person_id"],
    )
    resolved = _frame(
        [
            ("crm_contact", "1", "C1"),
            ("shop_order", "a", "C1"),
            ("shop_order", "b", None),  # unresolved: merges with nothing
            ("crm_contact", "2", "C2"),
            ("shop_order", "c", "C2"),
            ("web_cookie", "x", "C2"),  # junk merged into C2: a wrong pair with each of 2, c
        ],
        ["record_type", "record_id", "customer_id"],
    )
    result = score(resolved, truth)
    # merged pairs: C1 {1,a} = 1, C2 {2,c,x} = 3; correct: (1,a) and (2,c)
    assert result.merged_pairs == 4
    assert result.correct_pairs == 2
    assert result.precision == pytest.approx(0.5)
    # true pairs: P1 {1,a,b} = 3, P2 {2,c} = 1
    assert result.true_pairs == 4
    assert result.recall == pytest.approx(0.5)
    # P1 is split (b is unresolved), P2 is whole
    assert (result.people_split, result.people) == (1, 2)
    assert result.missing_records == 1
    assert result.records_scored == 6


def test_perfect_resolution_scores_one() -> None:
    truth = _frame(
        [("crm_contact", "1", "P1"), ("shop_order", "a", "P1"), ("shop_order", "b", "P2")],
        ["record_type", "record_id", "person_id"],
    )
    resolved = _frame(
        [("crm_contact", "1", "C1"), ("shop_order", "a", "C1"), ("shop_order", "b", "C2")],
        ["record_type", "record_id", "customer_id"],
    )
    result = score(resolved, truth)
    assert (result.precision, result.recall, result.split_share) == (1.0, 1.0, 0.0)


HEALTHY = {
    "build_id": "b2",
    "customer_count": 3000,
    "previous_customer_count": 2950,
    "customer_count_change_share": 50 / 2950,
    "singleton_customer_count": 1500,
    "singleton_share": 0.5,
    "largest_customer_size": 12,
    "largest_customer_id": "abc",
    "merge_count": 20,
    "split_count": 3,
    "id_changed_count": 1,
}


@pytest.mark.parametrize(
    "check", [largest_cluster, cluster_count, singleton_share, merges_and_splits]
)
def test_healthy_graph_passes(check) -> None:
    assert check(HEALTHY, Thresholds()).passed


@pytest.mark.parametrize(
    ("check", "change"),
    [
        (largest_cluster, {"largest_customer_size": 4000}),
        (cluster_count, {"customer_count_change_share": 0.5, "customer_count": 1475}),
        (cluster_count, {"customer_count": 0}),
        (singleton_share, {"singleton_share": 0.99}),
        (singleton_share, {"singleton_share": None}),
        (merges_and_splits, {"merge_count": 900}),
    ],
)
def test_unhealthy_graph_fails(check, change: dict) -> None:
    verdict = check({**HEALTHY, **change}, Thresholds())
    assert not verdict.passed
    assert verdict.description


def test_first_build_has_no_previous_to_compare() -> None:
    first = {**HEALTHY, "previous_customer_count": None, "customer_count_change_share": None}
    verdict = cluster_count(first, Thresholds())
    assert verdict.passed
    assert "no previous build" in verdict.description


def test_thresholds_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTBASE_IDENTITY_MAX_CLUSTER_SIZE", "10")
    assert not largest_cluster(HEALTHY, Thresholds.from_env()).passed
