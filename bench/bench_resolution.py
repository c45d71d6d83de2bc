"""Resolution outcome on the twin: playbooks closing the loop vs people doing it all.

Runs the twin twice with the same seed — once with the default policy's automation, once
with automation switched off so every action waits for a simulated person (FIFO queue per
team, the team's business calendar, lognormal handling time) — and prints, per mode and
per case type: touchless rate, median and p90 time to resolve, SLA attainment, manual
touches per case, revenue protected; then the ratios the issue sets goals for.

    python bench/bench_resolution.py --days 30 --orders-per-day 2000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import time

from unsnag.policy import load_policy
from unsnag.twin.config import TwinConfig
from unsnag.twin.loop import People, run_loop
from unsnag.twin.outcome import eligible_types, summarise


def _run(args: argparse.Namespace, automation: bool) -> dict[str, object]:
    policy = load_policy()
    people = People(agents=args.agents, handling_median_min=args.handling_min)
    started = time.perf_counter()
    result = run_loop(TwinConfig(), policy, args.days, args.orders_per_day, args.seed,
                      automation=automation, people=people)  # fmt: skip
    summary = summarise(result.cases, policy)
    summary["run"] = {"events": result.events, "actions": result.actions,
                      "commands": result.commands,
                      "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    return summary


def _table(auto: dict, manual: dict) -> None:
    head = f"{'case type':22} {'cases':>6} {'touchless':>9} {'p50 h':>8} {'p90 h':>8} {'SLA':>5}"
    print(f"{head} | {'cases':>6} {'touchless':>9} {'p50 h':>8} {'p90 h':>8} {'SLA':>5}")
    for code in sorted(set(auto["by_type"]) | set(manual["by_type"])):
        cells = []
        for mode in (auto, manual):
            g = mode["by_type"].get(code, {})
            cells.append(f"{g.get('cases', 0):>6} {_pct(g.get('touchless_rate')):>9} "
                         f"{_num(g.get('ttr_p50_h')):>8} {_num(g.get('ttr_p90_h')):>8} "
                         f"{_pct(g.get('sla_attainment')):>5}")  # fmt: skip
        print(f"{code:22} {cells[0]} | {cells[1]}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=float, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--agents", type=int, default=3, help="People per team.")
    parser.add_argument("--handling-min", type=float, default=15.0, help="Median minutes.")
    args = parser.parse_args()
    auto, manual = _run(args, True), _run(args, False)
    _table(auto, manual)
    a, m = auto["eligible"], manual["eligible"]
    ratio = (m["ttr_p50_h"] / a["ttr_p50_h"]) if a["ttr_p50_h"] else None
    print(json.dumps({
        "days": args.days, "orders_per_day": args.orders_per_day, "seed": args.seed,
        "eligible_types": sorted(eligible_types(load_policy())),
        "automated": {"all": auto["all"], "eligible": a, "run": auto["run"]},
        "manual": {"all": manual["all"], "eligible": m, "run": manual["run"]},
        "touchless_eligible_automated": a["touchless_rate"],
        "median_ttr_ratio_manual_over_automated": None if ratio is None else round(ratio, 2),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
