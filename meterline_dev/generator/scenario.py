"""The demo world: customers, calendar and where each planted fault goes (pure, no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

_NAMES: tuple[str, ...] = (
    "acme",
    "northwind",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "cyberdyne",
    "tyrell",
    "soylent",
    "aperture",
    "blackmesa",
    "oscorp",
    "vandelay",
    "pied",
    "dunder",
    "prestige",
    "gringotts",
    "monarch",
    "nakatomi",
    "massive",
    "vehement",
    "sirius",
    "kramerica",
    "bluth",
    "sterling",
    "pendant",
    "wernham",
    "rekall",
    "zorg",
    "tricell",
    "virtucon",
    "spacely",
    "cogswell",
    "gekko",
    "duff",
    "krusty",
    "lacuna",
)
# (IANA zone, UTC offset in hours used for the daily rhythm, tax rate, gateway)
_ZONES: tuple[tuple[str, int, str, str], ...] = (
    ("UTC", 0, "0", "gateway-eu-1"),
    ("America/New_York", -4, "0", "gateway-us-1"),
    ("Europe/Berlin", 2, "0.19", "gateway-eu-1"),
    ("Asia/Tokyo", 9, "0", "gateway-ap-1"),
    ("America/Los_Angeles", -7, "0", "gateway-us-1"),
    ("Europe/London", 1, "0.2", "gateway-eu-1"),
)


@dataclass(frozen=True)
class Customer:
    index: int
    customer_id: str
    name: str
    timezone: str
    utc_offset: int
    tax_rate: str
    segment: str
    gateway: str
    weight: float  # share of usage (heavy-tailed, sums to 1)
    start_date: dt.date  # first day with usage / subscription start
    parent_customer_id: str


@dataclass(frozen=True)
class Scenario:
    start: dt.date
    days: int
    seed: int
    customers: tuple[Customer, ...]
    spike_customer: int
    spike_day: dt.date
    spike_factor: int
    late_starter: int  # starts mid-way through the first month
    plan_changer: int
    plan_change_day: dt.date
    undermetered_provider: str
    undermetered_model: str
    undermetered_days: tuple[dt.date, ...]
    undermetered_factor: str  # decimal text, e.g. "1.02"
    override_from: dt.date  # negotiated gpt-4o output price starts

    @property
    def last_day(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    def usage_days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def late_files(self) -> dict[dt.date, dt.date]:
        """Month-end day -> date of the late file holding events of that month's last 3 days."""
        out: dict[dt.date, dt.date] = {}
        for d in self.usage_days():
            nxt = d + dt.timedelta(days=1)
            if nxt.month != d.month and (d - self.start).days >= 3:
                out[d] = nxt
        return out


def _next_weekday(d: dt.date, weekday: int) -> dt.date:
    return d + dt.timedelta(days=(weekday - d.weekday()) % 7)


def build_scenario(*, customers: int, start: dt.date, days: int, seed: int) -> Scenario:
    if customers < 8:
        raise ValueError("the demo needs at least 8 customers")
    if days < 14:
        raise ValueError("the demo needs at least 14 days")
    rng = np.random.default_rng([seed, 0])
    raw = 1.0 / np.arange(1, customers + 1) ** 1.15  # Zipf-like: a few carry most usage
    raw = raw * rng.uniform(0.9, 1.1, customers)
    weights = raw / raw.sum()
    n_ent = max(2, round(customers * 0.2))
    n_startup = max(n_ent + 2, round(customers * 0.5))
    spike = customers // 2  # mid-size: its 10x day stays a minority of that day's events
    late_starter = 1 if customers < 10 else n_ent - 1
    if late_starter == spike:
        late_starter += 1
    plan_changer = (n_ent + n_startup) // 2
    if plan_changer in (spike, late_starter):
        plan_changer += 1
    out: list[Customer] = []
    for i in range(customers):
        base = _NAMES[i % len(_NAMES)]
        name = base if i < len(_NAMES) else f"{base}{i // len(_NAMES) + 1}"
        zone = _ZONES[(i - spike) % len(_ZONES)]  # the spike customer is on UTC
        segment = "enterprise" if i < n_ent else "startup" if i < n_startup else "self_serve"
        started = start + dt.timedelta(days=min(13, days // 4)) if i == late_starter else start
        parent = f"cus_{_NAMES[0]}" if i == n_startup + 1 and i != 0 else ""
        out.append(
            Customer(
                index=i,
                customer_id=f"cus_{name}",
                name=name.capitalize() + (" Inc" if segment == "enterprise" else ""),
                timezone=zone[0],
                utc_offset=zone[1],
                tax_rate=zone[2],
                segment=segment,
                gateway=zone[3],
                weight=float(weights[i]),
                start_date=started,
                parent_customer_id=parent,
            )
        )
    last = start + dt.timedelta(days=days - 1)
    oct13 = dt.date(2026, 10, 13)
    if start + dt.timedelta(days=7) <= oct13 and oct13 + dt.timedelta(days=2) <= last:
        um0 = oct13
    else:
        um0 = _next_weekday(start + dt.timedelta(days=days // 2), 1)
        if um0 + dt.timedelta(days=2) > last:
            um0 = _next_weekday(start + dt.timedelta(days=7), 1)
    oct21 = dt.date(2026, 10, 21)
    um_days = {um0 + dt.timedelta(days=k) for k in range(3)}
    if start + dt.timedelta(days=10) <= oct21 <= last:
        spike_day = oct21
    else:  # a weekday with >= 10 days of history, away from the under-metered days
        target = start + dt.timedelta(days=int(days * 0.8))
        candidates = [start + dt.timedelta(days=k) for k in range(10, days)]
        candidates = [d for d in candidates if d.weekday() < 5 and d not in um_days] or candidates
        spike_day = min(candidates, key=lambda d: (abs((d - target).days), d))
    oct20 = dt.date(2026, 10, 20)
    plan_change = oct20 if start < oct20 <= last else start + dt.timedelta(days=(days * 2) // 3)
    oct1 = dt.date(2026, 10, 1)
    override_from = oct1 if start < oct1 <= last else start + dt.timedelta(days=days // 2)
    return Scenario(
        start=start,
        days=days,
        seed=seed,
        customers=tuple(out),
        spike_customer=spike,
        spike_day=spike_day,
        spike_factor=10,
        late_starter=late_starter,
        plan_changer=plan_changer,
        plan_change_day=plan_change,
        undermetered_provider="anthropic",
        undermetered_model="claude-haiku-4-5-20251001",
        undermetered_days=tuple(um0 + dt.timedelta(days=k) for k in range(3)),
        undermetered_factor="1.02",
        override_from=override_from,
    )
