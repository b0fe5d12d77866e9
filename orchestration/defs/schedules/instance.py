"""Moved to ``orchestration.dagster_instance`` (not a Dagster object); re-exported here."""

from orchestration.dagster_instance import DAGSTER_YAML, ensure_instance_config

__all__ = ["DAGSTER_YAML", "ensure_instance_config"]
