"""Run the twin and write its directory: ``events.jsonl``, ``truth.jsonl``, ``meta.json``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from unsnag.twin.config import TwinConfig
from unsnag.twin.emitter import DAY
from unsnag.twin.flow import Twin

OnDay = Callable[[int, int], None]
"""``on_day(day_done, days_expected)`` after every simulated day."""


def expected_days(config: TwinConfig, days: int) -> int:
    """Roughly how many simulated days a run takes: arrivals plus the longest cash cycle."""
    return days + max(config.terms_days.values(), default=30) + 20


def simulate(
    config: TwinConfig,
    days: int,
    orders_per_day: float,
    seed: int,
    sink: Callable[[bytes], object],
    on_day: OnDay | None = None,
) -> Twin:
    """Run the whole simulation, writing event lines to ``sink`` in emission order."""
    if days < 0 or orders_per_day < 0:
        raise ValueError("days and orders per day must be >= 0")
    twin = Twin(config, days, orders_per_day, seed, sink)
    twin.start()
    total, day = expected_days(config, days), 0
    while len(twin.sim):
        day += 1
        twin.sim.run(until=twin.t0 + day * DAY)
        twin.emitter.flush()
        if on_day is not None:
            on_day(day, max(total, day + (1 if len(twin.sim) else 0)))
    twin.emitter.flush(everything=True)
    return twin


def run_twin(
    config: TwinConfig,
    days: int,
    orders_per_day: float,
    seed: int,
    out: Path,
    on_day: OnDay | None = None,
) -> dict[str, Any]:
    """Simulate and write ``out/events.jsonl``, ``truth.jsonl`` and ``meta.json``;
    returns the meta record."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "events.jsonl").open("wb", buffering=1 << 20) as handle:
        twin = simulate(config, days, orders_per_day, seed, handle.write, on_day)
    truth = sorted(twin.truth, key=lambda f: (f["at"], f["case_type"], f["subject"]))
    with (out / "truth.jsonl").open("wb") as handle:
        for record in truth:
            handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    meta = {
        "generator": "unsnag.twin",
        "seed": seed,
        "days": days,
        "orders_per_day": orders_per_day,
        "orders": twin.orders,
        "events": twin.emitter.emitted,
        "faults": dict(sorted(Counter(f["fault"] for f in truth).items())),
        "events_by_type": dict(sorted(twin.emitter.by_type.items())),
        "simulated_days": (twin.sim.now_s - twin.t0 + DAY - 1) // DAY,
        "start": config.start.isoformat().replace("+00:00", "Z"),
    }
    (out / "meta.json").write_bytes(
        orjson.dumps(meta, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )
    return meta
