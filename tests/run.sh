#!/usr/bin/env bash
# The README's test command runs this: unit tests and every integration case, one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tests/integration/runner.py "$@"
