#!/usr/bin/env bash
# Invoice PDFs are rendered by WeasyPrint, which needs Pango (and a font) from the system;
# the documents test also converts a PDF to PNG with poppler's pdftoppm. Install what is missing
# when we are allowed to (root with apt-get), like scripts/ensure-chromium.sh.
set -euo pipefail
missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib "libpango-1.0.so.0" || missing+=(libpango-1.0-0)
have_lib "libpangoft2-1.0.so.0" || missing+=(libpangoft2-1.0-0)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ "${1:-}" = "--with-poppler" ] && ! command -v pdftoppm >/dev/null 2>&1; then
  missing+=(poppler-utils)
fi
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing system packages for invoice PDFs: ${missing[*]} (install them with apt-get)" >&2
  exit 1
fi
