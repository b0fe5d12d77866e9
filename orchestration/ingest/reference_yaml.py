"""Parse and validate the YAML reference files (meters.yml, plans/*.yml, cost_allocation.yml)
into rows of the raw tables. Problems are (key path, message) pairs; the caller names the file."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

AGGREGATIONS = ("sum", "count", "count_unique", "max", "latest")
CHARGE_MODELS = ("per_unit", "graduated", "volume", "package")
DRIVERS_BUILTIN = ("requests", "revenue")
_DEC_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

Problem = tuple[str, str]  # (key path, message)

MONEY_SCALE = 12  # PRICING.md: unit prices may have up to 12 decimal places; DECIMAL(38,12)
QUANTITY_SCALE = 9  # free_units, up_to: DECIMAL(38,9) in staging
CREDIT_SCALE = 6  # credit units (allowance, caps, packs, consumed): DECIMAL(38,6) in staging


def decimal_limit_problem(text: str, d: Decimal, scale: int, precision: int = 38) -> str | None:
    """Why ``d`` does not fit DECIMAL(precision, scale) exactly, else None. A value with more
    decimal places than the column keeps would be rounded by the staging cast (13 places -> 0):
    it is refused instead. A value with too many integer digits would fail the build."""
    if not d.is_finite():
        return f"{text!r} is not a finite number"
    sign, digits, exponent = d.as_tuple()
    del sign
    assert isinstance(exponent, int)
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if zeros == len(digits):  # zero
        return None
    places = max(0, -(exponent + zeros))
    if places > scale:
        return (
            f"{text!r} has {places} decimal places; at most {scale} are kept, "
            "so it would be rounded (PRICING.md)"
        )
    if d.adjusted() + 1 > precision - scale:
        return f"{text!r} is too large (at most {precision - scale} digits before the point)"
    return None


def currency_problem(value: Any) -> str | None:
    """Why ``value`` is not an ISO 4217 currency code (of the kept list), else None."""
    from orchestration.ingest.currencies import is_iso_currency

    if not isinstance(value, str):
        return f"{value!r} is not a currency code (an ISO 4217 code such as 'USD', as text)"
    if not _CURRENCY_RE.match(value.strip()):
        return f"{value!r} is not an upper-case ISO 4217 code"
    if not is_iso_currency(value.strip()):
        return f"{value!r} is not an ISO 4217 currency code"
    return None


def _billing_currency_problem(code: str) -> str | None:
    from orchestration.ingest.currencies import billing_currency_problem

    return billing_currency_problem(code)


def _dec(value: Any) -> Decimal | None:
    """A decimal from a YAML scalar (string preferred; int/float accepted via their text)."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    if isinstance(value, float):
        text = repr(value)
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


@dataclass
class YamlRows:
    """Rows for each raw table, without lineage columns."""

    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    count: int = 0  # raw rows in the file's counting unit

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.tables.setdefault(table, []).append(row)


def _decimal_field(
    out: YamlRows,
    path: str,
    value: Any,
    *,
    required: bool = False,
    positive: bool = False,
    scale: int = MONEY_SCALE,
) -> Decimal | None:
    if value is None:
        if required:
            out.problems.append((path, "a value is required"))
        return None
    d = _dec(value)
    if d is None:
        out.problems.append((path, f"{value!r} is not a decimal number"))
        return None
    if d < 0:
        out.problems.append((path, f"{value!r} is negative"))
    elif positive and d == 0:
        out.problems.append((path, f"{value!r} must be greater than 0"))
    elif (limit := decimal_limit_problem(_text(value) or "", d, scale)) is not None:
        out.problems.append((path, limit))
    return d


