#!/usr/bin/env bash
# The fault scenarios (Tests/Faults): short versions in `make test`, full length with
# HEARSAY_SOAK=1 in `make soak`. They need root for network namespaces and skip, saying
# so, where the machine does not allow them. pytest comes from the deployment tests'
# virtualenv (the same pinned requirements). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/../tools-venv.sh"

cd "$root/Tests/Faults"
exec "$venv/bin/python" -m pytest . -p no:cacheprovider -rs -v "$@"
