"""Identity across builds on a hand-made fixture: merges keep the older id, the ledger says why.

The real identity models and macros run in a scratch dbt project whose staging tables are
seeds (a few rows each). Three builds: the first resolves two customers, the second sees an
order that links them (merge: the older customer's id survives), the third applies a steward's
never_link override (split: the younger customer gets its id back).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

REPO_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO_DIR / "dbt_project"

FIXTURES = {
    "stg_crm__contacts": "\n".join(
        ",".join(row)
        for row in (
            ["contact_id", "first_name", "last_name", "email", "is_email_valid", "phone"]
            + ["is_phone_valid", "birth_date", "gender", "city", "country_code", "time_zone"]
            + ["telegram_id", "vk_id", "has_consent_email", "consent_email_at"]
            + ["has_consent_sms", "consent_sms_at", "has_consent_whatsapp"]
            + ["consent_whatsapp_at", "has_consent_telegram", "consent_telegram_at"]
            + ["created_at", "updated_at"],
            ["c1", "Anna", "Ivanova", "a@x.ru", "true", "+79161111111", "true", "1990-01-02"]
            + ["female", "Moscow", "RU", "Europe/Moscow", "t1", "", "true", "2024-01-01 10:00:00"]
            + ["false", "2024-01-01 10:00:00", "", "", "true", "2024-01-01 10:00:00"]
            + ["2024-01-01 10:00:00", "2024-02-01 10:00:00"],
            ["c2", "Boris", "Petrov", "test@test.com", "true", "+79162222222", "true", ""]
            + ["male", "Kazan", "RU", "Europe/Moscow", "", "v2", "false", "2024-03-01 10:00:00"]
            + ["true", "2024-03-01 10:00:00", "", "", "", ""]
            + ["2024-03-01 10:00:00", "2024-03-01 10:00:00"],
        )
    )
    + "\n",
    "stg_shop__orders": """\
        order_id,ordered_at,updated_at,user_id,anonymous_id,email,is_email_valid,phone,is_phone_valid,first_name,last_name
        o1,2024-02-10 10:00:00,2024-02-10 10:00:00,c1,ck1,a@x.ru,true,,false,Anna,Ivanova
        o2,2023-12-10 10:00:00,2023-12-10 10:00:00,,ck2,b@y.ru,true,+79162222222,true,Boris,P
        o3,2024-04-10 10:00:00,2024-04-10 10:00:00,,ck9,test@test.com,true,,false,X,Y
        """,
    "stg_pos__receipts": """\
        receipt_id,store_id,purchased_at_local,phone,is_phone_valid,loyalty_card_number
        r1,s1,2024-01-05 12:00:00,+74950000001,true,1001
        r2,s1,2024-01-06 12:00:00,+79161111111,true,1001
        r3,s1,2024-01-07 12:00:00,+74950000001,true,1002
        r4,s1,2024-01-08 12:00:00,,false,
        """,
    "stg_reference__stores": """\
        store_id,time_zone,phone
        s1,Europe/Moscow,+74950000001
        """,
    "stg_loyalty__cards": """\
        card_number,holder_name,phone,is_phone_valid,email,is_email_valid,issued_at,updated_at
        1001,Anna Ivanova,+79161111111,true,,false,2024-01-05 09:00:00,2024-01-05 09:00:00
        1002,,,false,,false,2024-01-07 09:00:00,2024-01-07 09:00:00
        """,
    "stg_web__events": """\
        event_id,anonymous_id,user_id,email,is_email_valid,occurred_at,_loaded_at
        e1,ck1,c1,,false,2024-02-09 10:00:00,2024-08-02 02:00:00
        e3,ck3,,b@y.ru,true,2024-05-01 10:00:00,2024-08-02 02:00:00
        """,
    "stg_messaging__events": """\
        message_event_id,channel,address_raw,email,phone,telegram_id,is_address_valid,event_type,occurred_at,bounce_reason,_loaded_at
        m1,email,a@x.ru,a@x.ru,,,true,delivered,2024-02-15 10:00:00,,2024-08-02 02:00:00
        m2,email,a@x.ru,a@x.ru,,,true,unsubscribed,2024-02-20 10:00:00,,2024-08-02 02:00:00
        m3,email,b@y.ru,b@y.ru,,,true,bounced_hard,2024-02-21 10:00:00,mailbox unavailable,2024-08-02 02:00:00
        m4,sms,89162222222,,+79162222222,,true,delivered,2024-02-21 10:00:00,,2024-08-02 02:00:00
        """,  # noqa: E501
    "stg_surveys__responses": """\
        response_id,submitted_at,email,is_email_valid,phone,is_phone_valid,full_name,birth_date,is_not_interested
        q1,2024-06-01 10:00:00,c@z.ru,true,+79163333333,true,Galina,1985-05-05,false
        """,
}

TEXT_COLUMNS = {
    "stg_pos__receipts": ["loyalty_card_number", "phone"],
    "stg_loyalty__cards": ["card_number", "phone", "email", "holder_name"],
    "stg_crm__contacts": ["vk_id", "telegram_id", "phone", "gender", "city", "country_code"],
    "stg_shop__orders": ["user_id", "phone"],
    "stg_web__events": ["user_id", "email"],
    "stg_messaging__events": ["email", "phone", "telegram_id", "bounce_reason", "address_raw"],
    "stg_surveys__responses": ["phone"],
    "stg_reference__stores": ["phone"],
}
OTHER_TYPES = {
    "stg_pos__receipts": {"purchased_at_local": "timestamp"},
    "stg_crm__contacts": {
        "birth_date": "date",
        "has_consent_whatsapp": "boolean",
        "consent_whatsapp_at": "timestamp",
        "has_consent_telegram": "boolean",
        "consent_telegram_at": "timestamp",
    },
}
OVERRIDES_HEADER = (
    "override_id,override_type,identifier_type_a,identifier_value_a,identifier_type_b,"
    "identifier_value_b,reason,decided_by,decided_at\n"
)


def customer_id(identifier: str) -> str:
    # dbt.hash on DuckDB is md5 of the text
    return hashlib.md5(identifier.encode()).hexdigest()


ANNA = customer_id("crm_contact_id:c1")  # first seen 2024-01-01
BORIS = customer_id("email:b@y.ru")  # first seen 2023-12-10: the older


def _staged(csv_text: str, header: bool = False) -> str:
    """The rows with the stamp a staging run gives the rows it writes (`_staged_at`): the time
    they were written here, so rows added before a later build are newer than anything the
    models kept by record hold (macros/identity/identity_records_incremental.sql)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    lines = csv_text.splitlines()
    out = [lines[0] + ",_staged_at"] if header else []
    out += [f"{line},{stamp}" for line in lines[1 if header else 0 :] if line]
    return "\n".join(out) + "\n"


