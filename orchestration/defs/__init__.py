"""Dagster definitions of meterline, one sub-package per area (after dagster-open-platform):

- ``ingest``    raw file loaders as assets keyed like the dbt sources (``["raw", <table>]``),
                and the sensor that notices new files;
- ``catalog``   provider list prices resolved from the catalog library;
- ``dbt``       the dbt project as assets (dagster-dbt), dbt tests as asset checks;
- ``quality``   Great Expectations suites and ingestion invariants as blocking asset checks;
- ``exports``   the published read-only snapshot and the invoice CSVs of closed periods;
- ``schedules`` jobs (the whole pipeline, its stages, period close) and their schedules.

``orchestration/definitions.py`` only assembles these modules.

Partitions: none, on purpose. Ingestion is already incremental per file (manifest by content
hash: a run loads only new files), and the dbt marts aggregate whole billing periods in customer
time zones; daily-partitioned dbt assets would start dbt once per day partition, which costs more
than one build of a small warehouse. Incrementality lives in dbt instead: the one pass over usage
events (``int_usage_batches_daily``) is incremental on the load batch, keyed like the manifest,
so a run aggregates only the batches loaded since the last one (docs/design.md).
"""
