#!/usr/bin/env bash
# Sets up (scripts/setup.sh test) and runs the whole test suite; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# Most of a test's time is a genlab process starting TensorFlow on one core: the tests run in one
# worker per core the machine gives this process (at most 4; each worker builds the shared tiny runs
# once), a test file's tests in the same worker so that its module fixtures are built once.
cores=$(nproc 2>/dev/null || echo 1)
workers=$(( cores > 4 ? 4 : cores ))
[ "$workers" -ge 2 ] || workers=0
exec .venv/bin/python -m pytest -q -n "$workers" --dist loadfile "$@"
