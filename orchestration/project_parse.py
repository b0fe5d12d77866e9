"""The project parse: what installing meterline does (`make manifest`: ``python -m
orchestration.project_parse``), what the pipeline does after the dbt project changed, and what the
tests' session does first. Its own module because it parses for the pricing lab too
(``scenarios.seed_chain_parse``), which runs dbt through ``dbt_runner``."""

from __future__ import annotations

from pathlib import Path

from orchestration.config import Settings


def parse_project(s: Settings) -> None:
    """``dbt parse`` into the project's target (``target/manifest.json``, which ``@dbt_assets``
    reads), parsed as the pipeline's build parses on DuckDB: beside the warehouse of ``s``, named
    by its file name, with the build's vars (``dbt_project.warehouse_vars``). Its parse is then
    the seed of every new data directory's first build (``partial_parse_seed``; dagster-dbt also
    copies ``target/partial_parse.msgpack`` into a target that has none), so not even the first
    run parses the whole project. Then the parse of the pricing lab's compile of the billing
    chain, whose vars differ (``scenarios.seed_chain_parse``). Parsing opens no warehouse: only
    its directory must exist."""
    from orchestration.dbt_project import DBT_MANIFEST, warehouse_vars
    from orchestration.dbt_runner import dbt_into
    from orchestration.scenarios import seed_chain_parse

    target = DBT_MANIFEST.parent
    s.warehouse.parent.mkdir(parents=True, exist_ok=True)
    dbt_into(s, target, "parse", "--quiet", "--vars", warehouse_vars(Path(s.warehouse.name)))
    seed_chain_parse(s)  # and the pricing lab's compile of the billing chain (its own vars)


if __name__ == "__main__":  # `make manifest`
    from orchestration.config import settings

    parse_project(settings(engine="duckdb"))
