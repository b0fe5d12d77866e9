"""Alert delivery through an outbox: every spend-threshold crossing (``marts.fct_spend_alerts``),
hard-limit breach and spend anomaly (``marts.fct_spend_anomalies``) is sent once to each
configured destination, by webhook (HTTP POST of JSON) and/or e-mail (SMTP).

Runs after each build (Dagster asset ``exports/alert_delivery``, ``deliver_alerts``):

1. **enqueue** (one SQL insert): each alert × destination not in ``outbox.alert_messages`` yet
   becomes a message, its subject and JSON payload frozen; its ``idempotency_key`` is
   ``<alert_key>|<channel>|<destination>``.
2. **send** every message without a ``delivered`` attempt, once per run: a webhook is POSTed with
   the header ``Idempotency-Key``; an e-mail carries it as ``X-Meterline-Idempotency-Key`` and a
   Message-ID derived from it. 2xx / an accepted SMTP transaction is ``delivered``; anything else
   (refused connection, timeout, 5xx, SMTP error) is ``failed`` and retried on the next run.
   After a failure, the other messages to the same webhook URL (or SMTP server) wait for the
   next run untried, so an endpoint that is down costs one timeout per run, not one per alert.
3. **record** each attempt in ``outbox.alert_attempts`` (append-only; ``outbox.alert_outbox``
   shows each message with its attempts and status ``pending | failed | delivered``).

Nothing is ever sent twice by the outbox: a delivered message is never selected again. (A process
killed between a send and its record would resend that one message on the next run, with the same
idempotency key for the receiver to drop.) The DuckDB connection is closed while sending.

Destinations (``reference/notifications.yml``, optional, and environment variables):

    defaults:                        # every customer
      webhook_url: https://ops.example.com/hooks/billing
      email: [finops@example.com]
      billing_email: true            # mail customers.csv's billing_email (default true)
    customers:
      cus_aperture:
        webhook_url: https://aperture.example.com/meterline
        email: [ops@aperture.example.com]
        billing_email: false         # overrides the default for this customer
    smtp: {host: localhost, port: 25, from: alerts@meterline.local}
    kinds: [threshold, hard_limit, anomaly]   # which alerts are sent (default all)

A customer's ``billing_email`` (customers.csv) receives its alerts unless turned off. Environment:
``METERLINE_ALERT_WEBHOOK_URL`` and ``METERLINE_ALERT_EMAIL`` (comma-separated) add global
destinations; ``METERLINE_SMTP_HOST``, ``METERLINE_SMTP_PORT``, ``METERLINE_SMTP_FROM`` override
``smtp``. E-mail messages wait as ``pending`` (never attempted) until an SMTP host is configured.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import duckdb
import yaml

from orchestration.config import Settings
from orchestration.warehouse import connect, ensure_schema

KINDS = ("threshold", "hard_limit", "anomaly")
WEBHOOK_TIMEOUT_SECONDS = 10.0
SMTP_TIMEOUT_SECONDS = 10.0


class NotificationConfigError(ValueError):
    """reference/notifications.yml is invalid (the message names the file, key and problem)."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 25
    sender: str = "meterline@localhost"


@dataclass
class Config:
    default_webhooks: list[str] = field(default_factory=list)
    default_emails: list[str] = field(default_factory=list)
    customer_webhooks: dict[str, list[str]] = field(default_factory=dict)
    customer_emails: dict[str, list[str]] = field(default_factory=dict)
    billing_email_off: set[str] = field(default_factory=set)
    billing_email_on: set[str] = field(default_factory=set)
    billing_email_default: bool = True
    smtp: Smtp | None = None
    kinds: tuple[str, ...] = KINDS


def _list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise NotificationConfigError(
        f"reference/notifications.yml: {where}: expected a string or a list of strings"
    )


