"""Writes docs/reliability.md from the figures `make soak` recorded (.build/faults-results.json)."""

import datetime
import json
import os
import pathlib
import platform

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = ROOT / ".build" / "faults-results.json"
OUTPUT = ROOT / "docs" / "reliability.md"

SCENARIOS = [
    ("loss", "20 % loss on every link",
     "8 agents, every node drops 20 % of what it receives from the others (iptables `statistic`), "
     "for 5 minutes, with 20 writes a second spread over the nodes."),
    ("partition", "Partition 4|4",
     "8 agents split in two halves by DROP rules until each side has declared the other failed, writes on "
     "both sides throughout and to 5 shared addresses from both sides while apart, then healed."),
    ("crash", "SIGKILL during writes",
     "3 agents, 200 writes a second; one agent is killed with SIGKILL 5 times mid-stream and restarted on "
     "its data directory each time; what it acknowledged is read back from it before any peer can repair it."),
    ("load", "Sustained load",
     "8 agents, 32 writers aiming at 1,000 writes a second over the cluster for 60 s."),
    ("hostile", "Hostile input at every port",
     "3 agents serving 30 writes a second while one of them takes, from two attacker addresses for 5 "
     "minutes: 16 MiB frame prefixes on 100 connections at a time, trickled frames, random, foreign-version "
     "and oversized datagrams, 1,500 idle HTTP connections, 1 MB chunked bodies that never end, and "
     "malformed requests. Stream and request deadlines are 5 s."),
    ("disk_and_clock", "A slow disk and a stepped clock",
     "5 agents, 20 writes a second; one agent's every fdatasync takes 500 ms longer (an LD_PRELOAD in front "
     "of the real call), and another's wall clock steps 30 s ahead, then 30 s back, then back to true "
     "(libfaketime), a minute apart."),
]


def row(name, value):
    if isinstance(value, dict):
        value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return f"| {name.replace('_', ' ')} | {value} |"


def main():
    results = json.loads(RESULTS.read_text())
    lines = [
        "# Reliability under faults",
        "",
        "Measured by `make soak` (the fault harness in `Tests/Faults`, at full length) on "
        f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, Linux {platform.release()}, release build.",
        "Every agent is a real process running as `nobody` in a network namespace of its own, with its own",
        "address on a bridge; faults are iptables rules in the namespaces (this kernel has no netem), crashes",
        "are SIGKILL. Each scenario ends with a check that every write an agent acknowledged (HTTP 200) is",
        "held by every live agent, and that all hold the same versions. `make test` runs short versions of",
        "the partition, crash and hostile-input scenarios (2|2 agents, one kill, 20 s of attack).",
        "",
        "Drops are `hearsay_messages_dropped_total` summed over the agents (for hostile input, over the",
        "attacked one) by reason; connections cut and refused are `hearsay_connections_cut_total` and",
        "`hearsay_connections_refused_total`.",
        "",
    ]
    for key, title, setup in SCENARIOS:
        lines += [f"## {title}", "", setup, ""]
        figures = results.get(key)
        if figures is None:
            lines += ["Not measured in this run.", ""]
            continue
        lines += ["| figure | measured |", "| --- | --- |"]
        lines += [row(name, value) for name, value in sorted(figures.items())]
        lines.append("")
    lines += [
        "## What these do not cover",
        "",
        "- Wall-clock steps of more than a minute: frames carry their sender's wall clock, and receivers refuse",
        "  frames over a minute ahead or five minutes old as replays (`docs/wire.md`), so a node whose clock",
        "  is that far off cannot talk to its peers until it is corrected (keep NTP running).",
        "- Bandwidth limits (`tc tbf`) and asymmetric loss are not among the scenarios yet.",
        "",
    ]
    OUTPUT.write_text("\n".join(lines))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
