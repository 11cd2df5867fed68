"""Benchmark: every figure as a ratio to a reference measured in the same run, on one machine.

    python benchmarks/run.py --size S|M|L [--landing DIR] [--only full|night|identity|marts|spark]

Sections (see benchmarks/README.md): `full` (extraction + dbt build + checks vs the DuckDB scan
floor of the same landing files), `night` (the last ~1% of days loaded as a nightly run vs the
full build), `identity` (our SQL connected components vs scipy and Splink), `marts` (RFM and
cohort marts in dbt vs the same marts in pandas), `spark` (noted, see the README). Results go to
benchmarks/results/<date>-<commit>-<size>.json and .md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_DIR / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
MACRO_DIR = REPO_DIR / "dbt_project" / "macros" / "identity"
SECTIONS = ("full", "night", "identity", "marts", "spark")
GIB = 1024**3

sys.path.insert(0, str(REPO_DIR))


# ---------------------------------------------------------------------------------------------
# measuring


class Measured:
    """Wall time, peak resident memory of the whole process tree, exit code, output, and the
    machine's CPU busy share over the run (all cores; nothing else should be running)."""

    def __init__(self, seconds: float, peak_rss: int, returncode: int, output: str,
                 cpu_busy: float | None = None) -> None:
        self.seconds = seconds
        self.peak_rss = peak_rss
        self.returncode = returncode
        self.output = output
        self.cpu_busy = cpu_busy


def cpu_busy_share(before, after) -> float | None:
    """Share of the machine's CPU time that was busy between two psutil.cpu_times() readings:
    near 1.0 means every core worked the whole time, so running steps side by side cannot make
    a build faster; only doing less work can."""
    total = sum(after) - sum(before)
    if total <= 0:
        return None
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0) - getattr(before, "iowait", 0))
    return 1 - idle / total


def run_measured(
    command: list[str], env: dict[str, str], log: Path, timeout: float | None = None
) -> Measured:
    """Run a command, sampling the summed RSS of it and all its children every 0.2 s (dbt,
    DuckDB and Dagster spawn subprocesses: the children's own maxrss would miss the sum)."""
    import psutil

    log.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    started = time.perf_counter()
    cpu_before = psutil.cpu_times()
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=REPO_DIR)
        root = psutil.Process(proc.pid)
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                try:
                    procs = [root, *root.children(recursive=True)]
                    rss = 0
                    for p in procs:
                        with contextlib.suppress(psutil.Error):
                            rss += p.memory_info().rss
                    peak = max(peak, rss)
                except psutil.Error:
                    pass
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            returncode = -9
        stop.set()
        sampler.join()
    return Measured(time.perf_counter() - started, peak, returncode, log.read_text(),
                    cpu_busy_share(cpu_before, psutil.cpu_times()))


