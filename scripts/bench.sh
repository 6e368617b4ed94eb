#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then measures genlab's training throughput against the classic
# TensorFlow-tutorial loop on Fashion-MNIST and prints the table (several minutes on 2 cores).
#   scripts/bench.sh                    # the full table: 6 alternating rounds per setting
#   scripts/bench.sh --quick            # a smoke run: a few steps, one round
#   scripts/bench.sh --setting dcgan --override trainer.deterministic=false
#   scripts/bench.sh --help             # every flag
# Measure on an idle machine: other processes on the same cores change every figure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/bench.py "$@"
