"""Controls that act after each build: the entitlements export (``exports/entitlements/``) the
API gateway polls, and delivery of spend alerts and anomalies through the outbox
(``orchestration.alerts``). Plain module functions do the work; these assets put them in the
graph, downstream of every dbt model."""

from collections.abc import Sequence

import dagster as dg

from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

ENTITLEMENTS_KEY = dg.AssetKey(["exports", "entitlements"])
ALERT_DELIVERY_KEY = dg.AssetKey(["exports", "alert_delivery"])
CONTROLS_EXPORT_KEYS = (ENTITLEMENTS_KEY, ALERT_DELIVERY_KEY)


def build_controls_assets(upstream: Sequence[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    """The controls assets, downstream of every key in ``upstream`` (the dbt models)."""

    @dg.asset(
        key=ENTITLEMENTS_KEY,
        deps=list(upstream),
        group_name="exports",
        pool=DUCKDB_WRITER_POOL,
        kinds={"json", "csv"},
        description="exports/entitlements/current.json and current.csv (customer x meter: "
        "included, used, remaining, state ok|warning|limited) from marts.fct_entitlements.",
    )
    def entitlements(meterline: MeterlineResource) -> dg.MaterializeResult:
        from orchestration.entitlements import write_entitlements_export

        result = write_entitlements_export(meterline.settings())
        return dg.MaterializeResult(
            metadata={
                "path": result["path"],
                "rows": result["rows"],
                "customers": result["customers"],
                "limited": ", ".join(result["limited"]),
                "files_written": len(result["files_written"]),
            }
        )

    @dg.asset(
        key=ALERT_DELIVERY_KEY,
        deps=list(upstream),
        group_name="exports",
        pool=DUCKDB_WRITER_POOL,
        kinds={"email"},
        description="Spend-threshold crossings, hard-limit breaches and anomalies sent once to "
        "each configured webhook / e-mail address through outbox.alert_messages "
        "(attempts in outbox.alert_attempts; a failed send is retried on the next run).",
    )
    def alert_delivery(meterline: MeterlineResource) -> dg.MaterializeResult:
        from orchestration.alerts import deliver_alerts

        result = deliver_alerts(meterline.settings())
        return dg.MaterializeResult(
            metadata={
                "enqueued": result.enqueued,
                "delivered": result.delivered,
                "failed (retried next run)": result.failed,
                "deferred (endpoint down this run)": result.deferred,
                "e-mails waiting for an SMTP server": result.waiting_for_smtp,
            }
        )

    return [entitlements, alert_delivery]