def _write_project(root: Path) -> None:
    config = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    config.pop("on-run-start", None)  # no raw zone here: staging tables are seeds
    config["profile"] = "identity_changes"
    config["seed-paths"] = ["seeds", "fixtures", "overrides"]
    (root / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "profiles.yml").write_text(
        textwrap.dedent(
            f"""\
            identity_changes:
              target: dev
              outputs:
                dev:
                  type: duckdb
                  path: "{root / "warehouse.duckdb"}"
                  threads: 1
                  settings:
                    TimeZone: UTC
            """
        )
    )
    os.symlink(PROJECT_DIR / "macros", root / "macros")
    # identity reads the event logs through their summaries
    shutil.copytree(
        PROJECT_DIR / "models" / "intermediate" / "events",
        root / "models" / "intermediate" / "events",
    )
    for layer in ("intermediate", "marts"):
        shutil.copytree(
            PROJECT_DIR / "models" / layer / "identity",
            root / "models" / layer / "identity",
            # consent history reads messaging and surveys too, which this fixture does not have
            ignore=shutil.ignore_patterns("customer_consent_history.*"),
        )
    (root / "seeds").mkdir()
    for seed in PROJECT_DIR.joinpath("seeds").glob("identity_*"):
        shutil.copy(seed, root / "seeds" / seed.name)
    fixtures = root / "fixtures"
    fixtures.mkdir()
    properties = []
    for name, body in FIXTURES.items():
        (fixtures / f"{name}.csv").write_text(_staged(textwrap.dedent(body), header=True))
        types = {column: "varchar" for column in TEXT_COLUMNS.get(name, [])}
        types.update(OTHER_TYPES.get(name, {}))
        types["_staged_at"] = "timestamp"
        properties.append({"name": name, "config": {"column_types": types}})
    (fixtures / "fixtures.yml").write_text(yaml.safe_dump({"version": 2, "seeds": properties}))
    (root / "overrides").mkdir()
    (root / "overrides" / "identity_overrides.csv").write_text(OVERRIDES_HEADER)


