"""Replay throughput: the engine's rate against merely parsing and validating the same file.

    python bench/bench_replay.py --events 1000000

Generates the workload (bench/workload.py, seeded) once into bench/out/, then in one
process measures: (1) read + JSON decode + contract validation only, (2) the full replay
(validation + projection + detectors + rules + cases), and prints one JSON object with
both rates, their ratio and the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from unsnag.inputs import parse_items, read_items
from unsnag.policy import load_policy
from unsnag.replay import run_replay

HERE = Path(__file__).resolve().parent


def workload(events: int, seed: int) -> Path:
    path = HERE / "out" / f"workload-{events}-{seed}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "workload.py"),
                "--events",
                str(events),
                "--seed",
                str(seed),
                "--out",
                str(path),
            ],
            check=True,
        )
    return path


def parse_only(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    count = sum(1 for _ in parse_items(read_items(path)))
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    path = workload(args.events, args.seed)
    policy = load_policy()
    count, parse_s = parse_only(path)
    result = run_replay(path, policy)
    summary = result.summary(str(path))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parse_rate = count / parse_s
    replay_rate = count / result.elapsed_s
    print(
        json.dumps(
            {
                "events": count,
                "parse_validate_eps": round(parse_rate),
                "replay_eps": round(replay_rate),
                "replay_vs_parse": round(replay_rate / parse_rate, 3),
                "replay_s": round(result.elapsed_s, 2),
                "peak_rss_mb": round(peak_mb),
                "cases": summary["cases"],
                "cases_by_type": summary["cases_by_type"],
                "refused": summary["refused"],
                "duplicates_ignored": summary["duplicates_ignored"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
