"""clientbase's Dagster code location: extraction, the dbt build, checks, serving."""
