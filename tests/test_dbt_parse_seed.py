"""A new dbt target starts from the parse an invocation of the same kind left in another target
(``dbt_project.partial_parse_seed``), instead of parsing the whole project (~3.5 s a dbt
invocation). dbt keys partial parsing on the profile's values, so across data directories this
works for invocations that run beside the warehouse (``run_dbt(..., at_warehouse=True)``: the
pricing lab's); the pipeline's build names its warehouse by full path, so its seed serves a new
target of the same warehouse (a wiped ``.meterline``, the bench's full run)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.config import Settings
from orchestration.config import settings as make_settings
from orchestration.dbt_project import PARTIAL_PARSE, parse_seed_path, partial_parse_seed
from orchestration.dbt_runner import run_dbt

SKIPPED = "Partial parsing enabled, no changes found, skipping parsing"


def _parse(s: Settings, target: Path, cli_vars: str, *, at_warehouse: bool) -> str:
    args = ("parse", "--log-level", "debug", "--target-path", str(target), "--vars", cli_vars)
    args += ("--log-path", str(target / "logs"))
    if at_warehouse:  # run_dbt seeds the target itself
        return run_dbt(s, *args, at_warehouse=True).stdout
    with partial_parse_seed(target, s.warehouse, cli_vars):  # as the pipeline's dbt op does
        return run_dbt(s, *args).stdout


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
    first = _parse(
        make_settings(tmp_path / "one"), tmp_path / "one" / "t", cli_vars, at_warehouse=True
    )
    assert "Unable to do partial parsing" in first
    assert SKIPPED not in first
    assert made[0].read_bytes() == (tmp_path / "one" / "t" / PARTIAL_PARSE).read_bytes()

    second = _parse(
        make_settings(tmp_path / "two"), tmp_path / "two" / "t", cli_vars, at_warehouse=True
    )
    assert SKIPPED in second
    assert (tmp_path / "two" / "t" / "manifest.json").exists()

    # other vars are another kind of parse: no seed, a whole parse
    third = _parse(
        make_settings(tmp_path / "two"),
        tmp_path / "three",
        _vars(made, "warehouse.duckdb"),
        at_warehouse=True,
    )
    assert SKIPPED not in third


def test_by_full_path_only_a_new_target_of_the_same_warehouse_is_seeded(
    tmp_path: Path, made: list[Path]
) -> None:
    s = make_settings(tmp_path / "one")
    other = make_settings(tmp_path / "two")
    cli_vars = _vars(made, str(s.warehouse), str(other.warehouse))
    _parse(s, tmp_path / "one" / "t", cli_vars, at_warehouse=False)
    assert SKIPPED in _parse(s, tmp_path / "one" / "wiped", cli_vars, at_warehouse=False)
    assert SKIPPED not in _parse(other, tmp_path / "two" / "t", cli_vars, at_warehouse=False)


def test_a_torn_seed_costs_a_parse_not_a_failure(tmp_path: Path, made: list[Path]) -> None:
    cli_vars = _vars(made, "warehouse.duckdb")
    _parse(make_settings(tmp_path / "one"), tmp_path / "one" / "t", cli_vars, at_warehouse=True)
    own = (tmp_path / "one" / "t" / PARTIAL_PARSE).read_bytes()
    (seed,) = made
    assert seed.read_bytes() == own
    seed.write_bytes(own[: len(own) // 2])
    out = _parse(
        make_settings(tmp_path / "two"), tmp_path / "two" / "t", cli_vars, at_warehouse=True
    )
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
