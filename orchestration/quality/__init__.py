"""Great Expectations suites: reference files (tabular checks) and per-file batch summaries."""
