"""``meterline-dbt [--in DIR] ARGS...``: ``dbt ARGS...``, run in the directory ``DIR`` when given.

dagster-dbt starts dbt in the dbt project's directory. The pipeline's ``dbt build`` runs in the
warehouse's directory instead and names the warehouse by its file name (the var
``meterline_warehouse``), as ``run_dbt(..., at_warehouse=True)`` does: dbt keys its partial parse
on the profile's values, the DuckDB path among them, so only then can a new data directory's
first build start from the parse another data directory left (``partial_parse_seed``) instead
of parsing the whole project. The project and profiles directories reach dbt as absolute paths
(``DBT_PROJECT_DIR`` / ``DBT_PROFILES_DIR`` from dagster-dbt, or the command line), so nothing
else depends on the directory. The process becomes dbt (``exec``): dagster-dbt's signals and
exit code reach dbt itself."""

import os
import sys
from pathlib import Path


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--in"]:
        if len(args) < 2:
            sys.exit("meterline-dbt: --in needs a directory")
        os.chdir(args[1])
        args = args[2:]
    dbt = Path(sys.executable).with_name("dbt")
    os.execv(dbt, [str(dbt), *args])


if __name__ == "__main__":
    main()
