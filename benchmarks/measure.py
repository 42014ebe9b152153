"""Measure one command in a child process: wall seconds and the child's own peak RSS.

Shared by the benchmark scripts. The peak comes from `/usr/bin/time -v` when it is
installed (the child alone), else from RUSAGE_CHILDREN (the largest child so far).
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import time
from pathlib import Path

TIME_BIN = "/usr/bin/time"
_PEAK = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def measure_child(cmd: list[str], mem_cap_gib: float | None = None) -> dict:
    """Run `cmd`; wall_s, peak_rss_gib, returncode, stdout, stderr, stderr_tail.

    `mem_cap_gib` caps the child's address space (RLIMIT_AS), to find where a memory-hungry
    baseline breaks instead of letting it swamp the machine.
    """

    def limit() -> None:
        if mem_cap_gib:
            cap = int(mem_cap_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    timed = [TIME_BIN, "-v", *cmd] if Path(TIME_BIN).exists() else cmd
    started = time.perf_counter()
    proc = subprocess.run(timed, capture_output=True, text=True, preexec_fn=limit, check=False)
    wall = time.perf_counter() - started
    match = _PEAK.search(proc.stderr)
    if match:
        peak = int(match.group(1)) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return {
        "wall_s": wall,
        "peak_rss_gib": peak,
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "stderr_tail": proc.stderr[-3000:],
    }


def add_platform_arguments(parser: argparse.ArgumentParser) -> None:
    """The random platform's size and seed, and the repeats (defaults: the full platform)."""
    parser.add_argument("--trades", type=int, default=10_000_000)
    parser.add_argument("--traders", type=int, default=1_600_000)
    parser.add_argument("--follows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