class Report:
    """The figures of one run, printed as they come and written as JSON + markdown."""

    def __init__(self, size: str, landing: Path) -> None:
        self.size = size
        self.landing = landing
        self.figures: list[dict] = []
        self.notes: list[str] = []
        self.extra: dict[str, object] = {}

    def add(self, section: str, figure: str, value: float | str, unit: str,
            reference: str = "", reference_value: float | None = None,
            ratio: float | None = None, target: str = "", met: bool | None = None) -> None:
        row = {"section": section, "figure": figure, "value": value, "unit": unit,
               "reference": reference, "reference_value": reference_value, "ratio": ratio,
               "target": target, "met": met}
        self.figures.append(row)
        print(_row_line(row), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def markdown(self, meta: dict) -> str:
        lines = [
            f"# Benchmark, size {self.size}{' (' + meta['tag'] + ')' if meta.get('tag') else ''}, "
            f"commit {meta['commit']} ({meta['started_at']})",
            "",
            f"Machine: {meta['cpus']} CPUs, {meta['memory_gib']:.0f} GiB; landing "
            f"{meta['landing_gib']:.2f} GiB in {self.landing}.",
            "",
            "| section | figure | value | reference | ratio | target | met |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.figures:
            lines.append(
                f"| {r['section']} | {r['figure']} | {_fmt(r['value'])} {r['unit']} | "
                f"{r['reference']}{' = ' + _fmt(r['reference_value']) if r['reference_value'] is not None else ''} | "  # noqa: E501
                f"{_fmt_ratio(r['ratio'])} | {r['target']} | {_met(r['met'])} |"
            )
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        for key, value in self.extra.items():
            lines += ["", f"## {key}", "", "```", str(value), "```"]
        return "\n".join(lines) + "\n"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.3f}×" if ratio < 10 else f"{ratio:.1f}×"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[met]


def _row_line(r: dict) -> str:
    ref = r["reference"] + (f" = {_fmt(r['reference_value'])}" if r["reference_value"] is not None
                            else "")
    return (f"{r['section']:<9} {r['figure']:<44} {_fmt(r['value']):>12} {r['unit']:<6} "
            f"{_fmt_ratio(r['ratio']):>9}  vs {ref:<36} {r['target']} {_met(r['met'])}")


# ---------------------------------------------------------------------------------------------
# environment of the build under test


class Workspace:
    """A private data dir, dbt target and Dagster home for the build under test."""

    def __init__(self, root: Path, landing: Path) -> None:
        self.root = root
        self.landing = landing
        self.data = root / "data"
        self.target = root / "target"
        self.dagster_home = root / "dagster_home"

    def reset(self) -> None:
        for path in (self.data, self.target, self.dagster_home, self.root / "logs"):
            if path.exists():
                shutil.rmtree(path)
        for path in (self.data, self.target, self.dagster_home):
            path.mkdir(parents=True)
        # as `make setup` writes it: no usage statistics from a benchmark's Dagster instance
        (self.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "CLIENTBASE_DATA_DIR": str(self.data),
            "CLIENTBASE_LANDING_DIR": str(self.landing),
            "DBT_TARGET_PATH": str(self.target),
            "DBT_LOG_PATH": str(self.root / "logs"),
            "DAGSTER_HOME": str(self.dagster_home),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    def latest_run_results(self) -> Path | None:
        found = sorted(self.target.rglob("run_results.json"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None


def landing_days(landing: Path) -> list[str]:
    from orchestration.extraction.loader import discover_days
    from orchestration.extraction.schemas import DAILY_SYSTEMS

    return sorted({d for s in DAILY_SYSTEMS for d in discover_days(landing, s)})


def landing_files(landing: Path, days: list[str]) -> dict[str, list[str]]:
    """Landing files per (system/table), restricted to the given day folders."""
    from orchestration.extraction.schemas import SYSTEMS, get_table  # noqa: F401

    wanted = set(days)
    files: dict[str, list[str]] = {}
    for path in sorted(landing.glob("*/*/*")):
        system, day, name = path.relative_to(landing).parts
        if system.startswith("_") or day not in wanted or not path.is_file():
            continue
        files.setdefault(f"{system}/{name}", []).append(str(path))
    for path in sorted((landing / "reference").glob("*.csv")):
        files.setdefault(f"reference/{path.name}", []).append(str(path))
    return files


def scan_floor(files: dict[str, list[str]]) -> tuple[float, int]:
    """Seconds for DuckDB (2 threads) to read and parse every file once; rows read."""
    con = duckdb.connect()
    con.execute("set threads = 2")
    rows = 0
    started = time.perf_counter()
    for key, paths in files.items():
        if key.endswith(".csv"):
            sql = ("select count(*) from read_csv(?, all_varchar = true, header = true,"
                   " ignore_errors = true, strict_mode = false, null_padding = true)")
        else:
            sql = ("select count(*) from read_json_objects(?, format = 'newline_delimited',"
                   " ignore_errors = true)")
        rows += con.execute(sql, [paths]).fetchone()[0]
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed, rows


def cli_build(ws: Workspace, first: str, last: str, log: Path) -> Measured:
    command = [sys.executable, "-m", "orchestration.cli", "build", "--start", first,
               "--end", last]
    return run_measured(command, ws.env(), log)


def slowest_models(run_results: Path, count: int = 10) -> list[tuple[str, float]]:
    results = json.loads(run_results.read_text())["results"]
    models = [(r["unique_id"].split(".")[-1], float(r["execution_time"])) for r in results
              if r["unique_id"].startswith(("model.", "seed."))]
    return sorted(models, key=lambda m: -m[1])[:count]


def dagster_steps(report: Report, section: str, measured: Measured, count: int = 8) -> None:
    """The build's Dagster steps, slowest first (orchestration.cli prints them): where the time
    outside dbt goes (extraction, contact-point checks, GX, publishing, exports, reports)."""
    steps = re.findall(r"^    step +([0-9.]+) s  (\S+)$", measured.output, flags=re.MULTILINE)
    if not steps:
        return
    report.extra[f"Dagster steps ({section})"] = "\n".join(
        f"{float(seconds):8.1f} s  {step}" for seconds, step in steps)
    for seconds, step in steps[:count]:
        report.add(section, f"  step {step}", float(seconds), "s", f"{section} build",
                   measured.seconds, float(seconds) / measured.seconds)


def cpu_busy(report: Report, section: str, measured: Measured) -> None:
    if measured.cpu_busy is not None:
        cores = os.cpu_count() or 1
        report.add(section, f"  CPU busy, all {cores} cores", measured.cpu_busy * 100, "%",
                   "CPU-seconds available", measured.seconds * cores, measured.cpu_busy)


def holdback_days(days: list[str], landing: Path) -> int:
    """Number of final days that hold about 1% of the rows (at least one day)."""
    return max(1, round(len(days) * 0.01))


# ---------------------------------------------------------------------------------------------
# sections


def section_full(report: Report, ws: Workspace, build_days: list[str]) -> Measured | None:
    files = landing_files(ws.landing, build_days)
    report.extra["landing files read"] = "\n".join(f"{k}: {len(v)} files" for k, v in files.items())
    floor_s, floor_rows = scan_floor(files)
    report.add("full", "scan floor: DuckDB reads every landing file", floor_s, "s",
               f"{floor_rows:,} rows", None, None)
    ws.reset()
    measured = cli_build(ws, build_days[0], build_days[-1], ws.root / "full_build.log")
    if measured.returncode != 0:
        report.note(f"full build exited {measured.returncode}; log {ws.root / 'full_build.log'}")
    report.add("full", f"full build ({len(build_days)} days): wall", measured.seconds, "s",
               "scan floor", floor_s, measured.seconds / floor_s, "≤ 5× and ≤ 600 s",
               measured.seconds <= 5 * floor_s and measured.seconds <= 600)
    report.add("full", "full build: rows per second", floor_rows / measured.seconds, "rows/s",
               "scan floor", floor_rows / floor_s, (floor_rows / measured.seconds)
               / (floor_rows / floor_s))
    landing_bytes = sum(Path(p).stat().st_size for v in files.values() for p in v)
    report.add("full", "full build: peak memory (process tree)", measured.peak_rss / GIB, "GiB",
               "landing size (GiB)", landing_bytes / GIB, measured.peak_rss / landing_bytes,
               "fits 24 GiB", measured.peak_rss < 20 * GIB)
    cpu_busy(report, "full", measured)
    match = re.search(r"history .*? in (\d+)s", measured.output)
    if match:
        report.add("full", "  of which: history extraction (outside Dagster)",
                   float(match.group(1)), "s", "full build", measured.seconds,
                   float(match.group(1)) / measured.seconds)
    run_results = ws.latest_run_results()
    if run_results:
        results = json.loads(run_results.read_text())
        dbt_seconds = float(results.get("elapsed_time") or 0)
        report.add("full", "  of which: dbt build (elapsed)", dbt_seconds, "s", "full build",
                   measured.seconds, dbt_seconds / measured.seconds)
        statuses: dict[str, int] = {}
        for r in results["results"]:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        report.extra["dbt node statuses (full build)"] = json.dumps(statuses)
        slow = slowest_models(run_results)
        report.extra["slowest ten models (full build)"] = "\n".join(
            f"{seconds:8.2f} s  {name}" for name, seconds in slow)
        for name, seconds in slow[:3]:
            report.add("full", f"  slow model {name}", seconds, "s", "dbt build", dbt_seconds,
                       seconds / dbt_seconds if dbt_seconds else None)
    tail = "\n".join(line for line in measured.output.splitlines()
                     if line.startswith(("history", "Dagster run", "    failed")))
    report.extra["full build outcome"] = tail
    dagster_steps(report, "full", measured)
    return measured


def section_night(report: Report, ws: Workspace, night_days: list[str], all_files_rows: int,
                  full: Measured | None) -> None:
    files = landing_files(ws.landing, night_days)
    _, new_rows = scan_floor(files)
    measured = cli_build(ws, night_days[0], night_days[-1], ws.root / "night_build.log")
    if measured.returncode != 0:
        report.note(f"night exited {measured.returncode}; log {ws.root / 'night_build.log'}")
    share = new_rows / all_files_rows if all_files_rows else None
    report.add("night", f"new data: {len(night_days)} day(s)", new_rows, "rows",
               "all landing rows", all_files_rows, share)
    if full is not None:
        report.add("night", "incremental night: wall", measured.seconds, "s", "full build",
                   full.seconds, measured.seconds / full.seconds, "≤ 0.10×",
                   measured.seconds <= 0.10 * full.seconds)
    else:
        report.add("night", "incremental night: wall", measured.seconds, "s")
    report.add("night", "incremental night: peak memory", measured.peak_rss / GIB, "GiB",
               "full build", full.peak_rss / GIB if full else None,
               measured.peak_rss / full.peak_rss if full and full.peak_rss else None)
    cpu_busy(report, "night", measured)
    run_results = ws.latest_run_results()
    if run_results:
        slow = slowest_models(run_results)
        report.extra["slowest ten models (night)"] = "\n".join(
            f"{seconds:8.2f} s  {name}" for name, seconds in slow)
        elapsed = float(json.loads(run_results.read_text()).get("elapsed_time") or 0)
        report.add("night", "  of which: dbt build (elapsed)", elapsed, "s", "night",
                   measured.seconds, elapsed / measured.seconds)
    dagster_steps(report, "night", measured)


# identity ------------------------------------------------------------------------------------


def synthetic_graphs(scale: float, rng: np.random.Generator) -> dict[str, tuple]:
    """The hard shapes of the issue; `scale` shrinks them for quick runs."""
    graphs = {}
    n = int(1_000_000 * scale)
    m = int(1.2 * n)  # average degree 2.4 > 1: one giant component and a tail of small ones
    graphs["random_giant"] = (rng.integers(0, n, m), rng.integers(0, n, m), n)
    count = length = int(1000 * scale ** 0.5)
    ids = rng.permutation(count * length).reshape(count, length)
    graphs[f"chains_{count}x{length}"] = (ids[:, :-1].ravel(), ids[:, 1:].ravel(), count * length)
    # a junk phone shared by `records` records, each of which has its own e-mail as well
    records = int(100_000 * scale)
    leaves = np.arange(1, records + 1)
    own = np.arange(records + 1, 2 * records + 1)
    graphs[f"junk_hub_{records}"] = (
        np.concatenate([np.zeros(records, dtype=np.int64), leaves]),
        np.concatenate([leaves, own]),
        2 * records + 1,
    )
    return graphs


def _cc_project(root: Path) -> Path:
    """A minimal dbt project on the real identity macros (as tests/test_identity_components.py)."""
    if root.exists():
        shutil.rmtree(root)
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(textwrap.dedent("""\
        name: clientbase
        version: "0.1.0"
        config-version: 2
        profile: cc_bench
        model-paths: ["models"]
        macro-paths: ["macros"]
        flags:
          send_anonymous_usage_stats: false
        """))
    db = root / "graphs.duckdb"
    (root / "profiles.yml").write_text(textwrap.dedent(f"""\
        cc_bench:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{db}"
              threads: 1
              settings:
                threads: 2
                memory_limit: 8GB
                preserve_insertion_order: false
        """))
    os.symlink(MACRO_DIR, root / "macros")
    return db


def _canonical(nodes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Label every node with the smallest node of its component, in node order."""
    order = np.argsort(nodes, kind="stable")
    nodes, labels = nodes[order], labels[order]
    _, inverse = np.unique(labels, return_inverse=True)
    smallest = np.full(inverse.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, inverse, nodes.astype(np.int64))
    return np.stack([nodes.astype(np.int64), smallest[inverse]])


def scipy_components(db: Path, table: str) -> tuple[float, np.ndarray]:
    """scipy's connected components, timed from reading the edge list into arrays."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    started = time.perf_counter()
    con = duckdb.connect(str(db), read_only=True)
    edges = con.execute(f"select node_a, node_b from main.{table}").fetchnumpy()
    con.close()
    a = edges["node_a"].astype(np.int64)
    b = edges["node_b"].astype(np.int64)
    # the node ids may be sparse: compress them to 0..n-1 first
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    ia, ib = inverse[: len(a)], inverse[len(a):]
    n = len(nodes)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (ia, ib)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    elapsed = time.perf_counter() - started
    return elapsed, _canonical(nodes, labels)


def section_identity(report: Report, work: Path, scale: float, warehouse: Path | None,
                     splink_timeout: float) -> None:
    root = work / "identity"
    db = _cc_project(root)
    rng = np.random.default_rng(2026)
    graphs = synthetic_graphs(scale, rng)
    con = duckdb.connect(str(db))
    names = []
    if warehouse is not None and warehouse.exists():
        # the real input of int_identity_components: filtered edges + linkable identifiers
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        con.execute("""
            create table edges_warehouse as
            select identifier_key_a as node_a, identifier_key_b as node_b
            from wh.intermediate.int_identity_edges_filtered
            union all
            select i.identifier_key, i.identifier_key
            from wh.intermediate.int_identifiers_numbered as i
            anti join wh.intermediate.int_identifiers_excluded as x
                on i.identifier_key = x.identifier_key
        """)
        con.execute("detach wh")
        names.append("warehouse")
    else:
        report.note("identity: no built warehouse, so no real identity edges (run `full` first)")
    for name, (a, b, n) in graphs.items():
        frame = {  # noqa: F841 (read by DuckDB's replacement scan)
            "node_a": np.concatenate([a, np.arange(n)]).astype(np.int64),
            "node_b": np.concatenate([b, np.arange(n)]).astype(np.int64),
        }
        con.execute(f"create table edges_{name} as select * from frame")
        names.append(name)
    sizes = {name: con.execute(
        f"select count(*) filter (where node_a <> node_b), "
        f"(select count(*) from (select node_a from edges_{name} union select node_b "
        f"from edges_{name})) from edges_{name}").fetchone() for name in names}
    con.close()
    for name in names:
        (root / "models" / f"cc_{name}.sql").write_text(
            "{{ config(materialized='connected_components') }}\n"
            f"select node_a, node_b from main.edges_{name}\n")
    dbt = str(Path(sys.executable).with_name("dbt"))
    measured = run_measured(
        [dbt, "run", "--project-dir", str(root), "--profiles-dir", str(root),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        dict(os.environ), root / "dbt_run.log")
    if measured.returncode != 0:
        report.note(f"identity: dbt run failed, see {root / 'dbt_run.log'}")
        return
    model_seconds = {r["unique_id"].split(".")[-1].removeprefix("cc_"): float(r["execution_time"])
                     for r in json.loads((root / "target" / "run_results.json").read_text())
                     ["results"]}
    con = duckdb.connect(str(db), read_only=True)
    rounds = dict(con.execute(
        "select replace(model_name, 'cc_', ''), max(round_number)"
        " from main.identity_component_rounds group by 1").fetchall())
    ours = {name: _canonical(*[np.asarray(c) for c in con.execute(
        f"select node_id, component_id from main.cc_{name}").fetchnumpy().values()])
        for name in names}
    con.close()
    for name in names:
        edges, nodes = sizes[name]
        label = f"{name} ({nodes:,} nodes, {edges:,} edges)"
        scipy_s, scipy_labels = scipy_components(db, f"edges_{name}")
        same = bool(np.array_equal(ours[name], scipy_labels))
        report.add("identity", f"{label}: SQL", model_seconds[name], "s", "scipy", scipy_s,
                   model_seconds[name] / scipy_s, "≤ 10×", model_seconds[name] <= 10 * scipy_s)
        report.add("identity", f"{name}: same partition as scipy", "yes" if same else "NO", "",
                   target="identical", met=same)
        used = int(rounds.get(name, 0))
        report.add("identity", f"{name}: rounds", used, "", "log2(nodes)",
                   float(np.log2(max(nodes, 2))), used / float(np.log2(max(nodes, 2))),
                   "~log n")
        out = root / f"splink_{name}.parquet"
        splink = run_measured(
            [sys.executable, str(BENCH_DIR / "splink_components.py"), str(db), f"edges_{name}",
             str(out)], dict(os.environ), root / f"splink_{name}.log", timeout=splink_timeout)
        if splink.returncode == 0:
            info = json.loads(splink.output.strip().splitlines()[-1])
            got = duckdb.connect().execute(f"select node_id, cluster_id from '{out}'").fetchnumpy()
            splink_same = bool(np.array_equal(
                _canonical(np.asarray(got["node_id"]), np.asarray(got["cluster_id"])),
                scipy_labels))
            report.add("identity", f"{name}: SQL vs Splink 5", model_seconds[name], "s",
                       "Splink", info["seconds"], model_seconds[name] / info["seconds"], "≤ 1×",
                       model_seconds[name] <= info["seconds"])
            if not splink_same:
                report.note(f"identity: Splink's partition of {name} differs from scipy's")
        else:
            state = "timed out" if splink.returncode == -9 else f"exited {splink.returncode}"
            report.add("identity", f"{name}: SQL vs Splink 5", model_seconds[name], "s",
                       f"Splink {state} after", splink.seconds,
                       model_seconds[name] / splink.seconds, "≤ 1×",
                       model_seconds[name] <= splink.seconds)


# marts ---------------------------------------------------------------------------------------


def _as_of(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        value = con.execute("select max(as_of_date) from marts.customer_rfm").fetchone()[0]
    finally:
        con.close()
    return value.isoformat()


def compare_marts(
    warehouse: Path, pandas_dir: Path, ours_dir: Path | None = None
) -> dict[str, str]:
    """Row-for-row comparison; money to the cent, shares and cycles to 1e-9. Ours: the
    warehouse's marts, or the Parquet files sql_marts.py wrote into `ours_dir`."""
    con = duckdb.connect(str(warehouse), read_only=True)
    verdicts = {}
    checks = {
        "customer_rfm": ("customer_id", {
            "monetary": 0.005, "average_days_between_purchases": 1e-9,
            "repurchase_cycle_days": 1e-9}),
        "cohort_retention": ("cohort_cell_id", {
            "revenue": 0.005, "cumulative_revenue": 0.005,
            "cumulative_revenue_per_customer": 0.005, "retention_share": 1e-9}),
    }
    for mart, (key, tolerances) in checks.items():
        ours = (con.execute(f"select * from '{ours_dir / mart}.parquet'").df() if ours_dir
                else con.execute(f"select * from marts.{mart}").df())
        theirs = duckdb.connect().execute(f"select * from '{pandas_dir / mart}.parquet'").df()
        problems = []
        if len(ours) != len(theirs):
            problems.append(f"{len(ours)} rows vs pandas {len(theirs)}")
        merged = ours.merge(theirs, on=key, how="outer", suffixes=("", "_pd"), indicator=True)
        unmatched = int((merged["_merge"] != "both").sum())
        if unmatched:
            problems.append(f"{unmatched} keys on one side only")
        both = merged[merged["_merge"] == "both"]
        for column in ours.columns:
            if column == key:
                continue
            left, right = both[column], both[f"{column}_pd"]
            if column in tolerances:
                diff = (left.astype(float) - right.astype(float)).abs()
                bad = ~((diff <= tolerances[column]) | (left.isna() & right.isna()))
            else:
                lhs = left.astype(str).where(left.notna(), "∅")
                rhs = right.astype(str).where(right.notna(), "∅")
                if column.endswith(("_date", "_month")):
                    lhs = lhs.str[:10]
                    rhs = rhs.str[:10]
                bad = lhs != rhs
            if int(bad.sum()):
                problems.append(f"{column}: {int(bad.sum())} rows differ")
        verdicts[mart] = "identical" if not problems else "; ".join(problems)
    con.close()
    return verdicts


# as the project builds them (the as-of RFM, its monthly history, cohorts), and like for like
# with the pandas notebook, which computes the as-of snapshot only
MART_MODELS = ("customer_rfm", "customer_rfm_monthly", "cohort_retention")
AS_OF_MART_MODELS = ("customer_rfm", "cohort_retention")


def _dbt_command(dbt: str | Path, command: str, *args: str) -> list[str]:
    return [str(dbt), command, "--profiles-dir", str(REPO_DIR), "--project-dir",
            str(REPO_DIR / "dbt_project"), *args]


def _run_compiled_marts(ws: Workspace, target: Path, log_name: str, names: tuple[str, ...],
                        out: Path | None = None) -> tuple[Measured, dict | None]:
    """benchmarks/sql_marts.py over the SQL that dbt compiled into `target` of models `names`."""
    compiled = target / "compiled" / "clientbase" / "models"
    models = [str(next(compiled.rglob(f"{name}.sql"))) for name in names]
    measured = run_measured(
        [sys.executable, str(BENCH_DIR / "sql_marts.py"),
         *(["--out", str(out)] if out else []), str(ws.warehouse), *models],
        dict(os.environ), ws.root / log_name)
    if measured.returncode != 0:
        return measured, None
    return measured, json.loads(measured.output.strip().splitlines()[-1])


def _report_same_rows(report: Report, label: str, verdicts: dict[str, str]) -> None:
    for mart, verdict in verdicts.items():
        report.add("marts", f"{mart}{label}: same rows as pandas",
                   "yes" if verdict == "identical" else "NO", "", target="identical",
                   met=verdict == "identical")
        if verdict != "identical":
            report.note(f"marts: {mart}{label} vs pandas: {verdict}")


def section_marts(report: Report, ws: Workspace) -> None:
    if not ws.warehouse.exists():
        report.note("marts: no built warehouse (run `full` first)")
        return
    as_of = _as_of(ws.warehouse)
    dbt = Path(sys.executable).with_name("dbt")
    env = ws.env()
    env["DBT_TARGET_PATH"] = str(ws.root / "target_marts")
    measured = run_measured(
        _dbt_command(dbt, "run", "--select", " ".join(MART_MODELS),
                     "--vars", json.dumps({"as_of_date": as_of})),
        env, ws.root / "marts_dbt.log")
    if measured.returncode != 0:
        report.note(f"marts: dbt run failed, see {ws.root / 'marts_dbt.log'}")
        return
    results = json.loads((ws.root / "target_marts" / "run_results.json").read_text())
    sql_seconds = sum(float(r["execution_time"]) for r in results["results"])
    report.extra["marts: dbt model seconds"] = "\n".join(
        f"{float(r['execution_time']):8.2f} s  {r['unique_id'].split('.')[-1]}"
        for r in results["results"])
    pandas_dir = ws.root / "pandas_marts"
    pandas = run_measured(
        [sys.executable, str(BENCH_DIR / "pandas_marts.py"), str(ws.warehouse), as_of,
         str(pandas_dir)], dict(os.environ), ws.root / "marts_pandas.log")
    if pandas.returncode != 0:
        report.note(f"marts: pandas failed, see {ws.root / 'marts_pandas.log'}")
        return
    info = json.loads(pandas.output.strip().splitlines()[-1])
    # dbt's own per-model costs (create, contract check, rename) and the monthly history
    # included: informational; the like-for-like figure is the as-of compiled SQL below
    report.add("marts", "RFM + cohort in dbt (with monthly history): model execution time",
               sql_seconds, "s", "pandas (load + compute)", info["seconds"],
               sql_seconds / info["seconds"])
    # the same compiled SQL without dbt around it: the engine's share of the dbt figure, first
    # as the project builds it (as-of snapshot + the monthly history), then like for like with
    # the pandas notebook (as-of snapshot only: var rfm_history false)
    _, sql_info = _run_compiled_marts(ws, ws.root / "target_marts", "marts_sql.log",
                                      MART_MODELS)
    if sql_info:
        report.add("marts", "RFM + cohort compiled SQL on DuckDB, with the monthly history",
                   sql_info["seconds"], "s", "pandas (load + compute)", info["seconds"],
                   sql_info["seconds"] / info["seconds"])
        report.extra["marts: compiled SQL seconds (with history)"] = json.dumps(
            sql_info["models"], indent=1)
    else:
        report.note(f"marts: compiled SQL run failed, see {ws.root / 'marts_sql.log'}")
    env_asof = ws.env()
    env_asof["DBT_TARGET_PATH"] = str(ws.root / "target_marts_asof")
    compiling = run_measured(
        _dbt_command(dbt, "compile", "--select", " ".join(AS_OF_MART_MODELS),
                     "--vars", json.dumps({"as_of_date": as_of, "rfm_history": False})),
        env_asof, ws.root / "marts_compile_asof.log")
    if compiling.returncode != 0:
        report.note(f"marts: dbt compile failed, see {ws.root / 'marts_compile_asof.log'}")
    else:
        like_dir = ws.root / "marts_sql_asof"
        like, like_info = _run_compiled_marts(ws, ws.root / "target_marts_asof",
                                              "marts_sql_asof.log", AS_OF_MART_MODELS,
                                              out=like_dir)
        if like_info:
            report.add("marts", "RFM + cohort compiled SQL on DuckDB, as-of snapshot (like pandas)",
                       like_info["seconds"], "s", "pandas (load + compute)", info["seconds"],
                       like_info["seconds"] / info["seconds"], "≤ 0.2×",
                       like_info["seconds"] <= 0.2 * info["seconds"])
            report.add("marts", "  peak memory, compiled SQL process (as-of)",
                       like.peak_rss / GIB, "GiB", "pandas process", pandas.peak_rss / GIB,
                       like.peak_rss / pandas.peak_rss, "< 1×", like.peak_rss < pandas.peak_rss)
            report.extra["marts: compiled SQL seconds (as-of only)"] = json.dumps(
                like_info["models"], indent=1)
            _report_same_rows(report, " (as-of SQL)",
                              compare_marts(ws.warehouse, pandas_dir, like_dir))
        else:
            report.note(f"marts: as-of SQL run failed, see {ws.root / 'marts_sql_asof.log'}")
    report.add("marts", "RFM + cohort, dbt invocation wall", measured.seconds, "s",
               "pandas process wall", pandas.seconds, measured.seconds / pandas.seconds)
    report.add("marts", "RFM + cohort, peak memory (process tree)", measured.peak_rss / GIB,
               "GiB", "pandas", pandas.peak_rss / GIB, measured.peak_rss / pandas.peak_rss,
               "< 1×", measured.peak_rss < pandas.peak_rss)
    report.note("marts: the dbt side also computes the monthly RFM snapshots "
                "(customer_rfm_monthly); pandas only the as-of one")
    _report_same_rows(report, "", compare_marts(ws.warehouse, pandas_dir))


# spark ---------------------------------------------------------------------------------------


def _raw_as_of(raw: Path) -> str:
    days = sorted(p.name.split("=", 1)[1] for p in raw.glob("*/*/partition_date=*"))
    return (date.fromisoformat(days[-1]) + timedelta(days=1)).isoformat()


def section_spark(report: Report, ws: Workspace, spark_python: Path, timeout: float) -> None:
    """The same dbt project, same raw zone, same vars, on DuckDB and on a local Spark session:
    seeds and models, no tests (the Spark lane's parity test compares the marts cell by cell)."""
    raw = ws.data / "raw"
    if not any(raw.glob("*/*/partition_date=*")):
        from orchestration.assets.contact_points import write_contact_point_checks
        from orchestration.extraction.__main__ import extract_all

        extract_all(ws.landing, raw, days=landing_days(ws.landing))
        write_contact_point_checks(raw)
    spark_dbt = spark_python.with_name("dbt")
    if not spark_dbt.exists():
        report.note(f"spark: no dbt at {spark_dbt} (make test-spark creates .venv-spark)")
        return
    cmp_dir = ws.root / "spark_cmp"
    if cmp_dir.exists():
        shutil.rmtree(cmp_dir)
    dbt_vars = json.dumps({"as_of_date": _raw_as_of(raw), "raw_dir": str(raw.resolve())})
    seconds = {}
    for target, dbt in (("duckdb", Path(sys.executable).with_name("dbt")), ("spark", spark_dbt)):
        env = ws.env()
        env.update({
            "CLIENTBASE_TARGET": target,
            "CLIENTBASE_DATA_DIR": str(cmp_dir / target),  # Spark's metastore and tables
            "CLIENTBASE_WAREHOUSE": str(cmp_dir / target / "warehouse.duckdb"),
            "DBT_TARGET_PATH": str(cmp_dir / f"target_{target}"),
            "DBT_LOG_PATH": str(cmp_dir / f"logs_{target}"),
        })
        (cmp_dir / target).mkdir(parents=True)
        measured = run_measured(
            _dbt_command(dbt, "build", "--exclude-resource-type", "test",
                         "--exclude-resource-type", "unit_test", "--vars", dbt_vars),
            env, cmp_dir / f"{target}.log", timeout=timeout)
        if measured.returncode != 0:
            report.note(f"spark: dbt build on {target} failed or timed out after "
                        f"{measured.seconds:.0f} s, see {cmp_dir / (target + '.log')}")
            return
        seconds[target] = measured.seconds
    report.add("spark", "dbt build (seeds + models, no tests) on local Spark", seconds["spark"],
               "s", "same build on DuckDB", seconds["duckdb"], seconds["spark"] / seconds["duckdb"])


# ---------------------------------------------------------------------------------------------


# What a run measures: dbt and Dagster read these files while it runs, not only at its start.
MEASURED_CODE = ("dbt_project", "orchestration", "profiles.yml")


def _code_state() -> str:
    """HEAD, plus `+dirty-<hash of the diff>` when the measured code differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=all", "--", *MEASURED_CODE)
    if not changed:
        return head
    diff = git("diff", "HEAD", "--", *MEASURED_CODE) + changed
    for line in changed.splitlines():
        path = REPO_DIR / line[3:]
        if line.startswith("??") and path.is_file():
            diff += path.read_text(errors="replace")
    return f"{head}+dirty-{hashlib.sha1(diff.encode()).hexdigest()[:7]}"


def _meta(size: str, landing: Path) -> dict:
    import psutil

    commit = _code_state()
    landing_bytes = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()
                        and "_truth" not in p.parts)
    return {
        "size": size, "commit": commit,
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(), "memory_gib": psutil.virtual_memory().total / GIB,
        "landing_gib": landing_bytes / GIB, "python": sys.version.split()[0],
        "duckdb": duckdb.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["S", "M", "L"], default="S")
    parser.add_argument("--landing", type=Path,
                        help="landing folder (default /tmp/cb_bench/<size>/landing, generated "
                             "with seed 42 when missing)")
    parser.add_argument("--work", type=Path, help="scratch folder (default /tmp/cb_bench/<size>)")
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run only this section (repeatable); default all")
    parser.add_argument("--holdback-days", type=int,
                        help="days held back from the full build for the night (default ~1%%)")
    parser.add_argument("--graph-scale", type=float,
                        help="size of the synthetic graphs (1 = the issue's sizes; default 1 "
                             "for M/L, 0.1 for S)")
    parser.add_argument("--splink-timeout", type=float, default=900)
    parser.add_argument("--spark-python", type=Path, default=REPO_DIR / ".venv-spark" / "bin" /
                        "python", help="interpreter with the `spark` extra (make test-spark "
                        "creates .venv-spark)")
    parser.add_argument("--spark-timeout", type=float, default=3600)
    parser.add_argument("--tag", help="added to the result file names and title (e.g. "
                        "graphs when only the synthetic graphs are meant)")
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    work = args.work or Path(f"/tmp/cb_bench/{args.size}")
    landing = args.landing or work / "landing"
    if not landing.exists():
        from orchestration.generator import generate

        print(f"generating size {args.size} into {landing}", flush=True)
        generate(landing, size=args.size, seed=42, progress=True)
    os.environ.setdefault("CLIENTBASE_THREADS", "2")
    ws = Workspace(work, landing)
    report = Report(args.size, landing)
    meta = _meta(args.size, landing)
    print(f"benchmark size {args.size}, commit {meta['commit']}, sections {sections}", flush=True)

    days = landing_days(landing)
    k = args.holdback_days or holdback_days(days, landing)
    build_days, night_days = days[:-k], days[-k:]
    full = None
    if "full" in sections:
        full = section_full(report, ws, build_days)
    if "night" in sections:
        if full is None and not ws.warehouse.exists():
            report.note("night: needs the full build of the held-back days first (section full)")
        else:
            _, all_rows = scan_floor(landing_files(landing, days))
            section_night(report, ws, night_days, all_rows, full)
    if "identity" in sections:
        scale = args.graph_scale or (0.1 if args.size == "S" else 1.0)
        section_identity(report, work, scale, ws.warehouse if ws.warehouse.exists() else None,
                         args.splink_timeout)
    if "marts" in sections:
        section_marts(report, ws)
    if "spark" in sections:
        section_spark(report, ws, args.spark_python, args.spark_timeout)

    # an edit of the measured code during the run (dbt parses at each invocation) would mix two
    # versions in one set of figures: say so in the results rather than name one commit
    if _code_state() != meta["commit"]:
        meta["commit"] += "+changed-during-run"
        print("WARNING: the measured code changed during the run; the figures mix versions",
              flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{meta['commit']}-{args.size}"
    if args.only:
        stem += "-" + "-".join(args.only)
    if args.tag:
        stem += f"-{args.tag}"
        meta["tag"] = args.tag
    payload = {"meta": meta, "sections": sections, "figures": report.figures,
               "notes": report.notes, "details": report.extra,
               "build_days": [build_days[0], build_days[-1]] if build_days else [],
               "night_days": night_days}
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(report.markdown(meta))
    print(f"\nresults: {RESULTS_DIR / stem}.json / .md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