def _url(value: str, where: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise NotificationConfigError(
            f"reference/notifications.yml: {where}: {value!r} is not an http(s) URL"
        )
    return value


def load_config(s: Settings, env: dict[str, str] | None = None) -> Config:
    """The notification settings: ``reference/notifications.yml`` (optional) + environment."""
    env = dict(os.environ) if env is None else env
    cfg = Config()
    path = s.reference_dir / "notifications.yml"
    doc: Any = {}
    if path.is_file():
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise NotificationConfigError(
                f"reference/notifications.yml: cannot be parsed as YAML: {exc}"
            ) from exc
        if not isinstance(doc, dict):
            raise NotificationConfigError("reference/notifications.yml: expected a mapping")
    defaults = doc.get("defaults") or {}
    cfg.default_webhooks = [
        _url(u, "defaults.webhook_url") for u in _list(defaults.get("webhook_url"), "defaults")
    ]
    cfg.default_emails = _list(defaults.get("email"), "defaults.email")
    cfg.billing_email_default = defaults.get("billing_email") is not False
    for cid, c in sorted((doc.get("customers") or {}).items()):
        c = c or {}
        where = f"customers.{cid}"
        cfg.customer_webhooks[cid] = [
            _url(u, f"{where}.webhook_url") for u in _list(c.get("webhook_url"), where)
        ]
        cfg.customer_emails[cid] = _list(c.get("email"), f"{where}.email")
        if c.get("billing_email") is False:
            cfg.billing_email_off.add(cid)
        elif c.get("billing_email") is True:
            cfg.billing_email_on.add(cid)
    kinds = doc.get("kinds")
    if kinds is not None:
        bad = [k for k in _list(kinds, "kinds") if k not in KINDS]
        if bad:
            raise NotificationConfigError(
                f"reference/notifications.yml: kinds: unknown {', '.join(bad)} "
                f"(one of {', '.join(KINDS)})"
            )
        cfg.kinds = tuple(_list(kinds, "kinds"))
    cfg.default_webhooks += [
        _url(u, "METERLINE_ALERT_WEBHOOK_URL")
        for u in _list(env.get("METERLINE_ALERT_WEBHOOK_URL"), "env")
    ]
    cfg.default_emails += _list(env.get("METERLINE_ALERT_EMAIL"), "env")
    smtp = doc.get("smtp") or {}
    host = env.get("METERLINE_SMTP_HOST") or smtp.get("host")
    if host:
        port = env.get("METERLINE_SMTP_PORT") or smtp.get("port") or 25
        try:
            port_no = int(port)
        except (TypeError, ValueError) as exc:
            raise NotificationConfigError(
                f"reference/notifications.yml: smtp.port: {port!r} is not a port number"
            ) from exc
        cfg.smtp = Smtp(
            str(host),
            port_no,
            str(env.get("METERLINE_SMTP_FROM") or smtp.get("from") or "meterline@localhost"),
        )
    return cfg


# --- enqueue -------------------------------------------------------------------------------------

# Every alert of the marts, with its key, subject and JSON payload (DuckDB SQL; amounts as text).
ALERTS_SQL = """
select
    'threshold:' || alert_id as alert_key,
    'threshold' as alert_kind,
    customer_id,
    customer_id || ': spend reached ' || rtrim(rtrim(cast(threshold_pct as varchar), '0'), '.')
        || '% (' || cast(threshold_amount as varchar) || ' ' || currency || ') of its '
        || replace(baseline_source, '_', ' ') || ' ' || cast(baseline_amount as varchar)
        || ' for ' || period || ' on ' || cast(crossed_on as varchar) as subject,
    to_json({
        alert_key: 'threshold:' || alert_id, kind: 'threshold', customer_id: customer_id,
        period: period, threshold_pct: cast(threshold_pct as varchar),
        threshold_amount: cast(threshold_amount as varchar), baseline_source: baseline_source,
        baseline_amount: cast(baseline_amount as varchar), currency: currency,
        crossed_on: cast(crossed_on as varchar), as_of_date: cast(as_of_date as varchar),
        spend_to_date: cast(spend_to_date as varchar), hard_limit: hard_limit
    })::varchar as payload
from marts.fct_spend_alerts
where is_crossed
union all
select
    'hard_limit:' || customer_id || ':' || period,
    'hard_limit',
    customer_id,
    customer_id || ': hard limit reached for ' || period || ': spend above the budget '
        || cast(monthly_budget as varchar) || ' ' || currency || ' since '
        || cast(hard_limit_breached_on as varchar),
    to_json({
        alert_key: 'hard_limit:' || customer_id || ':' || period, kind: 'hard_limit',
        customer_id: customer_id, period: period, currency: currency,
        monthly_budget: cast(monthly_budget as varchar),
        limited_since: cast(hard_limit_breached_on as varchar)
    })::varchar
from marts.fct_spend_alerts
where hard_limit_breached
qualify row_number() over (partition by customer_id, period order by threshold_pct) = 1
union all
select
    'anomaly:' || anomaly_id,
    'anomaly',
    customer_id,
    customer_id || ': unusual spend on ' || cast(spend_date as varchar) || ': '
        || cast(anomaly_basis as varchar) || ' ' || currency || ', '
        || coalesce(cast(basis_to_median_ratio as varchar), '-') || 'x the trailing median',
    to_json({
        alert_key: 'anomaly:' || anomaly_id, kind: 'anomaly', customer_id: customer_id,
        period: period, spend_date: cast(spend_date as varchar), currency: currency,
        spend: cast(spend as varchar), anomaly_basis: cast(anomaly_basis as varchar),
        anomaly_threshold: cast(anomaly_threshold as varchar),
        basis_to_median_ratio: cast(basis_to_median_ratio as varchar)
    })::varchar
from marts.fct_spend_anomalies
"""


def _destinations(con: duckdb.DuckDBPyConnection, cfg: Config) -> list[tuple[str, str, str]]:
    """(customer_id, channel, destination) for every customer, sorted, without repeats."""
    customers = con.execute(
        "select customer_id, nullif(trim(billing_email), '') from staging.stg_reference__customers "
        "order by customer_id"
    ).fetchall()
    out: set[tuple[str, str, str]] = set()
    for cid, billing_email in customers:
        for url in cfg.default_webhooks + cfg.customer_webhooks.get(cid, []):
            out.add((cid, "webhook", url))
        emails = cfg.default_emails + cfg.customer_emails.get(cid, [])
        mail_billing = cid in cfg.billing_email_on or (
            cfg.billing_email_default and cid not in cfg.billing_email_off
        )
        if billing_email and mail_billing:
            emails.append(billing_email)
        for address in emails:
            out.add((cid, "email", address))
    return sorted(out)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def enqueue(con: duckdb.DuckDBPyConnection, cfg: Config, now: dt.datetime) -> int:
    """Insert the messages of new alerts x destinations; return how many were added."""
    if not all(
        _has_table(con, sch, t)
        for sch, t in (
            ("marts", "fct_spend_alerts"),
            ("marts", "fct_spend_anomalies"),
            ("staging", "stg_reference__customers"),
        )
    ):
        return 0
    dests = _destinations(con, cfg)
    if not dests:
        return 0
    con.execute(
        "create or replace temp table _alert_destinations (c VARCHAR, ch VARCHAR, d VARCHAR)"
    )
    con.executemany("insert into _alert_destinations values (?, ?, ?)", dests)
    kinds = ", ".join(f"'{k}'" for k in cfg.kinds)
    before = con.execute("select count(*) from outbox.alert_messages").fetchone()[0]  # type: ignore[index]
    con.execute(
        f"""
        insert into outbox.alert_messages
        select
            alerts.alert_key || '|' || d.ch || '|' || d.d as idempotency_key,
            alerts.alert_key, alerts.alert_kind, alerts.customer_id, d.ch, d.d,
            alerts.subject, alerts.payload, ?
        from ({ALERTS_SQL}) as alerts
        inner join _alert_destinations as d on alerts.customer_id = d.c
        where alerts.alert_kind in ({kinds})
            and alerts.alert_key || '|' || d.ch || '|' || d.d not in (
                select idempotency_key from outbox.alert_messages
            )
        order by alerts.customer_id, alerts.alert_key, d.ch, d.d
        """,
        [now],
    )
    after = con.execute("select count(*) from outbox.alert_messages").fetchone()[0]  # type: ignore[index]
    return int(after) - int(before)


# --- send ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    idempotency_key: str
    channel: str
    destination: str
    subject: str
    payload: str
    attempts: int


def send_webhook(m: Message, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> tuple[bool, str]:
    req = urllib.request.Request(
        m.destination,
        data=m.payload.encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": m.idempotency_key,
            "User-Agent": "meterline-alerts/1",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http(s) only)
            return 200 <= resp.status < 300, f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{type(exc).__name__}: {reason}"


def email_message(m: Message, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = m.destination
    msg["Subject"] = f"[meterline] {m.subject}"
    digest = hashlib.sha256(m.idempotency_key.encode("utf-8")).hexdigest()[:32]
    msg["Message-ID"] = f"<{digest}@meterline>"
    msg["X-Meterline-Idempotency-Key"] = m.idempotency_key
    payload = json.loads(m.payload)
    body = [m.subject, ""] + [f"{k}: {v}" for k, v in payload.items() if v is not None]
    msg.set_content("\n".join(body) + "\n")
    msg.add_attachment(
        m.payload.encode("utf-8"), maintype="application", subtype="json", filename="alert.json"
    )
    return msg


def send_email(m: Message, smtp: Smtp, timeout: float = SMTP_TIMEOUT_SECONDS) -> tuple[bool, str]:
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            refused = client.send_message(email_message(m, smtp.sender))
        if refused:
            return False, f"refused: {refused}"
        return True, f"SMTP accepted by {smtp.host}:{smtp.port}"
    except (smtplib.SMTPException, OSError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


@dataclass
class DeliveryResult:
    enqueued: int = 0
    delivered: int = 0
    failed: int = 0
    waiting_for_smtp: int = 0
    deferred: int = 0  # not tried: their endpoint already failed in this run
    details: list[tuple[str, str, str]] = field(default_factory=list)  # (key, status, detail)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def deliver_alerts(s: Settings, env: dict[str, str] | None = None) -> DeliveryResult:
    """Enqueue new alerts, send every undelivered message once, record the attempts."""
    cfg = load_config(s, env)
    result = DeliveryResult()
    with connect(s.warehouse) as con:
        ensure_schema(con)
        result.enqueued = enqueue(con, cfg, _now())
        pending = [
            Message(*row)
            for row in con.execute(
                "select idempotency_key, channel, destination, subject, payload, attempts "
                "from outbox.alert_outbox where status <> 'delivered' "
                "order by enqueued_at, idempotency_key"
            ).fetchall()
        ]
    attempts: list[tuple[str, int, dt.datetime, str, str]] = []
    down: set[str] = set()  # endpoints that failed this run: their other messages wait
    for m in pending:  # a handful of alerts per run, not events
        if m.channel == "email" and cfg.smtp is None:
            result.waiting_for_smtp += 1
            continue
        endpoint = "smtp" if m.channel == "email" else m.destination
        if endpoint in down:
            result.deferred += 1
            continue
        ok, detail = send_email(m, cfg.smtp) if m.channel == "email" else send_webhook(m)  # type: ignore[arg-type]
        status = "delivered" if ok else "failed"
        attempts.append((m.idempotency_key, m.attempts + 1, _now(), status, detail))
        result.details.append((m.idempotency_key, status, detail))
        if ok:
            result.delivered += 1
        else:
            result.failed += 1
            down.add(endpoint)
    if attempts:
        with connect(s.warehouse) as con:
            con.executemany("insert into outbox.alert_attempts values (?, ?, ?, ?, ?)", attempts)
    return result


def outbox_status(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(channel, status, messages) of the outbox, for the summary."""
    if not _has_table(con, "outbox", "alert_messages"):
        return []
    return [
        (str(ch), str(st), int(n))
        for ch, st, n in con.execute(
            "select channel, status, count(*) from outbox.alert_outbox group by all order by 1, 2"
        ).fetchall()
    ]
