"""The `meterline` command line. Each command is a thin wrapper over a module that does the work,
so scripts, Dagster assets and tests call the same code."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import click

from orchestration.config import REPO_ROOT, Settings, settings

DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $METERLINE_DATA_DIR, else ./data).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """meterline: usage-based billing and margin warehouse for AI products.

    Raw usage logs and provider cost exports in, invoices, COGS, margin and bill-shock
    controls out. See README.md for the data directory contract and the marts.
    """


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Data directory to write (raw/, reference/).",
)
@click.option("--customers", type=int, default=40, show_default=True, help="Number of customers.")
@click.option(
    "--events",
    type=int,
    default=300_000,
    show_default=True,
    help="Approximate number of usage events.",
)
@click.option(
    "--start",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    default="2026-09-01",
    show_default=True,
    help="First day of usage (UTC).",
)
@click.option("--days", type=int, default=61, show_default=True, help="Days of usage.")
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Random seed: the same seed gives byte-identical files.",
)
@click.option(
    "--usage-format",
    type=click.Choice(["mixed", "jsonl", "parquet"]),
    default="mixed",
    show_default=True,
    help="Usage batch file format (mixed = JSONL and Parquet).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(
    out: Path,
    customers: int,
    events: int,
    start: dt.datetime,
    days: int,
    seed: int,
    usage_format: str,
    quiet: bool,
) -> None:
    """Generate a realistic demo data directory (usage, provider exports, reference files)."""
    from meterline_dev.generator import generate as run_generate

    report = run_generate(
        out,
        customers=customers,
        events=events,
        start=start.date(),
        days=days,
        seed=seed,
        usage_format=usage_format,
        progress=not quiet,
    )
    click.echo(report)


@main.command()
@DATA_DIR_OPTION
def ingest(data_dir: Path | None) -> None:
    """Load new raw files into the warehouse only (no dbt build)."""
    from orchestration.ingest import ingest_all

    s = settings(data_dir)
    result = ingest_all(s)
    click.echo(result)


@main.command()
@click.option("--quiet", is_flag=True, help="No per-stage progress display.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Run even when nothing changed, and rebuild dbt's incremental models from nothing.",
)
@DATA_DIR_OPTION
def run(quiet: bool, full_refresh: bool, data_dir: Path | None) -> None:
    """Ingest, build, check and publish (everything but closing a period).

    With no new or changed input file (and the same dbt project and code) it verifies that and
    stops: "no new data", the last snapshot and check results stand. Stage times and check
    results go to <data-dir>/.meterline/last_run.json."""
    from orchestration.pipeline import run_pipeline

    s = settings(data_dir)
    ok = run_pipeline(s, progress=not quiet, full_refresh=full_refresh)
    _echo_warnings(s)
    sys.exit(0 if ok else 1)


def _echo_warnings(s: Settings) -> None:
    """Non-blocking checks that failed (e.g. rejected raw files), one line each, on stderr."""
    from orchestration.run_log import read_run_log

    log = read_run_log(s)
    for c in log.checks if log is not None else []:
        if not c.passed and not c.blocking:
            click.echo(f"warning: {c.asset} {c.check}: {c.detail}", err=True)


@main.command()
@click.option(
    "--period",
    default=None,
    help="Billing period to close, YYYY-MM. Refused while an earlier period of one of its "
    "customers is still open (see --through).",
)
@click.option(
    "--through",
    default=None,
    metavar="YYYY-MM",
    help="Close every open period up to and including this one, oldest first "
    "(instead of --period).",
)
@click.option(
    "--exclude",
    "exclude",
    multiple=True,
    help="Customer id to leave out of this close (e.g. with unpriced usage). Repeatable.",
)
@click.option(
    "--force", is_flag=True, help="Close before the grace period (close_grace_days) is over."
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    default=None,
    help="issued_at / closed_at (UTC) to record; default: the end of the grace period.",
)
@click.option(
    "--no-refresh",
    is_flag=True,
    help="Don't rebuild the marts and republish the snapshot after closing.",
)
@DATA_DIR_OPTION
def close(
    period: str | None,
    through: str | None,
    exclude: tuple[str, ...],
    force: bool,
    as_of: dt.datetime | None,
    no_refresh: bool,
    data_dir: Path | None,
) -> None:
    """Finalize a period: number and freeze its invoices, export the invoice CSVs.

    A close materializes the ledger asset (the `close_period` job of the same Dagster
    definitions as `meterline run`; the monthly_close schedule runs it too).

    Periods close in order per customer: `--period P` refuses (exit 1), naming the earlier
    periods and customers still open, while a customer it would issue has an open period before
    P; `--through P` closes those periods first, oldest first, then P. An --exclude'd customer
    stays a draft and keeps the rule: its later periods cannot close until it is issued too
    (closing the closed period again issues it; numbers continue after the period's last).

    Refuses (exit 1) while the last run failed or a blocking check failed, or while a customer of
    the period has unpriced usage (unless --exclude'd). Closing a closed period with nothing left
    to issue is a no-op. Afterwards the marts are rebuilt and republished (as `meterline run`), so
    the dashboard and analysts see the invoices as issued; --no-refresh skips that."""
    from orchestration.pipeline import close_with_job, run_pipeline

    if (period is None) == (through is None):
        raise click.UsageError("give exactly one of --period YYYY-MM and --through YYYY-MM")
    s = settings(data_dir)
    ok, message = close_with_job(
        s,
        str(period or through),
        exclude=list(exclude),
        force=force,
        as_of=as_of,
        through=through is not None,
    )
    click.echo(message)
    if ok and not no_refresh:
        click.echo("refreshing the marts and the published snapshot (as `meterline run`) ...")
        ok = run_pipeline(s, progress=False)
        click.echo("refreshed" if ok else "refresh failed: see `meterline run`")
    sys.exit(0 if ok else 1)


@main.command("credit-note")
@click.option("--invoice", "invoice_number", required=True, help="Issued invoice number.")
@click.option(
    "--line", "line_no", type=int, default=None, help="Line to credit (default: the invoice)."
)
@click.option("--amount", default=None, help="Amount to credit before tax, e.g. 20.00.")
@click.option(
    "--quantity", default=None, help="Quantity of the line to credit (instead of --amount)."
)
@click.option("--reason", required=True, help="Why (shown on the credit note).")
@click.option(
    "--settlement",
    type=click.Choice(["refund", "account_credit"]),
    required=True,
    help="refund: paid back; account_credit: a balance the next invoices burn like a paid grant.",
)
@click.option("--currency", default=None, help="Currency (default: the invoice's).")
@click.option("--id", "note_id", default=None, help="Request id (default: cnr-<n>).")
@DATA_DIR_OPTION
def credit_note(
    invoice_number: str,
    line_no: int | None,
    amount: str | None,
    quantity: str | None,
    reason: str,
    settlement: str,
    currency: str | None,
    note_id: str | None,
    data_dir: Path | None,
) -> None:
    """Request a credit note against an issued invoice or one of its lines.

    The request is validated against the ledger (never more than the line or invoice still open
    to credit, the invoice's currency) and appended to <data-dir>/reference/credit_notes.csv, the
    file of requests (which may also be edited by hand). The next `meterline close` validates
    every pending request again and numbers it CN-<YYYYMM>-<NNNNN>."""
    from orchestration import credit_notes
    from orchestration.warehouse import connect

    s = settings(data_dir)
    path = s.data_dir / "reference" / "credit_notes.csv"
    try:
        rows = credit_notes.read_requests(path)
        same = [r for r in rows if note_id is not None and r.get("credit_note_id") == note_id]
        if same and same[0].get("invoice_number") == invoice_number:
            # re-running a script (make demo): the same request is already in the file
            click.echo(f"credit note {note_id} is already requested in {path}: nothing to do")
            return
        with connect(s.warehouse, read_only=True) as con:
            if currency is None:
                found = con.execute(
                    "select currency from ledger.issued_invoices where invoice_number = ?",
                    [invoice_number],
                ).fetchone()
                currency = found[0] if found else ""
            row = {
                "credit_note_id": note_id or f"cnr-{len(rows) + 1}",
                "invoice_number": invoice_number,
                "line_no": "" if line_no is None else str(line_no),
                "amount": amount or "",
                "quantity": quantity or "",
                "reason": reason,
                "settlement": settlement,
                "currency": currency or "",
            }
            notes = credit_notes.validate(con, path, [*rows, row])
    except credit_notes.CreditNoteError as err:
        click.echo(f"credit note refused: {err}", err=True)
        sys.exit(1)
    credit_notes.append_request(path, row)
    note = notes[-1]
    click.echo(
        f"credit note {row['credit_note_id']} requested: {note.amount} + tax {note.tax} = "
        f"{note.total} {note.currency} on {invoice_number}"
        + (f" line {line_no}" if line_no is not None else "")
        + f" ({settlement}); numbered at the next `meterline close`. File: {path}"
    )


@main.command()
@click.argument("scenario")
@click.option(
    "--period",
    "periods",
    multiple=True,
    help="Report only this billing month, YYYY-MM (within the scenario's periods). Repeatable.",
)
@DATA_DIR_OPTION
def simulate(scenario: str, periods: tuple[str, ...], data_dir: Path | None) -> None:
    """Pricing lab: re-rate past periods under reference/scenarios/SCENARIO.yml.

    Re-rates the baseline and the scenario with the billing models (never touching issued
    invoices or the real marts), builds the fct_scenario_* marts, prints the headline (revenue,
    margin, customers better/worse off, largest increases, bill shocks, margin targets) and
    writes exports/scenarios/SCENARIO.csv. Needs a warehouse built by `meterline run`."""
    from orchestration.dbt_runner import DbtError
    from orchestration.ingest.results import ReferenceDataError
    from orchestration.scenarios import simulate as run_simulation

    s = settings(data_dir)
    try:
        text, path, run = run_simulation(s, scenario, list(periods) or None)
    except (ReferenceDataError, DbtError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(text)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items()) or "none"
    reused = f"; inputs unchanged, kept: {', '.join(run.reused)}" if run.reused else ""
    click.echo(
        f"\ndone in {run.total_seconds:.1f} s "
        f"(re-rating: {timings}{reused}; marts {run.marts_seconds:.1f} s)"
    )
    try:
        shown = path.relative_to(s.data_dir)
    except ValueError:
        shown = path
    click.echo(f"wrote {shown}")


@main.command()
@click.option("--period", default=None, help="Billing period to summarise, YYYY-MM.")
@DATA_DIR_OPTION
def summary(period: str | None, data_dir: Path | None) -> None:
    """Print a short summary of the warehouse: raw rows, quarantine, invoices."""
    from orchestration.summary import print_summary

    print_summary(settings(data_dir), period=period)


@main.command()
@click.argument("query", required=False)
@click.option("--csv", "as_csv", is_flag=True, help="CSV output (header row first).")
@click.option(
    "--warehouse",
    "use_warehouse",
    is_flag=True,
    help="Query the warehouse itself (read-only) instead of the published snapshot.",
)
@DATA_DIR_OPTION
def sql(query: str | None, as_csv: bool, use_warehouse: bool, data_dir: Path | None) -> None:
    """Run a SQL query on the published snapshot, read-only (QUERY, else stdin).

    Example: meterline sql "select * from marts.fct_invoices limit 5"
    """
    import duckdb

    from orchestration.sql import run_sql

    s = settings(data_dir)
    text = query if query is not None else sys.stdin.read()
    path = s.warehouse if use_warehouse else s.published_warehouse
    try:
        run_sql(path, text, as_csv=as_csv)
    except (FileNotFoundError, duckdb.Error) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--events", type=int, default=10_000_000, show_default=True)
@click.option("--days", type=int, default=30, show_default=True)
@click.option("--customers", type=int, default=500, show_default=True)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to generate the benchmark data (default: bench/scratch).",
)
@click.option(
    "--floor-runs",
    type=click.IntRange(min=1),
    default=None,
    help="Runs of the floor query; the median run is the floor [default: 3].",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="Where the dbt build runs (the floor is DuckDB's either way).",
)
def bench(
    events: int,
    days: int,
    customers: int,
    work_dir: Path | None,
    floor_runs: int | None,
    engine: str,
) -> None:
    """Benchmark the pipeline against the DuckDB floor; prints ratio_to_floor=<x>."""
    # dev tools live outside the runtime package (meterline_dev/), imported only by their commands
    from meterline_dev.bench import DEFAULT_FLOOR_RUNS, run_bench

    run_bench(
        events=events,
        days=days,
        customers=customers,
        work_dir=work_dir,
        floor_runs=floor_runs or DEFAULT_FLOOR_RUNS,
        engine=engine,
    )


@main.command()
@click.option("--port", type=int, default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@DATA_DIR_OPTION
def dashboard(port: int, host: str, data_dir: Path | None) -> None:
    """Start the Streamlit finance dashboard (reads the published snapshot)."""
    s = settings(data_dir)
    env = s.dbt_env()
    app = REPO_ROOT / "dashboards" / "streamlit_app.py"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]
    sys.exit(subprocess.call(cmd, env=env))


@main.command("spark-connect")
@click.option("--port", type=int, default=15002, show_default=True)
@DATA_DIR_OPTION
def spark_connect(port: int, data_dir: Path | None) -> None:
    """Serve Spark Connect for the Spark engine of a data directory (foreground; Ctrl-C stops).

    The server holds the Spark target's settings (dbt_project/profiles.yml); then, in another
    shell: SPARK_REMOTE=sc://localhost:PORT METERLINE_ENGINE=spark meterline run."""
    from orchestration.spark_connect import remote_url, start_server, wait_until_serving

    s = settings(data_dir, engine="spark")
    server = start_server(s, port)
    try:
        wait_until_serving(port, server)
        click.echo(
            f"Spark Connect for {s.data_dir} on port {port} (log: "
            f"{s.spark_dir / 'connect-server.log'}). In another shell:\n"
            f"  SPARK_REMOTE={remote_url(port)} METERLINE_ENGINE=spark meterline run "
            f"--data-dir {s.data_dir}"
        )
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        server.wait(60)
    sys.exit(server.returncode if server.returncode and server.returncode > 0 else 0)


@main.command()
@click.option("--port", type=int, default=3000, show_default=True)
@DATA_DIR_OPTION
def ui(port: int, data_dir: Path | None) -> None:
    """Start the Dagster UI on localhost."""
    from orchestration.dagster_instance import ensure_instance_config

    s = settings(data_dir)
    env = s.dbt_env()
    env.setdefault("DAGSTER_HOME", str(s.data_dir / ".dagster"))
    ensure_instance_config(Path(env["DAGSTER_HOME"]))  # duckdb_writer pool limit 1
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    sys.exit(subprocess.call(cmd, env=env, cwd=os.fspath(REPO_ROOT)))


if __name__ == "__main__":
    main()
