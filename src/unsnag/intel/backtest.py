"""What if: the same events under two policies, and what would have been different.

:func:`run_backtest` parses a file of events once and steps two engines with every
event — policy A (the one in force) and policy B (the candidate) — then fires their
timers at the end of the input, as a replay does. Because the engine is deterministic,
a backtest of a policy against itself shows no difference at all; anything that differs
is the policy's doing.

:func:`compare` turns the two sets of cases into the report. It works on cases as
``Case.to_dict()`` gives them, so the shadow mode (:mod:`unsnag.intel.shadow`) compares
the store's live cases with its shadow cases through the same function.

Definitions (those of :mod:`unsnag.twin.outcome` and docs/resolution.md):

- a case is *closed* when it is no longer open (resolved or cancelled);
- two cases are *the same case* when they have the same type, problem key and episode
  (the n-th time that problem was opened); this is also what a case id is derived from;
- *SLA attainment*: the share of resolved cases whose SLA clock (business hours of the
  owner team, paused while waiting on an outside party) stopped within its target;
- *touchless rate*: the share of resolved cases that no person's command touched;
- *time to resolve*: ``closed_at - opened_at`` in calendar hours, resolved cases only;
- *workload*: cases opened per owner team per day (UTC) of ``opened_at``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from unsnag.engine import Engine
from unsnag.events import Event, parse_instant
from unsnag.events.catalog import SOURCE_SYSTEMS
from unsnag.events.own import OWN_SOURCE
from unsnag.inputs import Refused, parse_items, read_items
from unsnag.perf import batch_gc
from unsnag.policy import Policy

CaseDoc = Mapping[str, Any]
MatchKey = tuple[str, str, int]
"""(type, problem key, episode): what makes two cases the same case."""

DEFAULT_THRESHOLDS = (50.0, 75.0)
"""Priority thresholds whose crossings the report counts (a case that moves from under
to at-or-over a threshold, or back)."""

LABELS = ("current", "new")


@dataclass(slots=True)
class BacktestRun:
    """Two engines after the same events."""

    a: Engine
    b: Engine
    accepted: int
    refused: int
    duplicates: int
    elapsed_s: float


def admits(policy: Policy, event: Event) -> bool:
    """Would this policy have accepted the event's source system?"""
    system = event.source.split("/", 1)[0]
    return system in SOURCE_SYSTEMS or system == OWN_SOURCE or system in policy.systems


def replay_both(items: Iterable[Event | Refused], a: Policy, b: Policy) -> BacktestRun:
    """Step both engines with every event (parsed once), then fire their timers."""
    engine_a, engine_b = Engine(a), Engine(b)
    same_systems = set(a.systems) == set(b.systems)
    refused = 0
    started = time.perf_counter()
    with batch_gc():
        for item in items:
            if isinstance(item, Refused):
                refused += 1
            elif same_systems:
                engine_a.step(item)
                engine_b.step(item)
            else:  # a source system only one policy declares reaches only that engine
                if admits(a, item):
                    engine_a.step(item)
                if admits(b, item):
                    engine_b.step(item)
        engine_a.advance()
        engine_b.advance()
    stats = engine_a.stats
    return BacktestRun(
        engine_a,
        engine_b,
        stats.accepted,
        refused,
        stats.duplicates,
        time.perf_counter() - started,
    )


