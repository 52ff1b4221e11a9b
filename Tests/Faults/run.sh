#!/usr/bin/env bash
# The fault scenarios (Tests/Faults): short versions in `make test`, full length with
# HEARSAY_SOAK=1 in `make soak`. They need root for network namespaces and skip, saying
# so, where the machine does not allow them. pytest comes from the deployment tests'
# virtualenv (the same pinned requirements). Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$root/.build/deploy-tools
requirements=$root/Tests/Deployment/requirements.txt

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "fault tests: installing their tools into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi

cd "$root/Tests/Faults"
exec "$venv/bin/python" -m pytest . -p no:cacheprovider -rs -v "$@"
