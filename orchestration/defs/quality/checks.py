"""Blocking asset checks on the raw layer. A failed check stops everything downstream in a
Dagster run and, through the run log, blocks publishing and closing.

- ``rows_conserved`` (on ``raw.load_manifest``): per file, no count is negative, raw = loaded +
  duplicates + quarantined, conflicts <= duplicates, the quarantine table holds exactly the
  quarantined rows, and raw.usage_events holds exactly the loaded + duplicate rows of each usage
  batch. Nothing is lost silently. (SQL over the manifest: a Great Expectations suite of the same
  rules imported GE into every run with a new file, ~2.3 s.)
- Great Expectations suites of the reference files (see ``ge_checks.py``).
- ``files_rejected_or_flagged`` (non-blocking, severity WARN): rejected raw files and loaded
  files with a warning. A rejected file is one quarantined unit, so conservation holds and the
  run goes on; the check makes it visible in the run log and the Dagster UI.
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
            when least(
                m.raw_rows, m.loaded_rows, m.duplicate_rows, m.quarantined_rows, m.conflict_rows
            ) < 0
                then 'a negative count'
            when m.raw_rows <> m.loaded_rows + m.duplicate_rows + m.quarantined_rows
                then 'raw_rows <> loaded + duplicate + quarantined'
            when m.conflict_rows > m.duplicate_rows
                then 'conflict_rows > duplicate_rows'
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
    description="Per file: no negative count, raw = loaded + duplicates + quarantined, "
    "conflicts <= duplicates; and the row tables agree with the manifest.",
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


@dg.asset_check(
    asset=raw_key("load_manifest"),
    name="files_rejected_or_flagged",
    blocking=False,
    description="Warning (not a block): raw files rejected as a whole (unreadable: encoding, "
    "size, format, schema; retried when their bytes change) and loaded files with a warning "
    "(e.g. rows that carry none of their meters' quantity fields).",
)
def files_rejected_or_flagged(meterline: MeterlineResource) -> dg.AssetCheckResult:
    from orchestration.ingest.manifest import file_warnings, rejected_files

    with connect(meterline.settings().warehouse, read_only=True) as con:
        rejected = rejected_files(con)
        warned = file_warnings(con)
    return dg.AssetCheckResult(
        passed=not rejected and not warned,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rejected_files": len(rejected),
            "files_with_warnings": len(warned),
            "problems": len(rejected) + len(warned),
            "first": "; ".join(
                [f"{p} rejected (batch {b}): {r}" for p, b, r in rejected[:5]]
                + [f"{p} (batch {b}): {w}" for p, b, w in warned[:5]]
            )[:2000],
        },
    )


RAW_CHECKS: list[dg.AssetChecksDefinition] = [rows_conserved, files_rejected_or_flagged]
