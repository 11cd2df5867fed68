"""The dbt connected-components materialization equals scipy's and needs ~log(n) rounds; its
incremental mode gives the same table as a full recompute, and recomputes when an edge is gone."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

REPO_DIR = Path(__file__).resolve().parent.parent
MACRO_DIR = REPO_DIR / "dbt_project" / "macros" / "identity"


def _random_graph(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    # sparse enough for many components of every size, plus isolated declared nodes
    n = 3000
    m = 2600
    a = rng.integers(0, n, m)
    b = rng.integers(0, n, m)
    return a, b, n


def _chains(
    count: int, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    # ids shuffled, so a chain's order says nothing about its ids (the worst case for min-label)
    n = count * length
    ids = rng.permutation(n)
    grid = ids.reshape(count, length)
    return grid[:, :-1].ravel(), grid[:, 1:].ravel(), n


def _hub(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    # one hub joined to 5000 leaves, a few of which carry their own short tails
    leaves = np.arange(1, 5001)
    tails_from = rng.choice(leaves, 300, replace=False)
    tails_to = np.arange(5001, 5301)
    a = np.concatenate([np.zeros(5000, dtype=np.int64), tails_from, [6000]])
    b = np.concatenate([leaves, tails_to, [6001]])
    return a, b, 6002


def _scipy_partition(a: np.ndarray, b: np.ndarray, n: int) -> dict[int, int]:
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # canonical label: smallest node id in the component, like the SQL
    smallest: dict[int, int] = {}
    for node, label in enumerate(labels):
        smallest.setdefault(int(label), node)
    return {node: smallest[int(label)] for node, label in enumerate(labels)}


GRAPHS = {
    "random_graph": lambda rng: _random_graph(rng),
    "chains_200x200": lambda rng: _chains(200, 200, rng),
    "hub": lambda rng: _hub(rng),
    "chain_100": lambda rng: _chains(1, 100, rng),
    "chain_1000": lambda rng: _chains(1, 1000, rng),
    "chain_10000": lambda rng: _chains(1, 10000, rng),
    "chain_100000": lambda rng: _chains(1, 100000, rng),
}


@pytest.fixture(scope="module")
def cc_project(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A minimal dbt project using the real identity macros, one model per graph."""
    root = tmp_path_factory.mktemp("cc_project")
    # named like the real project: the macros dispatch within the `clientbase` namespace
    (root / "dbt_project.yml").write_text(
        textwrap.dedent(
            """\
            name: clientbase
            version: "0.1.0"
            config-version: 2
            profile: cc_test
            model-paths: ["models"]
            macro-paths: ["macros"]
            flags:
              send_anonymous_usage_stats: false
            """
        )
    )
    db_path = root / "cc.duckdb"
    (root / "profiles.yml").write_text(
        textwrap.dedent(
            f"""\
            cc_test:
              target: dev
              outputs:
                dev:
                  type: duckdb
                  path: "{db_path}"
                  threads: 1
            """
        )
    )
    # a symlink to the real macro folder: dbt walks it like its own (it skips symlinked subfolders)
    os.symlink(MACRO_DIR, root / "macros")
    (root / "models").mkdir()

    rng = np.random.default_rng(7)
    graphs = {}
    con = duckdb.connect(str(db_path))
    for name, make in GRAPHS.items():
        a, b, n = make(rng)
        graphs[name] = (a, b, n)
        _write_edges(con, name, a, b, n)
        (root / "models" / f"cc_{name}.sql").write_text(
            "{{ config(materialized='connected_components') }}\n"
            f"select node_a, node_b from main.edges_{name}\n"
        )
    # the graph the incremental test grows night after night (first night: the random graph)
    a, b, n = graphs["random_graph"]
    _write_edges(con, "growing", a, b, n)
    (root / "models" / "cc_growing.sql").write_text(
        "{{ config(materialized='connected_components') }}\n"
        "select node_a, node_b from main.edges_growing\n"
    )
    con.close()

    result = _dbt(root, "run")
    assert result.returncode == 0, f"dbt run failed:\n{result.stdout[-4000:]}"
    return {"root": root, "db": db_path, "graphs": graphs}


def _write_edges(con, name: str, a: np.ndarray, b: np.ndarray, n: int) -> None:
    # every node declared by a self-loop, so isolated nodes take part too
    node_a = np.concatenate([a, np.arange(n)])
    node_b = np.concatenate([b, np.arange(n)])
    frame = {"node_a": node_a.astype(np.int64), "node_b": node_b.astype(np.int64)}  # noqa: F841
    con.execute(f"create or replace table edges_{name} as select * from frame")


