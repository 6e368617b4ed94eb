#!/usr/bin/env bash
# Sets up, trains the default model (a VAE on Fashion-MNIST, a few minutes on 2 CPU cores)
# and renders a sample grid and the training-progress GIF from it. Extra arguments are genlab train overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
.venv/bin/genlab train "$@" | tee "$log"
run_dir=$(sed -n 's/^run directory: //p' "$log" | tail -n 1)
.venv/bin/genlab sample checkpoint="$run_dir" n=64
.venv/bin/genlab progress checkpoint="$run_dir"
echo
echo "run directory: $run_dir"
echo "TensorBoard:   .venv/bin/tensorboard --logdir $(dirname "$run_dir")"
