"""Dagster asset checks that are not dbt tests (extraction conservation, quality gates...)."""
