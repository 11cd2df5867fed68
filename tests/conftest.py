"""Shared pytest fixtures: the dbt manifest (parsed once per session) and the shared S data set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_S_LANDING = Path(os.environ.get("CLIENTBASE_TEST_S_LANDING", "/tmp/cb_shared/S/landing"))


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Parse the dbt project once (into $DBT_TARGET_PATH) so Definitions can be imported.

    Explicit here rather than at import time of a library module: importing the code location
    must never start dbt."""
    from orchestration.project import prepare_manifest

    return prepare_manifest()


@pytest.fixture(scope="session")
def shared_s_landing() -> Path:
    """The generator's size-S landing folder, when it has been produced on this machine."""
    if not (SHARED_S_LANDING / "_truth" / "malformed.csv").is_file():
        pytest.skip(f"no size-S landing data at {SHARED_S_LANDING} (set CLIENTBASE_TEST_S_LANDING)")
    return SHARED_S_LANDING