def parse_meters(doc: Any) -> YamlRows:
    out = YamlRows()
    meters = doc.get("meters") if isinstance(doc, dict) else None
    if not isinstance(meters, list):
        out.problems.append(("meters", "a list of meters is required"))
        return out
    seen: set[str] = set()
    for i, m in enumerate(meters):
        p = f"meters[{i}]"
        if not isinstance(m, dict):
            out.problems.append((p, "a meter must be a mapping"))
            continue
        code = _text(m.get("code"))
        if not code:
            out.problems.append((f"{p}.code", "a value is required"))
        elif code in seen:
            out.problems.append((f"{p}.code", f"duplicate meter code {code!r}"))
        else:
            seen.add(code)
        event_type = _text(m.get("event_type"))
        if not event_type:
            out.problems.append((f"{p}.event_type", "a value is required"))
        agg = _text(m.get("aggregation"))
        if agg not in AGGREGATIONS:
            out.problems.append(
                (f"{p}.aggregation", f"{agg!r} is not one of {', '.join(AGGREGATIONS)}")
            )
        fld = _text(m.get("field"))
        if agg not in (None, "count") and not fld:
            out.problems.append((f"{p}.field", f"a field is required for aggregation {agg!r}"))
        dims = m.get("dimensions") or []
        if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
            out.problems.append((f"{p}.dimensions", "must be a list of field names"))
            dims = []
        flt = m.get("filter")
        if flt is not None and (
            not isinstance(flt, dict) or any(isinstance(v, dict | list) for v in flt.values())
        ):
            out.problems.append((f"{p}.filter", "must be a mapping of field -> value"))
            flt = None
        inc = m.get("include_failed", False)
        if not isinstance(inc, bool):
            out.problems.append((f"{p}.include_failed", f"{inc!r} is not true or false"))
            inc = False
        out.add(
            "meters",
            (
                code,
                _text(m.get("name")),
                event_type,
                agg,
                fld,
                _text(m.get("unit")),
                json.dumps(dims),
                None if flt is None else json.dumps(flt, sort_keys=True),
                inc,
            ),
        )
        out.count += 1
    return out


def _parse_date(out: YamlRows, path: str, value: Any) -> str | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    text = _text(value)
    if not text:
        out.problems.append((path, "a date is required"))
        return None
    try:
        return (
            dt.date.fromisoformat(text).isoformat()
            if len(text) == 10
            else _bad_date(out, path, text)
        )
    except ValueError:
        return _bad_date(out, path, text)


def _bad_date(out: YamlRows, path: str, text: str) -> None:
    out.problems.append((path, f"{text!r} is not a date (YYYY-MM-DD)"))
    return None


def _parse_tiers(
    out: YamlRows, path: str, tiers: Any, key: tuple[Any, ...], price_key: str = "unit_price"
) -> None:
    if not isinstance(tiers, list) or not tiers:
        out.problems.append((path, "a non-empty list of tiers is required"))
        return
    previous: Decimal | None = None
    for t, tier in enumerate(tiers):
        tp = f"{path}[{t}]"
        if not isinstance(tier, dict):
            out.problems.append((tp, "a tier must be a mapping"))
            continue
        last = t == len(tiers) - 1
        up_to = tier.get("up_to")
        if up_to is None and not last:
            out.problems.append((f"{tp}.up_to", "only the last tier may omit up_to"))
        if up_to is not None:
            if last:
                out.problems.append((f"{tp}.up_to", "the last tier must not have up_to"))
            d = _decimal_field(out, f"{tp}.up_to", up_to, positive=True, scale=QUANTITY_SCALE)
            if d is not None and previous is not None and d <= previous:
                out.problems.append((path, f"tiers not ascending: up_to {up_to} after {previous}"))
            if d is not None:
                previous = d
        _decimal_field(out, f"{tp}.{price_key}", tier.get(price_key), required=True)
        _decimal_field(out, f"{tp}.flat_fee", tier.get("flat_fee"))
        if price_key == "credit_price" and tier.get("flat_fee") is not None:
            out.problems.append((f"{tp}.flat_fee", "a credit-priced tier has no flat_fee"))
        out.add(
            "plan_price_tiers",
            (*key, t, _text(up_to), _text(tier.get(price_key)), _text(tier.get("flat_fee"))),
        )


