#!/usr/bin/env bash
# The Spark engine (METERLINE_ENGINE=spark, tests/test_spark_equality.py) runs PySpark in-process,
# which needs a Java 17+ runtime. Install Debian's openjdk-17-jre-headless when it is missing and
# we are allowed to (root with apt-get), like scripts/ensure-pdf-deps.sh.
set -euo pipefail
if command -v java >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
else
  echo "missing Java 17 for the Spark engine: apt-get install openjdk-17-jre-headless" >&2
  exit 1
fi
