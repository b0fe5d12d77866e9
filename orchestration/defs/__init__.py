"""Dagster definitions of meterline, one sub-package per area (after dagster-open-platform):

- ``ingest``    raw file loaders as assets keyed like the dbt sources (``["raw", <table>]``),
                and the sensor that notices new files;
- ``catalog``   provider list prices resolved from the catalog library;
- ``dbt``       the dbt project as assets (dagster-dbt), dbt tests as asset checks;
- ``quality``   Great Expectations suites and ingestion invariants as blocking asset checks;
- ``exports``   the published read-only snapshot and the invoice CSVs of closed periods;
- ``schedules`` jobs (the whole pipeline, its stages, period close) and their schedules.

``orchestration/definitions.py`` only assembles these modules.
"""
