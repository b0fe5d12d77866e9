#!/usr/bin/env bash
# The dashboard's browser test drives Debian's chromium through Playwright (Playwright's own
# browser download cannot work offline). Install it when missing and we are allowed to.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed (and this user cannot apt-get it): browser tests will be skipped" >&2
  exit 1
fi
