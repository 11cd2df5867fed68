"""Shared pytest fixtures: the dbt manifest (parsed once per session) and the shared S data set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Developers may point this at a pre-generated copy to save ~20 s per session; CI generates.
SHARED_S_LANDING = Path(os.environ.get("CLIENTBASE_TEST_S_LANDING", "/nonexistent"))


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Parse the dbt project once (into $DBT_TARGET_PATH) so Definitions can be imported.

    Explicit here rather than at import time of a library module: importing the code location
    must never start dbt."""
    from orchestration.project import prepare_manifest

    return prepare_manifest()


@pytest.fixture(scope="session")
def shared_s_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A size-S landing folder (seed 42): a pre-generated one when CLIENTBASE_TEST_S_LANDING
    points at it, else generated once per session (the generator is deterministic)."""
    if (SHARED_S_LANDING / "_truth" / "malformed.csv").is_file():
        return SHARED_S_LANDING
    from orchestration.generator import generate

    landing = tmp_path_factory.mktemp("size_s") / "landing"
    generate(landing, size="S", seed=42)
    return landing
