"""Nightly pictures: drawn from the published catalogue, numbers that add up, one HTML page."""

from __future__ import annotations

import re

import duckdb
import pytest

from orchestration import reports, serving

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    warehouse = root / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.customer_rfm as
        select 'c' || i as customer_id, (i % 5) + 1 as recency_score,
               ((i * 7) % 5) + 1 as frequency_score, cast(100 + i as decimal(18, 2)) as monetary
        from range(500) r(i)
        """
    )
    con.execute(
        """
        create table marts.cohort_retention as
        select date '2025-01-01' + to_months(c) as cohort_month, ch as acquisition_channel,
               m as months_since_acquisition, 100 as cohort_customers,
               cast(100 * power(0.6, m) as integer) as active_customers
        from range(6) a(c), range(6 - c) b(m), (values ('web'), ('pos')) t(ch)
        """
    )
    con.execute(
        """
        create table marts.customer_lifecycle as
        select 'c' || i as customer_id,
               ['prospect', 'one_time', 'returning', 'regular', 'sleeping', 'lost'][i % 6 + 1]
                   as lifecycle_stage,
               case when i % 6 = 0 then 'in_selection' else 'customer' end as funnel_stage
        from range(600) r(i)
        """
    )
    con.execute(
        """
        create table marts.dim_customers as
        select 'c' || i as customer_id, 'a' || i || '@example.com' as email,
               case when i < 400 then 1 when i < 480 then 2 else 7 end as source_record_count
        from range(500) r(i)
        """
    )
    con.close()
    serving_dir = root / "serving"
    serving.publish(warehouse_path=warehouse, serving_dir=serving_dir, serve_pii=False)
    return root, serving_dir


def test_pictures_are_drawn_from_the_catalogue(published, monkeypatch):
    root, serving_dir = published
    pictures, page = reports.render_report(serving_dir / serving.CATALOGUE_NAME, root / "reports")
    by_name = {p.name: p for p in pictures}
    assert set(by_name) == {
        "rfm_grid", "cohort_retention", "lifecycle_funnel", "identity_clusters", "hygiene_rates"
    }  # fmt: skip
    for name in ("rfm_grid", "cohort_retention", "lifecycle_funnel", "identity_clusters"):
        assert by_name[name].png.startswith(PNG_SIGNATURE), name
        assert (root / "reports" / f"{name}.png").read_bytes() == by_name[name].png
    # The grid's cells add up to the mart.
    assert by_name["rfm_grid"].facts == {
        "customers": 500,
        "revenue": float(sum(100 + i for i in range(500))),
    }
    assert by_name["lifecycle_funnel"].facts["sleeping"] == 100
    assert by_name["identity_clusters"].facts == {"customers": 500, "singletons": 400, "largest": 7}
    assert by_name["cohort_retention"].facts == {"cohorts": 6}
    # No hygiene mart yet: said so, not silently left out.
    assert by_name["hygiene_rates"].png is None
    assert "hygiene_daily does not exist" in by_name["hygiene_rates"].skipped

    text = page.read_text()
    assert len(re.findall(r"<img [^>]*src='data:image/png;base64,", text)) == 4
    assert "Not drawn: bi.hygiene_daily does not exist" in text
    # Drawn from the PII-safe schema: nothing personal can end up in a picture or the page.
    assert "@example.com" not in text


def test_markdown_embeds_the_image_for_dagster(published):
    _, serving_dir = published
    con = duckdb.connect(str(serving_dir / serving.CATALOGUE_NAME), read_only=True)
    picture = reports.rfm_grid(con, "bi")
    con.close()
    markdown = picture.markdown()
    assert markdown.startswith("**RFM grid")
    assert "](data:image/png;base64,iVBORw0KGgo" in markdown


def test_hygiene_rates_over_time(tmp_path):
    con = duckdb.connect()
    con.execute("create schema bi")
    con.execute(
        """
        create table bi.hygiene_daily as
        select date '2026-11-01' + to_days(i) as build_date,
               0.1 - i * 0.01 as stale_time_zone_share, 0.2 as inactive_share, 1000 + i as contacts
        from range(5) r(i)
        """
    )
    picture = reports.hygiene_rates(con, "bi")
    assert picture.png.startswith(PNG_SIGNATURE)
    assert picture.facts == {"days": 5}
    assert "stale time zone share 6.0%" in picture.summary


def test_hygiene_rates_after_the_first_build():
    con = duckdb.connect()
    con.execute("create schema bi")
    con.execute(
        "create table bi.hygiene_daily as select date '2026-11-22' as build_date, "
        "0.049 as stale_time_zone_share, 0.124 as inactive_share"
    )
    picture = reports.hygiene_rates(con, "bi")
    assert picture.png.startswith(PNG_SIGNATURE)
    assert picture.summary == "1 builds; latest: stale time zone share 4.9%, inactive share 12.4%"
