"""The dbt connected-components materialization equals scipy's and needs ~log(n) rounds."""

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
        # every node declared by a self-loop, so isolated nodes take part too
        node_a = np.concatenate([a, np.arange(n)])
        node_b = np.concatenate([b, np.arange(n)])
        frame = {"node_a": node_a.astype(np.int64), "node_b": node_b.astype(np.int64)}  # noqa: F841
        con.execute(f"create table edges_{name} as select * from frame")
        (root / "models" / f"cc_{name}.sql").write_text(
            "{{ config(materialized='connected_components') }}\n"
            f"select node_a, node_b from main.edges_{name}\n"
        )
    con.close()

    result = _dbt(root, "run")
    assert result.returncode == 0, f"dbt run failed:\n{result.stdout[-4000:]}"
    return {"root": root, "db": db_path, "graphs": graphs}


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
        root, "run", "--select", "cc_chain_10000", "--vars", "{identity_components_max_rounds: 2}"
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
        " where table_name like 'cc_chain_10000__cc_%'"
    ).fetchone()
    con.close()
    assert distinct == (1,)
    assert leftovers == (0,)