def _build(root: Path) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), "build", "--project-dir", str(root), "--profiles-dir", str(root)]
    # one merge moves a handful of customers by more than the nightly alarm threshold
    command += ["--vars", "{identity_max_customer_count_change: 1.0}"]
    # models and seeds only: the data tests run in the S build (test_identity_score)
    command += ["--resource-type", "model", "--resource-type", "seed"]
    command += ["--target-path", str(root / "target"), "--log-path", str(root / "logs")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-5000:]}"


def _query(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _customer_of(root: Path, identifier: str) -> str:
    rows = _query(
        root,
        "select customer_id from intermediate.int_identifiers_resolved"
        f" where identifier = '{identifier}'",
    )
    return rows[0][0]


@pytest.fixture(scope="module")
def three_builds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("identity_changes")
    _write_project(root)
    _build(root)
    # an order joining Anna's e-mail to Boris's phone arrives
    orders = root / "fixtures" / "stg_shop__orders.csv"
    orders.write_text(
        orders.read_text()
        + _staged(
            "o4,2024-07-01 10:00:00,2024-07-01 10:00:00,,ck7,a@x.ru,true,+79162222222,true,A,I"
        )
    )
    _build(root)
    # a steward decides that this e-mail and this phone are different people
    (root / "overrides" / "identity_overrides.csv").write_text(
        OVERRIDES_HEADER
        + "ov1,never_link,email,a@x.ru,phone,+79162222222,different people,steward,"
        "2024-08-01 10:00:00\n"
    )
    _build(root)
    return root


def test_merge_keeps_the_older_id_and_split_restores_the_other(three_builds: Path) -> None:
    ledger = _query(
        three_builds,
        "select change_type, customer_id_before, customer_id_after, cause_record, cause_reason"
        " from marts.identity_changes order by built_at, change_type",
    )
    assert [row[:3] for row in ledger] == [("merge", ANNA, BORIS), ("split", BORIS, ANNA)]
    assert ledger[0][3] == "shop_order:o4"
    assert ledger[1][4] == "never_link override ov1"
    # after the split both keep the ids they had before the merge
    assert _customer_of(three_builds, "crm_contact_id:c1") == ANNA
    assert _customer_of(three_builds, "crm_contact_id:c2") == BORIS


def test_junk_excluded_but_kept_as_attributes(three_builds: Path) -> None:
    rows = dict(
        _query(
            three_builds,
            "select identifier, exclusion_reason from intermediate.int_identifiers_resolved"
            " where is_excluded",
        )
    )
    assert rows["email:test@test.com"] == "blocklist"
    assert rows["phone:+74950000001"] == "store_phone"
    assert rows["cookie:ck7"] == "never_link_bridge"
    # the store phone touched two customers: it resolves to nobody
    assert _customer_of(three_builds, "phone:+74950000001") is None


def test_records_resolve_and_anonymous_ones_do_not(three_builds: Path) -> None:
    records = dict(
        _query(
            three_builds,
            "select source_record_id, customer_id from intermediate.int_source_records_resolved",
        )
    )
    assert records["pos_receipt:r2"] == ANNA  # card 1001 + Anna's phone
    assert records["messaging_address:sms:89162222222"] == BORIS
    assert records["pos_receipt:r4"] is None  # no identifier at all


def test_health_rows_count_the_changes(three_builds: Path) -> None:
    rows = _query(
        three_builds,
        "select merge_count, split_count, customer_count from marts.identity_graph_health"
        " order by built_at, build_id",
    )
    assert [(merges, splits) for merges, splits, _ in rows] == [(0, 0), (1, 0), (0, 1)]
    assert rows[1][2] == rows[0][2] - 1


def test_golden_record_and_explanations(three_builds: Path) -> None:
    anna = _query(
        three_builds,
        "select first_name, name_source, email, email_rule, has_email_consent, phone"
        f" from marts.dim_customers where customer_id = '{ANNA}'",
    )[0]
    # CRM name wins; the e-mail unsubscribed after the CRM consent, so consent is withdrawn
    assert anna == ("Anna", "crm", "a@x.ru", "usable_undeliverable", False, "+79161111111")
    unused = _query(
        three_builds,
        "select not_linking_reason from marts.customer_identity_edges"
        " where record_type = 'shop_order' and record_id = 'o4'"
        " and identifier_value_a = 'a@x.ru' and identifier_value_b = '+79162222222'",
    )
    assert unused and all(reason == "never_link override" for (reason,) in unused)
