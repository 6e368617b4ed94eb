#!/usr/bin/env bash
# Sets up, trains the default model (a VAE on Fashion-MNIST, a few minutes on 2 CPU cores)
# and points at its pictures. Extra arguments are genlab train overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
.venv/bin/genlab train "$@" | tee "$log"
run_dir=$(sed -n 's/^run directory: //p' "$log" | tail -n 1)
echo
echo "samples:         $run_dir/samples.png"
echo "reconstructions: $run_dir/reconstructions.png"
echo "progress frames: $run_dir/progress/"
echo "TensorBoard:     .venv/bin/tensorboard --logdir $(dirname "$run_dir")"
