"""Lines of `meterline summary` (what `make demo` prints) about the controls that act: pinned
plan versions (grandfathering), the entitlements export the gateway polls, and the alert outbox.
Each line says which customers use the feature and where to look."""

from __future__ import annotations

import duckdb

from orchestration.config import Settings


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def controls_lines(s: Settings, con: duckdb.DuckDBPyConnection) -> list[str]:
    out: list[str] = []
    if _exists(con, "staging", "stg_reference__subscriptions") and _exists(
        con, "staging", "stg_reference__plans"
    ):
        pinned = con.execute(
            """
            select s.customer_id, s.plan_code, s.plan_version, max(p.plan_version)
            from staging.stg_reference__subscriptions s
            left join staging.stg_reference__plans p on s.plan_code = p.plan_code
            where s.plan_version is not null
            group by all order by 1"""
        ).fetchall()
        if pinned:
            out.append(
                "grandfathered (subscriptions.csv plan_version): "
                + ", ".join(f"{c} on {p} v{v} (latest v{latest})" for c, p, v, latest in pinned)
            )
    if _exists(con, "marts", "fct_entitlements"):
        states = con.execute(
            """
            select customer_id, max(state) filter (where state = 'limited'),
                max(state) filter (where state = 'warning'), any_value(limited_since)
            from marts.fct_entitlements group by customer_id order by customer_id"""
        ).fetchall()
        limited = [(c, since) for c, lim, _w, since in states if lim]
        warning = [c for c, lim, w, _s in states if w and not lim]
        path = s.exports_dir / "entitlements" / "current.json"
        out.append(
            f"entitlements: {path} ({len(states)} customers: {len(limited)} limited, "
            f"{len(warning)} warning)"
            + (
                "; limited: " + ", ".join(f"{c} since {since}" for c, since in limited)
                if limited
                else ""
            )
        )
    if _exists(con, "outbox", "alert_messages"):
        rows = con.execute(
            """
            select channel, status, count(*), count(distinct customer_id),
                string_agg(distinct customer_id, ', ' order by customer_id),
                string_agg(distinct destination, ', ' order by destination)
                    filter (where channel = 'webhook')
            from outbox.alert_outbox group by all order by 1, 2"""
        ).fetchall()
        if rows:
            parts = []
            for channel, status, n, n_customers, customers, hooks in rows:
                who = customers if n_customers <= 3 else f"{n_customers} customers"
                text = f"{channel} {status} {n} ({who}"
                text += f", to {hooks})" if hooks else ")"
                parts.append(text)
            out.append("alert outbox (outbox.alert_outbox): " + "; ".join(parts))
            if any(ch == "email" and st == "pending" for ch, st, *_ in rows):
                out.append(
                    "  e-mails wait for an SMTP server: set METERLINE_SMTP_HOST (and _PORT, "
                    "_FROM) or smtp: in reference/notifications.yml; failed sends retry each run"
                )
    return out
