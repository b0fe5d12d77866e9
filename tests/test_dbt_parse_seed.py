"""A new dbt target starts from the parse an invocation of the same kind left in another target
(``dbt_project.partial_parse_seed``), instead of parsing the whole project (~3.5 s a dbt
invocation). dbt keys partial parsing on the profile's values, so across data directories this
works for invocations that run beside the warehouse and name it by its file name: the pricing
lab's (``run_dbt(...)``) and the pipeline's build (``meterline-dbt --in``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.config import Settings
from orchestration.config import settings as make_settings
from orchestration.dbt_project import PARTIAL_PARSE, parse_seed_path
from orchestration.dbt_runner import run_dbt

SKIPPED = "Partial parsing enabled, no changes found, skipping parsing"


def _parse(s: Settings, target: Path, cli_vars: str) -> str:
    """``dbt parse`` beside the warehouse (run_dbt seeds the target itself)."""
    args = ("parse", "--log-level", "debug", "--target-path", str(target), "--vars", cli_vars)
    args += ("--log-path", str(target / "logs"))
    return run_dbt(s, *args, at_warehouse=True).stdout


@pytest.fixture
def made() -> Iterator[list[Path]]:
    """The seeds a test makes (under vars of its own), removed after it."""
    seeds: list[Path] = []
    yield seeds
    for p in seeds:
        p.unlink(missing_ok=True)


def _vars(made: list[Path], *names: str) -> str:
    """Vars of this test's own (no seed of this kind exists yet, whatever ran before); the seeds
    they key (for the warehouse ``names``) are removed after the test."""
    cli_vars = json.dumps({"seed_test": uuid.uuid4().hex})
    made += [parse_seed_path(Path(n), cli_vars) for n in names]
    return cli_vars


def test_beside_the_warehouse_a_new_data_directory_starts_from_the_last_parse(
    tmp_path: Path, made: list[Path]
) -> None:
    cli_vars = _vars(made, "warehouse.duckdb")
    first = _parse(make_settings(tmp_path / "one"), tmp_path / "one" / "t", cli_vars)
    assert "Unable to do partial parsing" in first
    assert SKIPPED not in first
    assert made[0].read_bytes() == (tmp_path / "one" / "t" / PARTIAL_PARSE).read_bytes()

    second = _parse(make_settings(tmp_path / "two"), tmp_path / "two" / "t", cli_vars)
    assert SKIPPED in second
    assert (tmp_path / "two" / "t" / "manifest.json").exists()

    # other vars are another kind of parse: no seed, a whole parse
    third = _parse(
        make_settings(tmp_path / "two"),
        tmp_path / "three",
        _vars(made, "warehouse.duckdb"),
    )
    assert SKIPPED not in third


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning")
def test_the_pipelines_build_of_a_new_data_directory_starts_from_the_last_parse(
    tmp_path: Path,
) -> None:
    """The pipeline's dbt build runs in the warehouse's directory and names it by its file name
    (``meterline-dbt --in``): the second of two new data directories parses nothing. When it
    named the warehouse by its full path, every new data directory parsed the whole project
    (dbt logs UnableToPartialParse: "saved manifest not found", ~7 s of a 3,000-event run)."""
    from orchestration.pipeline import run_pipeline
    from tests.support.pipeline import make_data_dir

    logs = []
    for name in ("one", "two"):
        data = make_data_dir(tmp_path / name)
        s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
        assert run_pipeline(s, progress=False)
        target = data / ".meterline" / "dbt_target"
        assert (target / "run_results.json").exists()
        logs.append((target / "dbt.log").read_text(encoding="utf-8"))
    assert "LogModelResult" in logs[1]  # the build ran, and logged to its target
    assert "UnableToPartialParse" not in logs[1]
    assert not list(tmp_path.glob("*/logs"))  # dbt wrote nothing into the data directories


def test_a_torn_seed_costs_a_parse_not_a_failure(tmp_path: Path, made: list[Path]) -> None:
    cli_vars = _vars(made, "warehouse.duckdb")
    _parse(make_settings(tmp_path / "one"), tmp_path / "one" / "t", cli_vars)
    own = (tmp_path / "one" / "t" / PARTIAL_PARSE).read_bytes()
    (seed,) = made
    assert seed.read_bytes() == own
    seed.write_bytes(own[: len(own) // 2])
    out = _parse(make_settings(tmp_path / "two"), tmp_path / "two" / "t", cli_vars)
    assert SKIPPED not in out
    assert (tmp_path / "two" / "t" / "manifest.json").exists()
    assert seed.read_bytes() == (tmp_path / "two" / "t" / PARTIAL_PARSE).read_bytes()  # mended


def test_a_reader_of_the_shared_manifest_waits_while_it_is_rewritten() -> None:
    """dbt rewrites target/manifest.json in place: a run of another data directory once read a
    torn file while the project was re-parsed. Re-parsing holds ``manifest_lock`` exclusive
    (pipeline.ensure_manifest, the tests' session parse); ``load_manifest`` waits for it."""
    import threading

    from orchestration.dbt_project import load_manifest, manifest_lock

    read: list[dict[str, object]] = []
    with manifest_lock(exclusive=True):
        reader = threading.Thread(target=lambda: read.append(load_manifest()))
        reader.start()
        reader.join(timeout=1.0)
        assert reader.is_alive() and read == []  # waiting, not reading
    reader.join(timeout=30)
    assert not reader.is_alive() and read and "nodes" in read[0]


def test_the_project_parse_seeds_the_first_build_of_every_data_directory(tmp_path: Path) -> None:
    """`make manifest`, the pipeline's re-parse and the tests' session parse (parse_project) parse
    as the pipeline's build does, so even the first build on a machine starts from a parse: its
    seed is written, and it is the shared target's own parse (which dagster-dbt would copy)."""
    from orchestration.dbt_project import DBT_MANIFEST, manifest_lock, read_manifest, warehouse_vars
    from orchestration.project_parse import parse_project
    from orchestration.scenarios import chain_models, chain_vars

    name = Path("warehouse.duckdb")
    seed = parse_seed_path(name, warehouse_vars(name))
    s = make_settings(tmp_path / "data")
    with manifest_lock(exclusive=True):  # the shared target is rewritten: no reader meanwhile
        seed.unlink(missing_ok=True)
        chain_seed = parse_seed_path(name, chain_vars(chain_models(read_manifest())))
        chain_seed.unlink(missing_ok=True)
        parse_project(s)
        assert seed.read_bytes() == (DBT_MANIFEST.parent / PARTIAL_PARSE).read_bytes()
        # and the pricing lab's compile of the billing chain (scenarios.seed_chain_parse)
        assert (
            chain_seed.read_bytes()
            == (DBT_MANIFEST.parent / "chain_parse" / PARTIAL_PARSE).read_bytes()
        )
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # a parse opens no warehouse
