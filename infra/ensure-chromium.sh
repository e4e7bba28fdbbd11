#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the report's browser test
# (test/integration/report.test.ts drives /usr/bin/chromium with playwright-core).
# Optional: without chromium that test is skipped. Installs only when running as
# root and chromium is missing; prints where chromium is.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(command -v chromium)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is not installed and this is not root: the report's browser test will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "chromium: $(command -v chromium)"