def run_backtest(
    path: Path,
    a: Policy,
    b: Policy,
    on_position: Callable[[int], None] | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> tuple[BacktestRun, dict[str, Any]]:
    """Replay ``path`` under ``a`` (the policy in force) and ``b`` (the candidate)."""
    extra = frozenset(a.systems) | frozenset(b.systems)
    run = replay_both(parse_items(read_items(path, on_position), extra, own=True), a, b)
    report = compare(
        [case.to_dict() for case in run.a.cases()],
        [case.to_dict() for case in run.b.cases()],
        thresholds=thresholds,
    )
    report["input"] = {
        "path": str(path),
        "accepted": run.accepted,
        "refused": run.refused,
        "duplicates_ignored": run.duplicates,
        "elapsed_s": round(run.elapsed_s, 3),
    }
    report["policies"] = {"a": _policy_info(a), "b": _policy_info(b)}
    return run, report


def _policy_info(policy: Policy) -> dict[str, Any]:
    return {"version": policy.version, "name": policy.name}


# --- the comparison ---------------------------------------------------------------------


def match_keys(cases: Iterable[CaseDoc]) -> dict[MatchKey, CaseDoc]:
    """Each case under (type, key, episode); episodes count openings in time order."""
    ordered = sorted(cases, key=lambda c: (c["opened_at"], c["id"]))
    episodes: Counter[tuple[str, str]] = Counter()
    keyed: dict[MatchKey, CaseDoc] = {}
    for case in ordered:
        problem = (str(case["type"]), str(case.get("key") or case["subject"]))
        episodes[problem] += 1
        keyed[(*problem, episodes[problem])] = case
    return keyed


def compare(
    cases_a: Sequence[CaseDoc],
    cases_b: Sequence[CaseDoc],
    labels: tuple[str, str] = LABELS,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> dict[str, Any]:
    """The difference between two sets of cases from the same events (JSON-ready)."""
    keyed_a, keyed_b = match_keys(cases_a), match_keys(cases_b)
    both = sorted(keyed_a.keys() & keyed_b.keys())
    pairs = [(keyed_a[k], keyed_b[k]) for k in both]
    changes = _changes(pairs)
    priority = _priority(pairs, thresholds)
    teams = _team_moves(pairs)
    report: dict[str, Any] = {
        "labels": {"a": labels[0], "b": labels[1]},
        "totals": {"a": side_metrics(cases_a), "b": side_metrics(cases_b)},
        "by_type": _by_type(keyed_a, keyed_b),
        "matched": len(both),
        "only_a": len(keyed_a.keys() - keyed_b.keys()),
        "only_b": len(keyed_b.keys() - keyed_a.keys()),
        "changes": changes,
        "priority": priority,
        "teams": teams,
        "workload": workload(cases_a, cases_b),
    }
    differences = (
        report["only_a"]
        + report["only_b"]
        + priority["changed"]
        + teams["changed"]
        + sum(changes.values())
    )
    report["differences"] = differences
    report["identical"] = differences == 0
    return report


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _resolved(cases: Iterable[CaseDoc]) -> list[CaseDoc]:
    return [c for c in cases if c["status"] == "resolved" and c.get("work")]


def _hours(case: CaseDoc) -> float:
    opened, closed = parse_instant(case["opened_at"]), parse_instant(case["closed_at"])
    return (closed - opened).total_seconds() / 3600


def side_metrics(cases: Sequence[CaseDoc]) -> dict[str, Any]:
    """Counts and resolution figures of one side (see the module docstring)."""
    resolved = _resolved(cases)
    with_sla = [c for c in resolved if c["work"].get("sla")]
    attained = sum(1 for c in with_sla if not c["work"]["sla"].get("breached"))
    ttr = [_hours(c) for c in resolved if c.get("closed_at")]
    statuses = Counter(str(c["status"]) for c in cases)
    open_now = statuses["open"] + statuses["in_progress"]
    return {
        "cases": len(cases),
        "closed": len(cases) - open_now,
        "open_at_end": open_now,
        "resolved": statuses["resolved"],
        "cancelled": statuses["cancelled"],
        "sla_attainment": _rate(attained, len(with_sla)),
        "touchless_rate": _rate(
            sum(1 for c in resolved if c["work"].get("touchless")), len(resolved)
        ),
        "ttr_p50_h": round(median(ttr), 2) if ttr else None,
        "revenue_at_risk": round(sum(float(c.get("revenue_at_risk") or 0) for c in cases), 2),
    }


def _by_type(keyed_a: dict[MatchKey, CaseDoc], keyed_b: dict[MatchKey, CaseDoc]) -> list[Any]:
    types = sorted({k[0] for k in keyed_a} | {k[0] for k in keyed_b})
    rows = []
    for code in types:
        a = {k: c for k, c in keyed_a.items() if k[0] == code}
        b = {k: c for k, c in keyed_b.items() if k[0] == code}
        side_a, side_b = side_metrics(list(a.values())), side_metrics(list(b.values()))
        rows.append(
            {
                "type": code,
                "a": len(a),
                "b": len(b),
                "only_a": len(a.keys() - b.keys()),
                "only_b": len(b.keys() - a.keys()),
                "both": len(a.keys() & b.keys()),
                "closed_a": side_a["closed"],
                "closed_b": side_b["closed"],
                "sla_attainment_a": side_a["sla_attainment"],
                "sla_attainment_b": side_b["sla_attainment"],
                "touchless_rate_a": side_a["touchless_rate"],
                "touchless_rate_b": side_b["touchless_rate"],
            }
        )
    return rows


def _changes(pairs: Sequence[tuple[CaseDoc, CaseDoc]]) -> dict[str, int]:
    """Matched cases whose status, due or SLA outcome differs between the sides."""
    counts = {"status": 0, "due_at": 0, "sla_outcome": 0, "touchless": 0}
    for a, b in pairs:
        counts["status"] += a["status"] != b["status"]
        counts["due_at"] += a.get("due_at") != b.get("due_at")
        work_a, work_b = a.get("work") or {}, b.get("work") or {}
        breached_a = (work_a.get("sla") or {}).get("breached")
        breached_b = (work_b.get("sla") or {}).get("breached")
        counts["sla_outcome"] += breached_a != breached_b
        counts["touchless"] += work_a.get("touchless") != work_b.get("touchless")
    return counts


def _priority(
    pairs: Sequence[tuple[CaseDoc, CaseDoc]], thresholds: Sequence[float]
) -> dict[str, Any]:
    deltas = [(float(b["priority"]) - float(a["priority"]), a, b) for a, b in pairs]
    changed = [d for d in deltas if round(d[0], 2) != 0]
    biggest = max(changed, key=lambda d: (abs(d[0]), d[1]["id"]), default=None)
    crossings = []
    for threshold in thresholds:
        up = sum(1 for _, a, b in deltas if a["priority"] < threshold <= b["priority"])
        down = sum(1 for _, a, b in deltas if b["priority"] < threshold <= a["priority"])
        crossings.append({"threshold": threshold, "up": up, "down": down})
    return {
        "matched": len(deltas),
        "changed": len(changed),
        "mean_delta": round(sum(d for d, _, _ in deltas) / len(deltas), 3) if deltas else None,
        "max_delta": None
        if biggest is None
        else {
            "delta": round(biggest[0], 2),
            "case_id": biggest[1]["id"],
            "type": biggest[1]["type"],
            "a": biggest[1]["priority"],
            "b": biggest[2]["priority"],
        },
        "crossings": crossings,
    }


def _team_moves(pairs: Sequence[tuple[CaseDoc, CaseDoc]]) -> dict[str, Any]:
    moves = Counter(
        (str(a["owner_team"]), str(b["owner_team"]))
        for a, b in pairs
        if a["owner_team"] != b["owner_team"]
    )
    return {
        "changed": sum(moves.values()),
        "moves": [
            {"from": src, "to": dst, "cases": n}
            for (src, dst), n in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def _per_team_day(cases: Iterable[CaseDoc]) -> dict[str, Counter[str]]:
    grid: dict[str, Counter[str]] = defaultdict(Counter)
    for case in cases:
        grid[str(case["owner_team"])][str(case["opened_at"])[:10]] += 1
    return grid


def workload(cases_a: Sequence[CaseDoc], cases_b: Sequence[CaseDoc]) -> dict[str, Any]:
    """Cases opened per owner team per day, both sides, with each team's busiest day."""
    grid_a, grid_b = _per_team_day(cases_a), _per_team_day(cases_b)
    days = sorted({d for g in (grid_a, grid_b) for team in g.values() for d in team})
    teams = []
    for team in sorted(grid_a.keys() | grid_b.keys()):
        a, b = grid_a.get(team, Counter()), grid_b.get(team, Counter())
        total_a, total_b = sum(a.values()), sum(b.values())
        teams.append(
            {
                "team": team,
                "a": total_a,
                "b": total_b,
                "delta": total_b - total_a,
                "peak_a": max(a.values(), default=0),
                "peak_b": max(b.values(), default=0),
                "per_day_a": round(total_a / len(days), 2) if days else 0.0,
                "per_day_b": round(total_b / len(days), 2) if days else 0.0,
                "by_day": {d: [a[d], b[d]] for d in days if a[d] or b[d]},
            }
        )
    return {
        "days": len(days),
        "first_day": days[0] if days else None,
        "last_day": days[-1] if days else None,
        "teams": teams,
    }
