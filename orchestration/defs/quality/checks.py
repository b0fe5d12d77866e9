"""Blocking asset checks on the raw layer. A failed check stops everything downstream in a
Dagster run and, through the run log, blocks publishing and closing.

- ``rows_conserved`` (on ``raw.load_manifest``): per file, raw = loaded + duplicates + quarantined,
  the quarantine table holds exactly the quarantined rows, and raw.usage_events holds exactly the
  loaded + duplicate rows of each usage batch. Nothing is lost silently.
- Great Expectations suites of ``orchestration/quality`` (see ``ge_checks.py``).
"""

import dagster as dg

from orchestration.defs.ingest.assets import raw_key
from orchestration.defs.resources import MeterlineResource
from orchestration.warehouse import connect

CONSERVATION_SQL = """
with

manifest as (

    select * from raw.load_manifest

),

quarantined as (

    select batch_id, count(*) as n from raw.quarantine group by batch_id

),

usage_rows as (

    select batch_id, count(*) as n from raw.usage_events group by batch_id

),

final as (

    select
        m.batch_id,
        m.file_path,
        case
            when m.raw_rows <> m.loaded_rows + m.duplicate_rows + m.quarantined_rows
                then 'raw_rows <> loaded + duplicate + quarantined'
            when m.quarantined_rows <> coalesce(q.n, 0)
                then 'quarantined_rows <> rows in raw.quarantine'
            when m.table_name = 'usage_events'
                and m.loaded_rows + m.duplicate_rows <> coalesce(u.n, 0)
                then 'loaded + duplicate <> rows in raw.usage_events'
        end as problem

    from manifest as m
    left join quarantined as q on m.batch_id = q.batch_id
    left join usage_rows as u on m.batch_id = u.batch_id

)

select batch_id, file_path, problem from final where problem is not null order by batch_id
"""


@dg.asset_check(
    asset=raw_key("load_manifest"),
    name="rows_conserved",
    blocking=True,
    description="raw = loaded + duplicates + quarantined, per file, and the row "
    "tables agree with the manifest.",
)
def rows_conserved(meterline: MeterlineResource) -> dg.AssetCheckResult:
    with connect(meterline.settings().warehouse, read_only=True) as con:
        problems = con.execute(CONSERVATION_SQL).fetchall()
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "problems": len(problems),
            "first": "; ".join(f"{p[1]} (batch {p[0]}): {p[2]}" for p in problems[:5]),
        },
    )


RAW_CHECKS: list[dg.AssetChecksDefinition] = [rows_conserved]
