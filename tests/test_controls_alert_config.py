"""Alert destinations: reference/notifications.yml and the environment, and a bad file's error
naming the file, the key and the problem (orchestration/alerts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.alerts import NotificationConfigError, Smtp, load_config
from orchestration.config import settings


def _write(tmp_path: Path, text: str) -> Path:
    ref = tmp_path / "data" / "reference"
    ref.mkdir(parents=True)
    (ref / "notifications.yml").write_text(text)
    return tmp_path / "data"


def test_file_and_environment_combine(tmp_path: Path) -> None:
    data = _write(
        tmp_path,
        "defaults: {webhook_url: 'https://ops.test/hook', email: finops@test.example}\n"
        "customers:\n"
        "  cus_a: {webhook_url: ['http://127.0.0.1:9/a'], billing_email: false}\n"
        "  cus_b: {email: 'x@b.test, y@b.test'}\n"
        "smtp: {host: mail.test, port: 2525}\n"
        "kinds: [threshold, hard_limit]\n",
    )
    cfg = load_config(
        settings(data),
        env={"METERLINE_ALERT_WEBHOOK_URL": "https://all.test/h", "METERLINE_SMTP_FROM": "a@m.t"},
    )
    assert cfg.default_webhooks == ["https://ops.test/hook", "https://all.test/h"]
    assert cfg.default_emails == ["finops@test.example"]
    assert cfg.customer_webhooks == {"cus_a": ["http://127.0.0.1:9/a"], "cus_b": []}
    assert cfg.customer_emails == {"cus_a": [], "cus_b": ["x@b.test", "y@b.test"]}
    assert cfg.billing_email_off == {"cus_a"} and cfg.billing_email_default
    assert cfg.smtp == Smtp("mail.test", 2525, "a@m.t")
    assert cfg.kinds == ("threshold", "hard_limit")


def test_no_file_no_smtp(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    cfg = load_config(settings(tmp_path / "data"), env={})
    assert (cfg.default_webhooks, cfg.smtp, cfg.kinds) == (
        [],
        None,
        ("threshold", "hard_limit", "anomaly"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "customers:\n  cus_a: {webhook_url: 'ftp://x'}\n",
            "reference/notifications.yml: customers.cus_a.webhook_url: 'ftp://x' is not an "
            "http(s) URL",
        ),
        (
            "kinds: [threshold, budget]\n",
            "reference/notifications.yml: kinds: unknown budget (one of threshold, hard_limit, "
            "anomaly)",
        ),
        (
            "smtp: {host: h, port: twenty-five}\n",
            "reference/notifications.yml: smtp.port: 'twenty-five' is not a port number",
        ),
        ("- a\n- b\n", "reference/notifications.yml: expected a mapping"),
    ],
)
def test_bad_file_names_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    data = _write(tmp_path, text)
    with pytest.raises(NotificationConfigError) as err:
        load_config(settings(data), env={})
    assert str(err.value) == message


def test_controls_assets_run_with_every_meterline_run() -> None:
    """The entitlements export and alert delivery are assets downstream of the marts they read,
    and `meterline run` materializes them (publish stage)."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.controls.assets import ALERT_DELIVERY_KEY, ENTITLEMENTS_KEY
    from orchestration.defs.ingest.sensors import PIPELINE_JOB_NAME
    from orchestration.pipeline import PUBLISH, step_stages

    graph = defs.resolve_asset_graph()
    assert dg.AssetKey(["marts", "fct_entitlements"]) in graph.get(ENTITLEMENTS_KEY).parent_keys
    parents = graph.get(ALERT_DELIVERY_KEY).parent_keys
    marts = {dg.AssetKey(["marts", m]) for m in ("fct_spend_alerts", "fct_spend_anomalies")}
    assert marts <= parents
    # in the one pipeline job, timed in the publish stage
    job_keys = defs.get_job_def(PIPELINE_JOB_NAME).asset_layer.executable_asset_keys
    assert {ENTITLEMENTS_KEY, ALERT_DELIVERY_KEY} <= set(job_keys)
    stages = step_stages(defs)
    for key in (ENTITLEMENTS_KEY, ALERT_DELIVERY_KEY):
        assert stages[graph.get(key).assets_def.op.name] == PUBLISH
