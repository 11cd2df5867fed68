"""Graph-health asset checks of identity resolution, read from marts.identity_graph_health.

The dbt model keeps one row per build (cluster count, largest cluster, singleton share, merges
and splits against the previous build). These checks judge the latest row; the blocking ones
stop everything downstream of the marts, the serving catalogue included, so a night whose
identity graph collapsed into a giant cluster or lurched against yesterday is not published.
Thresholds come from environment variables with defaults tuned on the demo data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

from orchestration.config import get_settings

HEALTH_KEY = dg.AssetKey(["marts", "identity_graph_health"])
HEALTH_RELATION = "marts.identity_graph_health"


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class Thresholds:
    # A person has a handful of e-mails, phones, cards and a few dozen cookies: a cluster of
    # hundreds of identifiers is junk gluing strangers together.
    max_cluster_size: float = 150
    # Nearly all singletons means linking broke (e.g. a staging column went null).
    max_singleton_share: float = 0.9
    # Customers appear and merge slowly from one night to the next.
    max_customer_count_change: float = 0.2
    max_changed_customer_share: float = 0.1

    @classmethod
    def from_env(cls) -> Thresholds:
        return cls(
            max_cluster_size=_env_float("CLIENTBASE_IDENTITY_MAX_CLUSTER_SIZE", 150),
            max_singleton_share=_env_float("CLIENTBASE_IDENTITY_MAX_SINGLETON_SHARE", 0.9),
            max_customer_count_change=_env_float("CLIENTBASE_IDENTITY_MAX_COUNT_CHANGE", 0.2),
            max_changed_customer_share=_env_float("CLIENTBASE_IDENTITY_MAX_CHANGED_SHARE", 0.1),
        )


@dataclass(frozen=True)
class Verdict:
    passed: bool
    description: str
    metadata: dict[str, float | int | str | None]


def largest_cluster(latest: dict, limits: Thresholds) -> Verdict:
    size = latest.get("largest_customer_size") or 0
    return Verdict(
        passed=size <= limits.max_cluster_size,
        description=f"largest customer has {size} identifiers (limit {limits.max_cluster_size:g})",
        metadata={
            "largest_customer_size": size,
            "largest_customer_id": latest.get("largest_customer_id"),
            "limit": limits.max_cluster_size,
        },
    )


def cluster_count(latest: dict, limits: Thresholds) -> Verdict:
    customers = latest.get("customer_count") or 0
    previous = latest.get("previous_customer_count")
    change = latest.get("customer_count_change_share")
    passed = customers > 0 and (change is None or change <= limits.max_customer_count_change)
    versus = (
        f"{change:.1%} change against {previous} in the previous build"
        if change is not None
        else "no previous build"
    )
    return Verdict(
        passed=passed,
        description=f"{customers} customers, {versus} (limit "
        f"{limits.max_customer_count_change:.0%})",
        metadata={
            "customer_count": customers,
            "previous_customer_count": previous,
            "customer_count_change_share": change,
        },
    )


def singleton_share(latest: dict, limits: Thresholds) -> Verdict:
    share = latest.get("singleton_share")
    passed = share is not None and share <= limits.max_singleton_share
    return Verdict(
        passed=passed,
        description=f"singleton share {share if share is None else f'{share:.1%}'} "
        f"(limit {limits.max_singleton_share:.0%})",
        metadata={
            "singleton_share": share,
            "singleton_customer_count": latest.get("singleton_customer_count"),
        },
    )


def merges_and_splits(latest: dict, limits: Thresholds) -> Verdict:
    customers = latest.get("customer_count") or 0
    changed = sum(latest.get(k) or 0 for k in ("merge_count", "split_count", "id_changed_count"))
    share = changed / customers if customers else 0.0
    return Verdict(
        passed=share <= limits.max_changed_customer_share,
        description=f"{changed} merges/splits/id changes against the previous build = "
        f"{share:.1%} of customers (limit {limits.max_changed_customer_share:.0%})",
        metadata={
            "merge_count": latest.get("merge_count"),
            "split_count": latest.get("split_count"),
            "id_changed_count": latest.get("id_changed_count"),
            "changed_share": share,
        },
    )


def read_latest_health() -> dict | None:
    """The latest build's row of marts.identity_graph_health, or None when there is none."""
    from orchestration.serving import connect_read_only

    path = get_settings().warehouse_path
    if not path.is_file():
        return None
    con = connect_read_only(path)
    try:
        cursor = con.execute(
            f"select * from {HEALTH_RELATION} order by built_at desc, build_id desc limit 1"
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))
    finally:
        con.close()


def _result(check, blocking: bool) -> dg.AssetCheckResult:
    latest = read_latest_health()
    if latest is None:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{HEALTH_RELATION} is empty or missing: the identity build did not run",
        )
    verdict = check(latest, Thresholds.from_env())
    metadata = {k: v for k, v in verdict.metadata.items() if v is not None}
    metadata["build_id"] = latest.get("build_id")
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=verdict.description,
        metadata=metadata,
    )


@dg.asset_check(asset=HEALTH_KEY, blocking=True, description="No giant identity cluster.")
def identity_largest_cluster() -> dg.AssetCheckResult:
    return _result(largest_cluster, blocking=True)


@dg.asset_check(
    asset=HEALTH_KEY,
    blocking=True,
    description="Customers exist and their number moved less than the limit since last build.",
)
def identity_cluster_count() -> dg.AssetCheckResult:
    return _result(cluster_count, blocking=True)


@dg.asset_check(asset=HEALTH_KEY, description="Share of single-identifier customers is sane.")
def identity_singleton_share() -> dg.AssetCheckResult:
    return _result(singleton_share, blocking=False)


@dg.asset_check(
    asset=HEALTH_KEY,
    blocking=True,
    description="Merges and splits against the previous build stay below the limit.",
)
def identity_merges_and_splits() -> dg.AssetCheckResult:
    return _result(merges_and_splits, blocking=True)


identity_checks = [
    identity_largest_cluster,
    identity_cluster_count,
    identity_singleton_share,
    identity_merges_and_splits,
]
