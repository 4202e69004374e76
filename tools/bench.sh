#!/usr/bin/env bash
# make bench: see tools/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tools/bench.py "$@"
