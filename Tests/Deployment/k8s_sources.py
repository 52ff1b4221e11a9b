"""What the checks read from the agent's sources: its settings, its leave timeout, the
job the alert rules select (kubernetes_test.py runs the checks)."""

import re
from k8s_common import read_source


def setting_names(sources, report):
    """The setting names of NodeSettings.definitions, parsed from the Swift sources: the
    array in NodeSettings.swift and the ones it adds from its extensions
    (`eventDefinitions`, `tagDefinitions`)."""
    path = sources / "Sources/HearsayNode/Config/NodeSettings.swift"
    text = read_source(path, "agent settings parsed", report)
    if text is None:
        return None
    for extension in sorted(path.parent.glob("NodeSettings+*.swift")):
        text += "\n" + extension.read_text()
    arrays = re.findall(r"static let \w*[dD]efinitions: \[Definition\] =\s*\[(.*?)\n\s*\]", text, re.S)
    if not arrays:
        report.fail("agent settings parsed", f"no `definitions` array in {path}")
        return None
    names = re.findall(r'name:\s*"([^"]+)"', "\n".join(arrays))
    if len(names) < 10:
        report.fail("agent settings parsed", f"only {len(names)} names found in `definitions`: {names}")
        return None
    report.ok("agent settings parsed")
    return {"HEARSAY_" + n.upper().replace("-", "_") for n in names}


def duration_in_swift(text):
    match = re.fullmatch(r"\.(seconds|milliseconds)\((\d+(?:\.\d+)?)\)", text.strip())
    if not match:
        return None
    value = float(match.group(2))
    return value if match.group(1) == "seconds" else value / 1000


def leave_timeout(sources, report):
    """The engine's leave timeout in seconds, and a check that the agent keeps it."""
    path = sources / "Sources/HearsayCore/Engine/EngineSettings.swift"
    text = read_source(path, "agent leave timeout parsed", report)
    if text is None:
        return None
    match = re.search(r"var leaveTimeout: Duration = ([^\n]+)", text)
    seconds = duration_in_swift(match.group(1)) if match else None
    if seconds is None:
        report.fail("agent leave timeout parsed", f"no `leaveTimeout: Duration = .seconds(N)` in {path}")
        return None
    # The node runtime or the command could set another value; then this test must read that.
    overrides = []
    for swift in sorted((sources / "Sources").rglob("*.swift")):
        if swift == path:
            continue
        for line in swift.read_text().splitlines():
            if re.search(r"\.leaveTimeout\s*=", line):
                overrides.append(f"{swift.relative_to(sources)}: {line.strip()}")
    if overrides:
        report.fail("agent leave timeout parsed", "the default is overridden: " + "; ".join(overrides))
        return None
    report.ok("agent leave timeout parsed")
    return seconds


def rules_job(sources, report):
    """The job name the alert rules select."""
    path = sources / "prometheus/hearsay.rules.yml"
    try:
        jobs = set(re.findall(r'job="([^"]+)"', path.read_text()))
    except OSError as error:
        report.skip("alert rules job parsed", f"cannot read {path}: {error}")
        return None
    if len(jobs) != 1:
        report.fail("alert rules job parsed", f"expected one job name in {path}, found {sorted(jobs)}")
        return None
    report.ok("alert rules job parsed")
    return jobs.pop()
