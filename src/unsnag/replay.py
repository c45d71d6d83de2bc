"""Replay a file of events through the engine in memory and write what it found.

``DIR/cases.jsonl`` holds every case opened during the replay (EVENTS.md shape, final
status), ``DIR/dead_letters.jsonl`` every refused input with its reason and raw text, and
``DIR/summary.json`` the counts and the rate.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from unsnag.engine import Engine
from unsnag.inputs import Refused, parse_items, read_items
from unsnag.perf import batch_gc
from unsnag.policy import Policy


@dataclass(slots=True)
class ReplayResult:
    engine: Engine
    refused: list[Refused]
    elapsed_s: float

    def summary(self, source: str) -> dict[str, Any]:
        cases = self.engine.cases()
        stats = self.engine.stats
        total = stats.accepted + stats.duplicates + len(self.refused)
        return {
            "input": source,
            "policy_version": self.engine.policy.version,
            "accepted": stats.accepted,
            "refused": len(self.refused),
            "duplicates_ignored": stats.duplicates,
            "events_per_second": round(total / self.elapsed_s) if self.elapsed_s else None,
            "elapsed_s": round(self.elapsed_s, 3),
            "cases": len(cases),
            "cases_by_type": dict(sorted(Counter(c.type for c in cases).items())),
            "cases_by_status": dict(sorted(Counter(c.status for c in cases).items())),
            "events_by_type": dict(sorted(stats.by_type.items())),
        }


def run_replay(
    path: Path, policy: Policy, on_position: Callable[[int], None] | None = None
) -> ReplayResult:
    """Run every event of ``path`` through a fresh engine; timers fire at the end."""
    engine = Engine(policy)
    refused: list[Refused] = []
    extra = frozenset(policy.systems)
    started = time.perf_counter()
    with batch_gc():
        for item in parse_items(read_items(path, on_position), extra, own=True):
            if isinstance(item, Refused):
                refused.append(item)
            else:
                engine.step(item)
        engine.advance()
    return ReplayResult(engine, refused, time.perf_counter() - started)


def write_results(result: ReplayResult, out: Path, source: str) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "cases.jsonl").open("wb") as handle:
        for case in result.engine.cases():
            handle.write(orjson.dumps(case.to_dict()) + b"\n")
    with (out / "dead_letters.jsonl").open("wb") as handle:
        for refused in result.refused:
            handle.write(orjson.dumps(refused.to_dict()) + b"\n")
    summary = result.summary(source)
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    return summary