def _parse_credits(out: YamlRows, code: Any, version: Any, credits: Any) -> None:
    """The plan's credit block: ``credits: {allowance, rollover: reset | {cap}, overage_rate}``."""
    if not isinstance(credits, dict):
        out.problems.append(("credits", "must be a mapping (allowance, rollover, overage_rate)"))
        return
    unknown = sorted(set(credits) - {"allowance", "rollover", "overage_rate"})
    if unknown:
        out.problems.append(("credits", f"unknown key(s) {', '.join(unknown)}"))
    _decimal_field(
        out, "credits.allowance", credits.get("allowance"), required=True, scale=CREDIT_SCALE
    )
    rollover = credits.get("rollover", "reset")
    cap: Any = "0"
    if isinstance(rollover, dict) and set(rollover) == {"cap"}:
        cap = rollover["cap"]
        _decimal_field(out, "credits.rollover.cap", cap, required=True, scale=CREDIT_SCALE)
    elif rollover != "reset":
        out.problems.append(
            ("credits.rollover", f"{rollover!r} is not reset or a mapping {{cap: <credits>}}")
        )
    _decimal_field(out, "credits.overage_rate", credits.get("overage_rate"), required=True)
    out.add(
        "plan_credits",
        (
            code,
            version,
            _text(credits.get("allowance")),
            _text(cap),
            _text(credits.get("overage_rate")),
        ),
    )


def parse_plan(doc: Any, meter_codes: set[str] | None) -> YamlRows:
    """``meter_codes`` None: meters.yml could not be read; meter references are not checked."""
    out = YamlRows(count=1)
    if not isinstance(doc, dict):
        out.problems.append(("(document)", "a plan must be a mapping"))
        return out
    code = _text(doc.get("code"))
    if not code:
        out.problems.append(("code", "a value is required"))
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        out.problems.append(("version", f"{version!r} is not a positive integer"))
        version = None
    currency = _text(doc.get("currency"))
    problem = currency_problem(doc.get("currency")) or _billing_currency_problem(
        str(doc.get("currency")).strip()
    )
    if problem is not None:
        out.problems.append(("currency", problem))
    eff = _parse_date(out, "effective_from", doc.get("effective_from"))
    _decimal_field(out, "fee", doc.get("fee"))
    out.add("plans", (code, version, _text(doc.get("name")), currency, eff, _text(doc.get("fee"))))
    if doc.get("credits") is not None:
        _parse_credits(out, code, version, doc.get("credits"))
    charges = doc.get("charges") or []
    if not isinstance(charges, list):
        out.problems.append(("charges", "must be a list"))
        return out
    for c, ch in enumerate(charges):
        cp = f"charges[{c}]"
        if not isinstance(ch, dict):
            out.problems.append((cp, "a charge must be a mapping"))
            continue
        meter = _text(ch.get("meter"))
        if not meter:
            out.problems.append((f"{cp}.meter", "a value is required"))
        elif meter_codes is not None and meter not in meter_codes:
            out.problems.append((f"{cp}.meter", f"unknown meter {meter!r} (not in meters.yml)"))
        model = _text(ch.get("model")) or "per_unit"
        if model not in CHARGE_MODELS:
            out.problems.append(
                (f"{cp}.model", f"{model!r} is not one of {', '.join(CHARGE_MODELS)}")
            )
        if ch.get("price_per") is not None:
            _decimal_field(out, f"{cp}.price_per", ch.get("price_per"), positive=True)
        prices = ch.get("prices")
        # a charge priced in credits: every price (row or tier) says credit_price, none unit_price
        in_credits = _charge_in_credits(out, cp, prices, doc.get("credits") is not None, model)
        price_key = "credit_price" if in_credits else "unit_price"
        out.add(
            "plan_charges",
            (
                code,
                version,
                c,
                meter,
                model,
                _text(ch.get("price_per")),
                "credits" if in_credits else "money",
            ),
        )
        if not isinstance(prices, list) or not prices:
            out.problems.append((f"{cp}.prices", "a non-empty list of prices is required"))
            continue
        for r, pr in enumerate(prices):
            pp = f"{cp}.prices[{r}]"
            if not isinstance(pr, dict):
                out.problems.append((pp, "a price row must be a mapping"))
                continue
            when = pr.get("when")
            if when is not None and (
                not isinstance(when, dict)
                or not all(isinstance(v, str | int | float) for v in when.values())
            ):
                out.problems.append((f"{pp}.when", "must be a mapping of dimension -> pattern"))
                when = None
            _decimal_field(out, f"{pp}.free_units", pr.get("free_units"), scale=QUANTITY_SCALE)
            if model == "per_unit":
                _decimal_field(out, f"{pp}.{price_key}", pr.get(price_key), required=True)
            elif model in ("graduated", "volume"):
                _parse_tiers(out, f"{pp}.tiers", pr.get("tiers"), (code, version, c, r), price_key)
            elif model == "package":
                size = pr.get("package_size")
                if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                    out.problems.append(
                        (f"{pp}.package_size", f"{size!r} is not a positive integer")
                    )
                _decimal_field(out, f"{pp}.package_price", pr.get("package_price"), required=True)
            out.add(
                "plan_prices",
                (
                    code,
                    version,
                    c,
                    r,
                    None if when is None else json.dumps({k: str(v) for k, v in when.items()}),
                    _text(pr.get(price_key)),
                    _text(pr.get("free_units")),
                    _text(pr.get("package_size")),
                    _text(pr.get("package_price")),
                ),
            )
    return out


