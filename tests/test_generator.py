"""The demo data generator: determinism, reference files, planted faults, provider pages.

Every check re-reads the written files (Python json / csv / yaml, DuckDB for Parquet) and
compares with ``generator_truth.json`` or with an independent recomputation, never with the
generator's in-memory counters."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from meterline_dev.generator import generate
from orchestration.catalog import list_prices

# the FOCUS column list per version (a copy of shared/docs/focus_columns_by_version.json)
FOCUS_SPEC = Path(__file__).resolve().parent / "fixtures/focus/focus_columns_by_version.json"
SMALL = {"customers": 10, "events": 8000, "start": dt.date(2026, 9, 20), "days": 20, "seed": 3}
REASONS = {
    "unparseable",
    "missing_id",
    "missing_subject",
    "missing_time",
    "invalid_time",
    "invalid_quantity",
    "negative_quantity",
    "future_time",
    "unknown_customer",
    "unknown_event_type",
}
QUANTITY_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "images",
    "audio_seconds",
    "gpu_seconds",
    "gb_stored",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "data"
    report = generate(out, usage_format="mixed", progress=False, **SMALL)  # type: ignore[arg-type]
    assert "8,000 events" in report
    return out


@pytest.fixture(scope="module")
def truth(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "generator_truth.json").read_text())


def _csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _sha_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path, data_dir: Path) -> None:
    again = tmp_path / "again"
    generate(again, usage_format="mixed", progress=False, **SMALL)  # type: ignore[arg-type]
    first, second = _sha_tree(data_dir), _sha_tree(again)
    assert len(first) > 50
    assert first == second
    other = tmp_path / "other"
    other_params: dict[str, Any] = {**SMALL, "seed": 4}
    generate(other, usage_format="mixed", progress=False, **other_params)
    changed = _sha_tree(other)
    day_file = "raw/usage/events_2026-09-21.jsonl"
    assert changed[day_file] != first[day_file]


def test_parquet_format_writes_parquet_days_and_a_jsonl_late_file(tmp_path: Path) -> None:
    out = tmp_path / "pq"
    generate(out, usage_format="parquet", progress=False, **{**SMALL, "events": 3000})  # type: ignore[arg-type]
    names = sorted(p.name for p in (out / "raw" / "usage").iterdir())
    assert len(names) == 21
    assert names.count("events_2026-10-01_late.jsonl") == 1
    assert all(n.endswith(".parquet") for n in names if "late" not in n)


# ---- reference files ---------------------------------------------------------------------------


def test_reference_csvs_have_the_documented_columns(data_dir: Path) -> None:
    expected = {
        "customers.csv": [
            "customer_id",
            "name",
            "currency",
            "timezone",
            "tax_rate",
            "segment",
            "parent_customer_id",
            "billing_email",
            "payment_terms_days",  # optional extension (invoice due dates), documented
            "bill_to_parent",  # optional extension (accounts, issue 22), documented
        ],
        "subscriptions.csv": [
            "subscription_id",
            "customer_id",
            "plan_code",
            "start_date",
            "end_date",
            "plan_version",
        ],
        "contracts.csv": [
            "contract_id",
            "customer_id",
            "start_date",
            "end_date",
            "commit_amount",
            "commit_period",
            "usage_discount_pct",
            "renewal_notice_days",
        ],
        "credit_grants.csv": [
            "grant_id",
            "customer_id",
            "amount",
            "granted_at",
            "expires_at",
            "priority",
            "kind",
            "unit",
            "price_paid",
        ],
        "budgets.csv": ["customer_id", "monthly_budget", "alert_thresholds_pct", "hard_limit"],
        "provider_prices.csv": [
            "provider",
            "model",
            "price_component",
            "unit_price",
            "price_per",
            "effective_from",
            "effective_to",
        ],
        "fx_rates.csv": ["date", "from_currency", "to_currency", "rate"],
    }
    for name, cols in expected.items():
        header, rows = _csv(data_dir / "reference" / name)
        assert header == cols, name
        assert rows, name
    _, customers = _csv(data_dir / "reference" / "customers.csv")
    ids = {c["customer_id"] for c in customers}
    assert all(re.fullmatch(r"cus_[a-z0-9]+", i) for i in ids)
    assert len({c["timezone"] for c in customers}) >= 5
    assert {c["segment"] for c in customers} == {"self_serve", "startup", "enterprise"}
    assert {c["tax_rate"] for c in customers} >= {"0", "0.2", "0.19"}
    assert {c["currency"] for c in customers} == {"USD", "JPY"}  # one customer in yen
    parents = [c["parent_customer_id"] for c in customers if c["parent_customer_id"]]
    assert len(parents) == 1 and parents[0] in ids
    # accounts (issue 22): the child (cus_nakatomi in the default demo) is billed on its
    # parent's invoice
    assert [c["bill_to_parent"] for c in customers if c["parent_customer_id"]] == ["true"]
    assert {c["bill_to_parent"] for c in customers if not c["parent_customer_id"]} == {""}

    _, subs = _csv(data_dir / "reference" / "subscriptions.csv")
    by_customer = defaultdict(list)
    for s in subs:
        by_customer[s["customer_id"]].append(s)
    changed = [rows for rows in by_customer.values() if len(rows) == 2]
    assert len(changed) == 1
    a, b = changed[0]
    assert (a["plan_code"], b["plan_code"]) == ("pro", "scale")
    assert a["end_date"] == b["start_date"]
    assert sorted(s["start_date"] for s in subs)[-1] > "2026-09-20"  # a customer starts late
    pinned = [s for s in subs if s["plan_version"]]  # grandfathered on Pro v1
    assert [(s["plan_code"], s["plan_version"], s["end_date"]) for s in pinned] == [
        ("pro", "1", "")
    ]

    _, contracts = _csv(data_dir / "reference" / "contracts.csv")
    assert sorted(c["commit_period"] for c in contracts) == ["month", "month", "term"]
    term = next(c for c in contracts if c["commit_period"] == "term")
    start, end = (dt.date.fromisoformat(term[k]) for k in ("start_date", "end_date"))
    assert (end.year - start.year) * 12 + end.month - start.month == 6
    last_day = SMALL["start"] + dt.timedelta(days=SMALL["days"] - 1)  # type: ignore[operator]
    assert any(
        0 <= (dt.date.fromisoformat(c["end_date"]) - last_day).days <= int(c["renewal_notice_days"])
        for c in contracts
    )
    _, grants = _csv(data_dir / "reference" / "credit_grants.csv")
    # credit plans (issue 22): the credit customer's pack is a credit_grants.csv row in credits
    packs = [g for g in grants if g["unit"] == "credits"]
    assert [(g["grant_id"], g["kind"]) for g in packs] in ([], [("pack_studio_1", "paid")])
    assert all(Decimal(g["price_paid"]) > 0 for g in packs)
    grants = [g for g in grants if g["unit"] == "money"]
    assert {g["kind"] for g in grants} == {"paid", "promotional"}
    assert any(g["kind"] == "promotional" and g["expires_at"] == "" for g in grants)
    assert any(
        SMALL["start"].isoformat() < g["expires_at"] <= last_day.isoformat()  # type: ignore[union-attr]
        for g in grants
    )
    _, budgets = _csv(data_dir / "reference" / "budgets.csv")
    assert {b["alert_thresholds_pct"] for b in budgets} == {"50|80|100|150|200"}
    assert {b["hard_limit"] for b in budgets} == {"true", "false"}


def test_meters_and_plans_price_every_meter(data_dir: Path) -> None:
    meters = yaml.safe_load((data_dir / "reference" / "meters.yml").read_text())["meters"]
    codes = {m["code"]: m for m in meters}
    assert set(codes) == {
        "llm_input_tokens",
        "llm_output_tokens",
        "api_requests",
        "embedding_tokens",
        "images",
        "audio_seconds",
        "gpu_seconds",
        "resolved_tickets",
        "storage_gb",
    }
    assert codes["llm_input_tokens"]["dimensions"] == ["provider", "model"]
    assert codes["resolved_tickets"]["filter"] == {"outcome": "resolved"}
    assert codes["storage_gb"]["aggregation"] == "max"
    plans = [
        yaml.safe_load(p.read_text())
        for p in sorted((data_dir / "reference" / "plans").glob("*.yml"))
    ]
    versions = Counter(p["code"] for p in plans)
    assert versions["pro"] == 2
    pro2 = next(p for p in plans if p["code"] == "pro" and p["version"] == 2)
    assert pro2["effective_from"] == dt.date(2026, 10, 1)
    models_used = set()
    for plan in plans:
        assert isinstance(plan["fee"], str)
        assert {c["meter"] for c in plan["charges"]} == set(codes), plan["code"]
        for charge in plan["charges"]:
            models_used.add(charge["model"])
            # a default row (no `when`) in every charge: no unpriced usage
            assert any("when" not in row for row in charge["prices"]), (plan["code"], charge)
            for row in charge["prices"]:
                for key in ("unit_price", "package_price"):
                    if key in row:
                        assert isinstance(row[key], str)
                for tier in row.get("tiers", []):
                    # a credit plan (issue 22) prices in credit_price
                    assert isinstance(tier.get("unit_price", tier.get("credit_price")), str)
    assert models_used == {"per_unit", "graduated", "volume", "package"}
    assert any("free_units" in row for p in plans for c in p["charges"] for row in c["prices"])
    alloc = yaml.safe_load((data_dir / "reference" / "cost_allocation.yml").read_text())
    assert alloc["tag_key"] == "customer_id"
    assert alloc["rules"][-1] == {"match": {}, "driver": "requests"}


# ---- planted usage faults ------------------------------------------------------------------------


def _known(data_dir: Path) -> tuple[set[str], set[str]]:
    _, customers = _csv(data_dir / "reference" / "customers.csv")
    meters = yaml.safe_load((data_dir / "reference" / "meters.yml").read_text())["meters"]
    return {c["customer_id"] for c in customers}, {m["event_type"] for m in meters}


def _file_date(name: str) -> dt.date:
    return dt.date.fromisoformat(re.findall(r"\d{4}-\d{2}-\d{2}", name)[-1])


def _classify(
    ev: dict[str, Any], arrival: dt.datetime, customers: set[str], types: set[str]
) -> str | None:
    """The documented quarantine rules, applied independently of the generator."""
    for key, reason in (
        ("id", "missing_id"),
        ("subject", "missing_subject"),
        ("time", "missing_time"),
    ):
        if ev.get(key) in (None, ""):
            return reason
    try:
        t = dt.datetime.fromisoformat(str(ev["time"]).replace("Z", "+00:00"))
    except ValueError:
        return "invalid_time"
    quantities = [ev["data"][k] for k in QUANTITY_KEYS if ev["data"].get(k) is not None]
    try:
        numbers = [Decimal(str(v)) for v in quantities]
    except InvalidOperation:
        return "invalid_quantity"
    if any(v < 0 for v in numbers):
        return "negative_quantity"
    if t > arrival + dt.timedelta(days=1):
        return "future_time"
    if ev["subject"] not in customers:
        return "unknown_customer"
    if ev["type"] not in types:
        return "unknown_event_type"
    return None


def _read_events(path: Path) -> list[dict[str, Any] | None]:
    """Rows of a usage file as CloudEvents dicts (None for an unparseable JSONL line)."""
    if path.suffix == ".jsonl":
        out: list[dict[str, Any] | None] = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append(None)
        return out
    con = duckdb.connect()
    table = con.sql(f"select * from read_parquet('{path}')").to_arrow_table()
    con.close()
    envelope = ("specversion", "id", "source", "type", "subject", "time")
    return [
        {
            **{k: r[k] for k in envelope},
            "data": {k: v for k, v in r.items() if k not in envelope and v is not None},
        }
        for r in table.to_pylist()
    ]


def _payload(ev: dict[str, Any]) -> str:
    """The event as the ingester compares it: typed values (12.50 == 12.5), NULL == absent."""
    data = {
        k: (
            str(Decimal(str(v)).normalize())
            if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)
            else str(v)
        )
        for k, v in ev["data"].items()
        if v is not None
    }
    return json.dumps([ev["type"], ev["subject"], ev["time"], data], sort_keys=True)


def _scan(data_dir: Path) -> dict[str, dict[str, Any]]:
    customers, types = _known(data_dir)
    result: dict[str, dict[str, Any]] = {}
    seen: dict[tuple[str, str], tuple[str, str]] = {}  # key -> (first file, payload)
    for path in sorted((data_dir / "raw" / "usage").iterdir()):
        day = _file_date(path.name)
        arrival = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
        reasons: Counter[str] = Counter()
        exact = conflicts = same_file = earlier_file = 0
        billable: list[dict[str, Any]] = []
        rows = _read_events(path)
        for ev in rows:
            reason = "unparseable" if ev is None else _classify(ev, arrival, customers, types)
            if reason:
                reasons[reason] += 1
                continue
            assert ev is not None
            key = (ev["source"], ev["id"])
            payload = _payload(ev)
            if key in seen:
                first_file, first_payload = seen[key]
                if first_payload == payload:
                    exact += 1
                else:
                    conflicts += 1
                if first_file == path.name:
                    same_file += 1
                else:
                    earlier_file += 1
                continue
            seen[key] = (path.name, payload)
            billable.append(ev)
        result[f"raw/usage/{path.name}"] = {
            "raw_rows": len(rows),
            "malformed_rows": dict(reasons),
            "exact_duplicate_rows": exact,
            "conflict_rows": conflicts,
            "events": billable,
            "duplicate_rows_same_file": same_file,
            "duplicate_rows_earlier_file": earlier_file,
        }
    return result


@pytest.fixture(scope="module")
def scanned(data_dir: Path) -> dict[str, dict[str, Any]]:
    return _scan(data_dir)


def test_planted_faults_are_in_the_files_as_the_truth_says(
    scanned: dict[str, dict[str, Any]], truth: dict[str, Any]
) -> None:
    assert set(scanned) == set(truth["usage_files"])
    all_reasons: set[str] = set()
    for name, seen in scanned.items():
        want = truth["usage_files"][name]
        assert seen["raw_rows"] == want["raw_rows"], name
        assert seen["malformed_rows"] == want["malformed_rows"], name
        assert seen["exact_duplicate_rows"] == want["exact_duplicate_rows"], name
        assert seen["conflict_rows"] == want["conflict_rows"], name
        assert seen["duplicate_rows_same_file"] == want["duplicate_rows_same_file"], name
        assert seen["duplicate_rows_earlier_file"] == want["duplicate_rows_earlier_file"], name
        assert want["duplicate_rows"] == (
            want["duplicate_rows_same_file"] + want["duplicate_rows_earlier_file"]
        )
        assert want["raw_rows"] == (
            want["loaded_rows"] + want["duplicate_rows"] + want["quarantined_rows"]
        )
        assert len(seen["events"]) == want["loaded_rows"], name
        assert want["exact_duplicate_rows"] >= 1 and want["conflict_rows"] >= 1
        all_reasons |= set(seen["malformed_rows"])
        failed = sum(e["data"].get("status") == "error" for e in seen["events"])
        assert failed == want["failed_rows"], name
    assert all_reasons == REASONS
    jsonl = [n for n in scanned if n.endswith(".jsonl")]
    assert all(set(scanned[n]["malformed_rows"]) == REASONS for n in jsonl)
    total = sum(s["raw_rows"] for s in scanned.values())
    assert total == truth["totals"]["raw_rows"]


def test_redeliveries_repeat_the_previous_day_file_at_the_start_of_the_next(
    data_dir: Path, scanned: dict[str, dict[str, Any]], truth: dict[str, Any]
) -> None:
    day_files = sorted(n for n in scanned if not n.endswith("_late.jsonl"))
    assert truth["usage_files"][day_files[0]]["duplicate_rows_earlier_file"] == 0
    for prev, name in zip(day_files, day_files[1:], strict=False):
        k = truth["usage_files"][name]["duplicate_rows_earlier_file"]
        assert k >= 1, name
        head = _read_events(data_dir / name)[:k]
        kept = {(e["source"], e["id"]): _payload(e) for e in scanned[prev]["events"]}
        for ev in head:
            assert ev is not None
            assert kept[(ev["source"], ev["id"])] == _payload(ev), name
    assert truth["totals"]["duplicate_rows_earlier_file"] == sum(
        truth["usage_files"][n]["duplicate_rows_earlier_file"] for n in day_files
    )


def test_invalid_quantity_is_a_quoted_non_number_in_jsonl_only(
    data_dir: Path, truth: dict[str, Any]
) -> None:
    pattern = re.compile(r'"output_tokens":"\d+x"')
    for name, want in truth["usage_files"].items():
        text = (data_dir / name).read_bytes()
        if name.endswith(".jsonl"):
            found = len(pattern.findall(text.decode()))
            assert found == want["malformed_rows"]["invalid_quantity"] >= 1, name
        else:
            assert "invalid_quantity" not in want["malformed_rows"], name
            assert "unparseable" not in want["malformed_rows"], name


def test_malformed_share_is_about_a_tenth_of_a_percent_on_bigger_files(tmp_path: Path) -> None:
    out = tmp_path / "medium"
    params: dict[str, Any] = {
        "customers": 12,
        "events": 48_000,
        "start": dt.date(2026, 9, 1),
        "days": 14,
        "seed": 5,
    }
    generate(out, usage_format="mixed", progress=False, **params)
    truth = json.loads((out / "generator_truth.json").read_text())
    scanned = _scan(out)
    malformed: Counter[str] = Counter()
    for name, seen in scanned.items():
        want = truth["usage_files"][name]
        assert seen["malformed_rows"] == want["malformed_rows"], name
        assert seen["duplicate_rows_earlier_file"] == want["duplicate_rows_earlier_file"], name
        assert seen["duplicate_rows_same_file"] == want["duplicate_rows_same_file"], name
        malformed.update(seen["malformed_rows"])
    assert set(malformed) == REASONS  # every reason, dealt in rotation over the files
    assert max(malformed.values()) - min(malformed.values()) <= 4
    raw = truth["totals"]["raw_rows"]
    assert sum(malformed.values()) == truth["totals"]["quarantined_rows"]
    assert 0.0008 <= sum(malformed.values()) / raw <= 0.0012
    dup_share = truth["totals"]["duplicate_rows"] / raw
    assert 0.004 <= dup_share <= 0.007


def test_late_file_holds_last_days_of_the_previous_month(
    scanned: dict[str, dict[str, Any]], truth: dict[str, Any]
) -> None:
    name = "raw/usage/events_2026-10-01_late.jsonl"
    late = truth["late_events"][name]
    assert late["utc_dates"] == ["2026-09-28", "2026-09-29", "2026-09-30"]
    assert late["period_utc"] == "2026-09"
    days = Counter(e["time"][:10] for e in scanned[name]["events"])
    assert set(days) <= set(late["utc_dates"])
    assert late["events"] == (
        truth["usage_files"][name]["raw_rows"]
        - truth["usage_files"][name]["exact_duplicate_rows"]
        - truth["usage_files"][name]["conflict_rows"]
    )
    assert sum(late["events_by_local_period"].values()) == late["events"]
    late_ids = {(e["source"], e["id"]) for e in scanned[name]["events"]}
    for other, seen in scanned.items():
        if other != name:
            assert late_ids.isdisjoint({(e["source"], e["id"]) for e in seen["events"]})


def test_spike_day_is_about_ten_times_the_usual(truth: dict[str, Any]) -> None:
    spike = truth["spike"]
    assert spike["factor"] == 10 and spike["timezone"] == "UTC"
    assert spike["events_that_day"] >= 6 * spike["median_events_other_days"]


# ---- provider exports ----------------------------------------------------------------------------


def _pages(folder: Path, stem: str) -> list[dict[str, Any]]:
    paths = sorted(folder.glob(f"{stem}_*.json"))
    assert paths
    return [json.loads(p.read_text(), parse_float=Decimal) for p in paths]


def _check_chain(pages: list[dict[str, Any]]) -> None:
    for i, page in enumerate(pages):
        last = i == len(pages) - 1
        assert page["has_more"] is (not last)
        assert (page["next_page"] is None) is last
        assert 1 <= len(page["data"]) <= 7


def test_openai_pages_follow_the_documented_shape(data_dir: Path) -> None:
    folder = data_dir / "raw" / "costs" / "openai"
    costs = _pages(folder, "costs")
    _check_chain(costs)
    for page in costs:
        assert page["object"] == "page"
        for bucket in page["data"]:
            assert bucket["object"] == "bucket"
            assert bucket["end_time"] - bucket["start_time"] == 86400
            for r in bucket["results"]:
                assert r["object"] == "organization.costs.result"
                value = r["amount"]["value"]
                assert isinstance(value, (Decimal, int)) and not isinstance(value, bool)
                assert -Decimal(value).as_tuple().exponent <= 12  # type: ignore[operator]
                assert r["amount"]["currency"] == "usd"
                assert re.fullmatch(r"[a-z0-9.\-]+, [a-z ]+", r["line_item"])
    usage = _pages(folder, "usage_completions")
    _check_chain(usage)
    buckets = [b for p in usage for b in p["data"]]
    assert any(b["results"] == [] for b in buckets)  # an empty bucket, like the API returns
    result = next(r for b in buckets for r in b["results"])
    assert result["object"] == "organization.usage.completions.result"
    assert result["input_tokens"] == (
        result["input_cached_tokens"]
        + result["input_cache_write_tokens"]
        + result["input_uncached_tokens"]
    )
    assert {"num_model_requests", "output_tokens", "model", "project_id"} <= set(result)
    assert _pages(folder, "usage_embeddings")


def test_anthropic_pages_follow_the_documented_shape(data_dir: Path) -> None:
    folder = data_dir / "raw" / "costs" / "anthropic"
    cost = _pages(folder, "cost_report")
    _check_chain(cost)
    for page in cost:
        assert "object" not in page
        for bucket in page["data"]:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00Z", bucket["starting_at"])
            for r in bucket["results"]:
                assert isinstance(r["amount"], str)
                assert re.fullmatch(r"\d+(\.\d{1,5})?", r["amount"])
                assert r["currency"] == "USD" and r["cost_type"] == "tokens"
                assert r["token_type"] in {
                    "uncached_input_tokens",
                    "output_tokens",
                    "cache_read_input_tokens",
                    "cache_creation.ephemeral_5m_input_tokens",
                }
    usage = _pages(folder, "usage_report_messages")
    _check_chain(usage)
    r = next(r for p in usage for b in p["data"] for r in b["results"])
    assert set(r["cache_creation"]) == {"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"}


def test_focus_files_have_the_spec_columns(data_dir: Path, truth: dict[str, Any]) -> None:
    spec = json.loads(FOCUS_SPEC.read_text())
    customers, _ = _known(data_dir)
    folder = data_dir / "raw" / "costs" / "focus"
    categories: set[str] = set()
    tagged = 0
    for path in sorted(folder.glob("*.csv")):
        header, rows = _csv(path)
        version = truth["focus"]["versions"][path.name.split("_")[0]]
        assert header == [c["id"] for c in spec[f"v{version}"]], path.name
        for row in rows:
            for col in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart"):
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00Z", row[col])
            Decimal(row["BilledCost"])
            assert row["ChargeClass"] == ""  # NULL is an empty cell
            categories.add(row["ServiceCategory"])
            tags = json.loads(row["Tags"]) if row["Tags"] else {}  # NULL: no tags
            if "customer_id" in tags:
                assert tags["customer_id"] in customers
                tagged += 1
        if version == "1.2":
            assert all(r["ServiceSubcategory"] for r in rows)
    assert categories == {"Compute", "Storage", "Databases"}
    assert tagged == truth["focus"]["tagged_rows"] > 0


def _metered(scanned: dict[str, dict[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    """Billable tokens per (UTC date, model): clean, first delivery, successful."""
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for seen in scanned.values():
        for e in seen["events"]:
            d = e["data"]
            if e["type"] != "llm.completion" or d.get("status") != "success":
                continue
            acc = out[(e["time"][:10], d["model"])]
            for k in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"):
                acc[k] += int(d[k])
    return out


def test_openai_costs_equal_usage_times_list_prices(
    data_dir: Path, scanned: dict[str, dict[str, Any]]
) -> None:
    metered = _metered(scanned)
    costs = {
        (
            dt.datetime.fromtimestamp(b["start_time"], dt.UTC).date().isoformat(),
            r["line_item"],
        ): Decimal(r["amount"]["value"])
        for p in _pages(data_dir / "raw" / "costs" / "openai", "costs")
        for b in p["data"]
        for r in b["results"]
    }
    day, model = "2026-09-25", "gpt-4o-mini-2024-07-18"
    m = metered[(day, model)]
    prices = list_prices("openai", model, dt.date.fromisoformat(day))
    assert prices is not None
    assert costs[(day, f"{model}, input")] == (
        (m["input_tokens"] - m["cached_input_tokens"]) * prices.prices["input"]
    )
    assert costs[(day, f"{model}, cached input")] == (
        m["cached_input_tokens"] * prices.prices["cached_input"]
    )
    assert costs[(day, f"{model}, output")] == m["output_tokens"] * prices.prices["output"]
    # the negotiated gpt-4o output price (provider_prices.csv) applies from its effective date
    _, overrides = _csv(data_dir / "reference" / "provider_prices.csv")
    ov = next(r for r in overrides if r["price_component"] == "output")
    gpt4o = ov["model"]
    for day in ("2026-09-30", ov["effective_from"]):
        out_tokens = metered[(day, gpt4o)]["output_tokens"]
        if day < ov["effective_from"]:
            price = list_prices("openai", gpt4o, dt.date.fromisoformat(day)).prices["output"]  # type: ignore[union-attr]
        else:
            price = Decimal(ov["unit_price"]) / Decimal(ov["price_per"])
        assert costs[(day, f"{gpt4o}, output")] == out_tokens * price


def _anthropic_costs(data_dir: Path) -> dict[tuple[str, str, str], Decimal]:
    return {
        (b["starting_at"][:10], r["model"], r["token_type"]): Decimal(r["amount"])
        for p in _pages(data_dir / "raw" / "costs" / "anthropic", "cost_report")
        for b in p["data"]
        for r in b["results"]
    }


def test_anthropic_costs_equal_usage_times_list_prices(
    data_dir: Path, scanned: dict[str, dict[str, Any]], truth: dict[str, Any]
) -> None:
    metered = _metered(scanned)
    costs = _anthropic_costs(data_dir)
    model = "claude-sonnet-4-5-20250929"
    day = "2026-09-25"
    m = metered[(day, model)]
    p = list_prices("anthropic", model, dt.date.fromisoformat(day)).prices  # type: ignore[union-attr]
    uncached = m["input_tokens"] - m["cached_input_tokens"] - m["cache_write_tokens"]
    cents = Decimal("0.00001")
    expected = {
        "uncached_input_tokens": uncached * p["input"] * 100,
        "cache_read_input_tokens": m["cached_input_tokens"] * p["cached_input"] * 100,
        "cache_creation.ephemeral_5m_input_tokens": (
            m["cache_write_tokens"] * p["cache_write"] * 100
        ),
        "output_tokens": m["output_tokens"] * p["output"] * 100,
    }
    for token_type, amount in expected.items():
        assert costs[(day, model, token_type)] == amount.quantize(cents, ROUND_HALF_EVEN)


def test_undermetered_model_is_billed_two_percent_more(
    data_dir: Path, scanned: dict[str, dict[str, Any]], truth: dict[str, Any]
) -> None:
    plant = truth["undermetered"]
    assert plant["model"] == "claude-haiku-4-5-20251001" and plant["factor"] == "1.02"
    assert len(plant["utc_dates"]) == 3
    metered = _metered(scanned)
    usage = {
        (b["starting_at"][:10], r["model"]): r
        for p in _pages(data_dir / "raw" / "costs" / "anthropic", "usage_report_messages")
        for b in p["data"]
        for r in b["results"]
    }
    for day in plant["utc_dates"]:
        m = metered[(day, plant["model"])]
        reported = usage[(day, plant["model"])]
        assert reported["output_tokens"] == int(
            (Decimal(m["output_tokens"]) * Decimal("1.02")).to_integral_value(ROUND_HALF_EVEN)
        )
        assert reported["output_tokens"] > m["output_tokens"]
    # a day outside the plant agrees exactly
    other = "2026-09-25"
    assert (
        usage[(other, plant["model"])]["output_tokens"]
        == metered[(other, plant["model"])]["output_tokens"]
    )


# ---- realism: billing windows and shared infrastructure -----------------------------------------


def test_usage_stays_inside_every_customers_local_billing_window(
    data_dir: Path, scanned: dict[str, dict[str, Any]], truth: dict[str, Any]
) -> None:
    """No event before local 00:00 of a customer's subscription start, none after local
    23:59:59 of the last usage day (so no invoice of a month without a subscription)."""
    from zoneinfo import ZoneInfo

    _, subs = _csv(data_dir / "reference" / "subscriptions.csv")
    sub_start: dict[str, str] = {}
    for s in subs:
        sub_start[s["customer_id"]] = min(sub_start.get(s["customer_id"], "9999"), s["start_date"])
    zones = {c["customer_id"]: ZoneInfo(c["timezone"]) for c in truth["customers"]}
    last = (SMALL["start"] + dt.timedelta(days=SMALL["days"] - 1)).isoformat()  # type: ignore[operator]
    first_local: dict[str, str] = {}
    early_west = 0  # events of a western customer's first local day (before 00:00 UTC is gone)
    for seen in scanned.values():
        for e in seen["events"]:
            t = dt.datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
            local = t.astimezone(zones[e["subject"]]).date().isoformat()
            assert sub_start[e["subject"]] <= local <= last, (e["subject"], e["time"])
            first_local[e["subject"]] = min(first_local.get(e["subject"], "9999"), local)
            if t.date().isoformat() == SMALL["start"].isoformat() and t.hour < 4:  # type: ignore[union-attr]
                early_west += zones[e["subject"]].key.startswith("America/")
    assert early_west == 0
    # usage starts when the subscription does: every customer is busy on its first local day
    for c in truth["customers"]:
        assert first_local[c["customer_id"]] == sub_start[c["customer_id"]] == c["start_date"]
    # and the files keep their UTC-day naming: a file holds only its own UTC day
    for name, seen in scanned.items():
        if not name.endswith("_late.jsonl"):
            assert {e["time"][:10] for e in seen["events"]} == {_file_date(name).isoformat()}


def _focus_rows(data_dir: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted((data_dir / "raw" / "costs" / "focus").glob("*.csv")):
        rows.extend(_csv(path)[1])
    return rows


def test_gpu_fleet_is_sized_from_the_gpu_seconds_of_the_events(
    data_dir: Path, scanned: dict[str, dict[str, Any]], truth: dict[str, Any]
) -> None:
    """Shared GPU instance-hours of a UTC day = GPU-seconds of that day's jobs (clean, first
    delivery, failed included) / 3600 / utilisation, rounded up to the hundredth of an hour,
    per GPU type; one row per instance (<= 24 h); cost = hours x list price."""
    util = Decimal(truth["focus"]["gpu_utilisation"])
    assert Decimal("0.3") <= util <= Decimal("0.8")
    prices = {g: Decimal(p) for g, p in truth["focus"]["gpu_instance_hour_usd"].items()}
    assert Decimal(2) <= prices["h100"] <= Decimal(4) and prices["a100"] < prices["h100"]
    # a busy GPU-second costs less than the per-unit plans charge for it (10-30 % margin); the
    # costs are USD, so the USD price books (pro_jp is in yen)
    plans = [
        plan
        for p in sorted((data_dir / "reference" / "plans").glob("*.yml"))
        if (plan := yaml.safe_load(p.read_text()))["currency"] == "USD"
        and "credits" not in plan  # the credit plan prices in credits (issue 22)
    ]
    per_unit = [
        row
        for p in plans
        for c in p["charges"]
        if c["meter"] == "gpu_seconds" and c["model"] == "per_unit"
        for row in c["prices"]
    ]
    assert per_unit
    for row in per_unit:
        gpu = "h100" if "when" in row else "a100"
        cost_per_second = prices[gpu] / 3600 / util
        margin = 1 - cost_per_second / Decimal(row["unit_price"])
        assert Decimal("0.10") <= margin <= Decimal("0.30"), (gpu, margin)
    busy: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for seen in scanned.values():
        for e in seen["events"]:
            if e["type"] == "gpu.job":
                busy[(e["time"][:10], e["data"]["gpu_type"])] += Decimal(
                    str(e["data"]["gpu_seconds"])
                )
    assert busy
    fleet: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    tagged_cost = shared_cost = Decimal(0)
    for r in _focus_rows(data_dir):
        if r["ServiceCategory"] != "Compute":
            continue
        hours, cost = Decimal(r["ConsumedQuantity"]), Decimal(r["BilledCost"])
        assert Decimal(0) < hours <= 24
        assert cost == hours * Decimal(r["ListUnitPrice"])
        gpu = "h100" if "h100" in r["SkuId"] else "a100"
        assert Decimal(r["ListUnitPrice"]) == prices[gpu]
        if "customer_id" in (json.loads(r["Tags"]) if r["Tags"] else {}):
            tagged_cost += cost
            assert hours == Decimal(truth["focus"]["dedicated_gpu_hours_per_day"])
        else:
            fleet[(r["ChargePeriodStart"][:10], gpu)] += hours
            shared_cost += cost
    expected = {
        k: (v / 3600 / util).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
        for k, v in busy.items()
        if v
    }
    assert dict(fleet) == expected
    # the dedicated endpoint is one H100, not the whole bill
    days = SMALL["days"]
    assert tagged_cost == days * 24 * prices["h100"]  # type: ignore[operator]
    monthly = truth["focus"]["monthly"]
    assert sum(Decimal(m["compute_usd"]) for m in monthly.values()) == tagged_cost + shared_cost


def test_storage_and_vector_db_cost_what_a_small_ai_company_pays(
    data_dir: Path, truth: dict[str, Any]
) -> None:
    """Object storage at $0.023 per GB-month over the customers' stored data; the vector DB
    tens to hundreds of dollars a month."""
    rows = _focus_rows(data_dir)
    storage = [r for r in rows if r["ServiceCategory"] == "Storage"]
    assert {r["ListUnitPrice"] for r in storage} == {"0.023"}
    for r in storage:
        assert Decimal(r["BilledCost"]) == Decimal(r["ConsumedQuantity"]) * Decimal("0.023")
    # stored data only grows (a customer's peak is kept), and covers the platform's own 500 GB
    gb_months = [Decimal(r["ConsumedQuantity"]) for r in storage]
    days_in = [31 if r["ChargePeriodStart"][5:7] == "10" else 30 for r in storage]
    gbs = [q * n for q, n in zip(gb_months, days_in, strict=True)]
    assert all(b - a >= Decimal("-0.0001") for a, b in zip(gbs, gbs[1:], strict=False))
    assert gbs[0] >= 500
    for month, m in truth["focus"]["monthly"].items():
        days = sum(1 for r in storage if r["ChargePeriodStart"].startswith(month))
        assert Decimal(10) * days / 30 <= Decimal(m["databases_usd"]) <= Decimal(500) * days / 30


def test_one_customer_is_billed_in_yen_with_daily_rates(
    data_dir: Path, truth: dict[str, Any]
) -> None:
    """Currencies (issue 22): one customer in JPY on the yen price book, and a USD->JPY rate for
    every day of the data's months (its COGS are converted with the day's rate)."""
    cur = truth["reference"]["currencies"]
    ref = data_dir / "reference"
    with (ref / "customers.csv").open(newline="") as fh:
        customers = {r["customer_id"]: r for r in csv.DictReader(fh)}
    assert customers[cur["customer_id"]]["currency"] == "JPY"
    assert [c for c, r in customers.items() if r["currency"] != "USD"] == [cur["customer_id"]]
    with (ref / "subscriptions.csv").open(newline="") as fh:
        plans = {
            r["plan_code"] for r in csv.DictReader(fh) if r["customer_id"] == cur["customer_id"]
        }
    assert plans == {"pro_jp"}
    assert yaml.safe_load((ref / "plans" / "pro_jp_v1.yml").read_text())["currency"] == "JPY"
    with (ref / "fx_rates.csv").open(newline="") as fh:
        rates = list(csv.DictReader(fh))
    days = [r["date"] for r in rates]
    assert days == sorted(set(days)) and len(days) == cur["fx_rate_days"]
    assert {(r["from_currency"], r["to_currency"]) for r in rates} == {("USD", "JPY")}
    assert all(Decimal("148") <= Decimal(r["rate"]) <= Decimal("152.01") for r in rates)


def test_one_customer_is_on_a_credit_plan_with_a_pack(tmp_path: Path) -> None:
    """Credit plans (issue 22): one customer on `studio` (credit_price charges, a credits block)
    with a credit pack; the truth file names it. SMALL's ten customers leave no startup customer
    free for the plan, so this test generates its own sixteen (2,000 events, two seconds)."""
    data_dir = tmp_path / "data"
    params = {**SMALL, "customers": 16, "events": 2000}
    generate(data_dir, usage_format="jsonl", progress=False, **params)  # type: ignore[arg-type]
    truth = json.loads((data_dir / "generator_truth.json").read_text())
    cp = truth["reference"]["credit_plan"]
    assert cp is not None, "the generator planted no credit-plan customer among 16"
    ref = data_dir / "reference"
    with (ref / "subscriptions.csv").open(newline="") as fh:
        on_studio = {r["customer_id"] for r in csv.DictReader(fh) if r["plan_code"] == "studio"}
    assert on_studio == {cp["customer_id"]}
    plan = yaml.safe_load((ref / "plans" / "studio_v1.yml").read_text())
    assert plan["credits"]["allowance"] == cp["allowance"] > 0
    assert plan["credits"]["rollover"] == {"cap": cp["rollover_cap"]}
    assert cp["allowance"] % 1000 == 0 and cp["rollover_cap"] == cp["allowance"] // 2
    priced_in_credits = [c["meter"] for c in plan["charges"] if c["model"] != "package"]
    assert priced_in_credits and all(
        "credit_price" in row or all("credit_price" in t for t in row.get("tiers", []))
        for c in plan["charges"]
        if c["model"] != "package"
        for row in c["prices"]
    )
    assert cp["packs"] == ["pack_studio_1"]
    with (ref / "credit_grants.csv").open(newline="") as fh:
        packs = [r for r in csv.DictReader(fh) if r["unit"] == "credits"]
    assert [(r["grant_id"], r["customer_id"], r["kind"]) for r in packs] == [
        ("pack_studio_1", cp["customer_id"], "paid")
    ]
    assert int(packs[0]["amount"]) == cp["allowance"] // 2 and Decimal(packs[0]["price_paid"]) > 0
