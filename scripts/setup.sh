#!/usr/bin/env bash
# Sets genlab up on a fresh machine: a virtual environment in .venv with genlab and its
# pinned dependencies, and the Fashion-MNIST files from Debian's dataset-fashion-mnist
# where apt is available (elsewhere genlab downloads them on first use).
#   scripts/setup.sh          # the tool
#   scripts/setup.sh test     # the tool and what the test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
extras=""
[ "${1:-}" = "test" ] && extras="[test,faces]"  # faces: scipy, for the Olivetti tests

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "setup: installing genlab$extras and its dependencies"
# setuptools warns about the editable layout on every install; the warning is not actionable.
PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -e ".$extras"
if [ "${1:-}" = "test" ]; then
    # The tests plug in a model from another package, as a user's own would be.
    echo "setup: installing the example model packages (examples/genlab_example, examples/genlab_flow_example)"
    PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet --no-deps ./examples/genlab_example ./examples/genlab_flow_example
fi

fashion=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [ ! -f "$fashion" ] && command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
    echo "setup: installing Fashion-MNIST (apt-get install dataset-fashion-mnist)"
    if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist; } >/dev/null 2>&1; then
        echo "setup: could not install dataset-fashion-mnist with apt; genlab will download Fashion-MNIST on first use"
    fi
fi
echo "setup: done (.venv/bin/genlab)"
