"""Every step of the one pipeline job has a stage, by its asset group (or ``checks`` for an asset
check): the stage names the run log and the benchmark use."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def test_every_step_of_the_job_has_its_stage(dbt_manifest: Path) -> None:
    from orchestration.dbt_project import load_manifest
    from orchestration.defs.build import PIPELINE_JOB_NAME, build_definitions
    from orchestration.pipeline import (
        CATALOG,
        CHECKS,
        DBT,
        INGEST,
        PUBLISH,
        SCENARIOS,
        step_stages,
    )

    defs = build_definitions(load_manifest())
    stages = step_stages(defs)
    job = defs.resolve_job_def(PIPELINE_JOB_NAME)
    assert set(job.graph.node_dict) == set(stages)  # one job: every asset and check
    assert collections.Counter(stages.values()) == {
        INGEST: 6,  # reference, usage, openai, anthropic, focus, audit
        CHECKS: 9,  # rows conserved (batch counts too), files rejected/flagged, 7 suites
        CATALOG: 1,
        DBT: 1,  # one dbt build, split into sub-stages by folder
        SCENARIOS: 1,  # the pricing lab re-rates its scenarios with the same models
        PUBLISH: 5,  # invoice CSVs, weekly summaries, entitlements, alert delivery, the snapshot
    }
    assert stages["meterline_dbt"] == DBT
    assert stages["exports__published_warehouse"] == PUBLISH
    assert stages["raw__load_manifest_rows_conserved"] == CHECKS
    assert stages["pricing_lab_scenarios"] == SCENARIOS
