"""Dagster asset drawing the nightly pictures from the published catalogue: attached to the report
asset and, as observations, to the marts they picture, so each mart's page in the UI shows it."""

import dagster as dg

from orchestration import reports, serving
from orchestration.assets.serving import SERVING_GROUP, SERVING_KEY, mart_keys

REPORT_KEY = dg.AssetKey(["serving", "nightly_report"])


@dg.asset(
    key=REPORT_KEY,
    group_name=SERVING_GROUP,
    deps=[SERVING_KEY],
    kinds={"python", "html"},
    description=(
        "Pictures of the night (RFM grid, cohort retention triangle, lifecycle funnel, identity "
        "cluster sizes, hygiene rates over time), drawn with matplotlib from the PII-safe "
        "serving schema and written to data/reports/index.html."
    ),
)
def nightly_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    pictures, page = reports.render_report()
    marts = {key.path[-1]: key for key in mart_keys()}
    build_id = serving.current_build_id()
    for picture in pictures:
        key = marts.get(picture.mart)
        if picture.png is None or key is None:
            continue
        # The picture belongs to the mart it shows: record it there too, so the mart's own page
        # in the UI (Events / latest observation) carries its plot.
        context.log_event(
            dg.AssetObservation(
                asset_key=key,
                metadata={
                    "plot": dg.MetadataValue.md(picture.markdown()),
                    "serving_build": build_id or "-",
                    **{f"plot_{k}": v for k, v in picture.facts.items()},
                },
                description=f"{picture.title}: {picture.summary}",
            )
        )
    skipped = {p.name: p.skipped for p in pictures if p.png is None}
    for name, reason in skipped.items():
        context.log.warning(f"picture {name} not drawn: {reason}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(page)),
            "serving_build": build_id or "-",
            "pictures_drawn": len(pictures) - len(skipped),
            "pictures_skipped": dg.MetadataValue.json(skipped),
            **{p.name: dg.MetadataValue.md(p.markdown()) for p in pictures},
        }
    )