def _charge_in_credits(out: YamlRows, cp: str, prices: Any, has_credits: bool, model: str) -> bool:
    """True when the charge's prices are credit_price (checked: not mixed with unit_price, the plan
    has a credits block, the model is per_unit, graduated or volume)."""
    if not isinstance(prices, list):
        return False
    keys: set[str] = set()
    for pr in prices:
        if not isinstance(pr, dict):
            continue
        keys |= {k for k in ("unit_price", "credit_price") if k in pr}
        for tier in pr.get("tiers") or []:
            if isinstance(tier, dict):
                keys |= {k for k in ("unit_price", "credit_price") if k in tier}
    if "credit_price" not in keys:
        return False
    if "unit_price" in keys:
        out.problems.append((cp, "mixes unit_price and credit_price (one charge, one unit)"))
    if not has_credits:
        out.problems.append(
            (cp, "credit_price needs a plan credits block (allowance, rollover, overage_rate)")
        )
    if model == "package":
        out.problems.append((f"{cp}.model", "a package charge cannot be priced in credits"))
    return True


def parse_cost_allocation(doc: Any, meter_codes: set[str] | None) -> YamlRows:
    out = YamlRows()
    if not isinstance(doc, dict):
        out.problems.append(("(document)", "must be a mapping with tag_key and rules"))
        return out
    tag_key = _text(doc.get("tag_key"))
    rules = doc.get("rules") or []
    if not isinstance(rules, list):
        out.problems.append(("rules", "must be a list"))
        return out
    for i, rule in enumerate(rules):
        p = f"rules[{i}]"
        if not isinstance(rule, dict):
            out.problems.append((p, "a rule must be a mapping"))
            continue
        match = rule.get("match") or {}
        if not isinstance(match, dict):
            out.problems.append((f"{p}.match", "must be a mapping of FOCUS column -> pattern"))
            match = {}
        driver = _text(rule.get("driver"))
        if (
            driver not in (meter_codes or set())
            and driver not in DRIVERS_BUILTIN
            and (meter_codes is not None or not driver)
        ):
            out.problems.append(
                (f"{p}.driver", f"{driver!r} is not a meter code, requests or revenue")
            )
        out.add(
            "cost_allocation_rules",
            (i, tag_key, json.dumps({k: str(v) for k, v in match.items()}), driver),
        )
        out.count += 1
    return out
