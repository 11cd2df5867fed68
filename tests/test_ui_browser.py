"""The Dagster UI in a real browser: serve the session's real build of size S with the
webserver on loopback and drive Debian's headless Chromium with Playwright.

Needs `apt-get install chromium` and the `browser` extra (`pip install -e ".[browser]"`; never
`playwright install`: the system Chromium is used). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CLIENTBASE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXPECTED_GROUPS = {"extraction", "staging", "identity", "sales", "serving", "exports"}
if any((REPO / "dbt_project" / "models").glob("*/hygiene/*.sql")):
    EXPECTED_GROUPS.add("hygiene")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def playwright_api():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    return pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install -e '.[browser]')"
    )


@pytest.fixture(scope="module")
def webserver(playwright_api, built_s, tmp_path_factory):
    """The session's real build (a Dagster run of the nightly job over size S, in its own
    DAGSTER_HOME) served by dagster-webserver on loopback."""
    root = tmp_path_factory.mktemp("ui")
    env = {**built_s.env, "PYTHONUNBUFFERED": "1"}
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    log = (root / "webserver.log").open("w")
    server = subprocess.Popen(
        [str(bin_dir / "dagster-webserver"), "-m", "orchestration.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"webserver did not start: {(root / 'webserver.log').read_text()}")
            time.sleep(2)
        yield base
    finally:
        # The webserver runs its code server as a child: stop the whole session we started.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
        shutil.copy(root / "webserver.log", ARTIFACTS / "ui-webserver.log")


@pytest.fixture(scope="module")
def page(playwright_api, webserver):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def _open(page, base: str, path: str) -> None:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    # First visit: Dagster's "join the community" dialog covers the page.
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def test_asset_graph_shows_the_groups(page, webserver):
    _open(page, webserver, "/asset-groups")
    for group in sorted(EXPECTED_GROUPS):
        page.get_by_text(group, exact=True).first.wait_for()
    lines = {line.strip() for line in page.locator("body").inner_text().splitlines()}
    assert lines >= EXPECTED_GROUPS
    _shot(page, "asset-groups")


def test_a_materialisation_has_run(page, webserver):
    _open(page, webserver, "/runs")
    page.get_by_text("Success", exact=True).first.wait_for()
    _shot(page, "runs")
    _open(page, webserver, "/assets/serving/clientbase_catalogue")
    page.get_by_text("Latest materialization").first.wait_for()
    assert "Never materialized" not in page.locator("body").inner_text()
    page.get_by_text("build_id").first.wait_for()
    _shot(page, "serving-asset")


def test_asset_checks_are_visible(page, webserver):
    _open(page, webserver, "/assets/marts/customer_rfm?view=checks")
    page.get_by_text("Checks (").first.wait_for()
    # Names are truncated in the list: filter down to one check, open it, read its header.
    name = "not_null_customer_rfm_customer_id"
    page.get_by_placeholder("Filter checks").fill(name)
    page.get_by_text("not_null_custo", exact=False).filter(visible=True).first.click()
    page.get_by_text(name, exact=True).filter(visible=True).first.wait_for()
    # dbt's tests ran in the materialisation and were recorded as check evaluations.
    page.get_by_text("Evaluation result").first.wait_for()
    page.get_by_text("Passed", exact=True).filter(visible=True).first.wait_for()
    _shot(page, "customer-rfm-checks")


def test_mart_metadata_shows_its_plot(page, webserver):
    _open(page, webserver, "/assets/marts/customer_rfm?view=events")
    page.get_by_text("[Show Markdown]").first.click()
    image = page.locator("img[src^='data:image/png;base64,']").first
    image.wait_for()
    width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width > 300 and height > 150
    _shot(page, "customer-rfm-plot")
