"""Dagster assets of clientbase, one module per concern (extraction, contact points, ...)."""