def _dbt(root: Path, *args: str) -> subprocess.CompletedProcess:
    # a subprocess, not dbtRunner: dbt-duckdb keeps its connection to the file open in-process
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), *args, "--project-dir", str(root), "--profiles-dir", str(root)]
    command += ["--target-path", str(root / "target"), "--log-path", str(root / "logs")]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("name", list(GRAPHS))
def test_partition_equals_scipy(cc_project: dict, name: str) -> None:
    a, b, n = cc_project["graphs"][name]
    expected = _scipy_partition(a, b, n)
    con = duckdb.connect(str(cc_project["db"]), read_only=True)
    rows = con.execute(f"select node_id, component_id from main.cc_{name}").fetchall()
    con.close()
    got = {int(node): int(component) for node, component in rows}
    assert len(rows) == len(got) == n, "every node exactly once"
    assert got == expected


def _rounds(cc_project: dict) -> dict[str, int]:
    con = duckdb.connect(str(cc_project["db"]), read_only=True)
    rows = con.execute(
        "select model_name, max(round_number) from main.identity_component_rounds group by 1"
    ).fetchall()
    con.close()
    return {model.removeprefix("cc_"): int(rounds) for model, rounds in rows}


def test_rounds_grow_like_log_n_on_chains(cc_project: dict) -> None:
    rounds = _rounds(cc_project)
    for length in (100, 1000, 10000, 100000):
        used = rounds[f"chain_{length}"]
        # contraction keeps about a third of a chain's vertices per round: log1.5 is generous,
        # min-label propagation would need `length` rounds
        assert used <= math.ceil(math.log(length, 1.5)) + 2, (length, used)
    # a thousand times longer chain costs a handful of extra rounds, not a thousand times more
    assert rounds["chain_100000"] - rounds["chain_100"] <= 14, rounds
    assert rounds["chains_200x200"] <= math.ceil(math.log(200, 1.5)) + 4, rounds


def test_round_cap_fails_loudly(cc_project: dict) -> None:
    root = cc_project["root"]
    result = _dbt(
        root, "run", "--select", "cc_chain_10000", "--full-refresh",
        "--vars", "{identity_components_max_rounds: 2}",
    )
    assert result.returncode != 0
    assert "did not converge within 2 rounds" in result.stdout
    # the previous, complete result is untouched: no half-merged clusters were written
    con = duckdb.connect(str(cc_project["db"]), read_only=True)
    distinct = con.execute(
        "select count(distinct component_id) from main.cc_chain_10000"
    ).fetchone()
    leftovers = con.execute(
        "select count(*) from information_schema.tables"
        " where table_name like 'cc_chain_10000__cc_%' and table_name <> 'cc_chain_10000__cc_graph'"
    ).fetchone()
    con.close()
    assert distinct == (1,)
    assert leftovers == (0,)


def _table(db: Path, model: str) -> dict[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(f"select node_id, component_id from main.{model}").fetchall()
    con.close()
    return {int(node): int(component) for node, component in rows}


def _growing_night(cc_project: dict, a: np.ndarray, b: np.ndarray, n: int):
    """Tonight's edge list of `cc_growing`, then `dbt run` of it on last night's table."""
    con = duckdb.connect(str(cc_project["db"]))
    _write_edges(con, "growing", a, b, n)
    con.close()
    result = _dbt(cc_project["root"], "run", "--select", "cc_growing")
    assert result.returncode == 0, result.stdout[-3000:]
    return result


def test_incremental_nights_equal_a_full_recompute(cc_project: dict) -> None:
    db = cc_project["db"]
    a, b, n = cc_project["graphs"]["random_graph"]
    rng = np.random.default_rng(11)

    # night 2: new edges between old nodes and 300 new nodes, nothing removed -> incremental
    n2 = n + 300
    a2 = np.concatenate([a, rng.integers(0, n2, 700)])
    b2 = np.concatenate([b, rng.integers(0, n2, 700)])
    result = _growing_night(cc_project, a2, b2, n2)
    assert "cc_growing: incremental update:" in result.stdout
    assert _table(db, "cc_growing") == _scipy_partition(a2, b2, n2)

    # night 3: 50 of last night's edges are gone (an exclusion cut them) -> full recompute
    keep = np.ones(len(a2), dtype=bool)
    keep[rng.choice(len(a2), 50, replace=False)] = False
    a3, b3 = a2[keep], b2[keep]
    result = _growing_night(cc_project, a3, b3, n2)
    assert "cc_growing: full recompute of the identity graph:" in result.stdout
    assert "edge(s) of the last build are gone" in result.stdout
    assert _table(db, "cc_growing") == _scipy_partition(a3, b3, n2)

    # night 4: nothing new -> incremental with no rounds, same table
    result = _growing_night(cc_project, a3, b3, n2)
    assert "cc_growing: incremental update: 0 new link(s)" in result.stdout
    assert _table(db, "cc_growing") == _scipy_partition(a3, b3, n2)
