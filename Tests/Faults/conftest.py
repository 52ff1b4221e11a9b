"""Fixtures of the fault harness: a lab of agents in network namespaces, torn down
however a scenario ends, and the record of each scenario's figures for `make soak`."""

import base64
import json
import os
import pathlib

import pytest

from lab import Lab, namespaces_available

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOAK = os.environ.get("HEARSAY_SOAK") == "1"
RESULTS = ROOT / ".build" / "faults-results.json"


def binary():
    chosen = os.environ.get("HEARSAY_BINARY") or str(ROOT / ".build" / "debug" / "hearsay")
    if not os.access(chosen, os.X_OK):
        pytest.fail(f"no hearsay binary at {chosen}: build first (make test, make soak)")
    return chosen


@pytest.fixture(scope="session")
def namespaces():
    reason = namespaces_available()
    if reason:
        pytest.skip(f"fault scenarios need network namespaces: {reason}")


@pytest.fixture
def make_lab(namespaces):
    made = []

    def make(size, settings=()):
        key = base64.b64encode(os.urandom(32)).decode()
        lab = Lab(size, binary(), key, settings)
        made.append(lab)
        return lab

    yield make
    for lab in made:
        failed_logs = [(a.name, a.log_text()[-3000:]) for a in lab.agents]
        lab.close()
        if os.environ.get("HEARSAY_FAULTS_LOGS") == "1":
            for name, text in failed_logs:
                print(f"--- {name}\n{text}")


@pytest.fixture(scope="session")
def results():
    collected = {}
    yield collected
    for name, figures in collected.items():
        print(f"\n{name}: {json.dumps(figures, sort_keys=True)}")
    if SOAK:
        RESULTS.parent.mkdir(exist_ok=True)
        existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        existing.update(collected)
        RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True))
