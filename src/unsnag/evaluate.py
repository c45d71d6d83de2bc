"""Score a replay against ground truth: did every injected fault become a case, and
was every case about a real fault?

The twin (the simulator, or ``bench/workload.py --out-dir``) writes a directory with
``truth.jsonl`` (one record per injected fault: ``{"fault", "case_type", "subject",
"keys", "at"}``), ``events.jsonl`` (the stream) and optionally ``meta.json`` (the order
count). ``unsnag replay`` writes ``cases.jsonl``. :func:`evaluate` compares the two as
parsed records and returns the report that ``unsnag eval`` prints and writes as
``eval.json``; :func:`evaluate_dirs` is the only part that touches files.

Matching, in short (docs/evaluation.md has the long form): a case *covers* a fault when
they have the same type, share an identifying business key, and the case was open at some
moment between the fault and the next fault on that key. A fault is detected when a case
covers it; a case is a true positive when it covers a fault, *consequential* when it
covers a fault of a type listed in :data:`CONSEQUENCES`, and a false positive otherwise.
"""

from __future__ import annotations

import gzip
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from unsnag.errors import ContractViolation, NotFound

RECALL_GOAL = 0.98
PRECISION_GOAL = 0.95

CONSEQUENCES: dict[str, frozenset[str]] = {
    "allocation.conflict": frozenset({"allocation.shortage"}),
}
"""Other case types a fault of a type legitimately produces. An allocation conflict (too
many orders for scarce stock at one node) leaves each order line caught in it short, so
the shortage detector rightly opens a case per line: those cases are *consequential*,
neither true nor false positives, and are reported in their own column."""

ATTRIBUTE_KEYS = frozenset(
    {
        "customer_id",
        "node_id",
        "sku",
        "line_id",
        "carrier",
        "service",
        "supplier_id",
        "check",
        "reason",
        "operation",
        "payload_ref",
    }
)
"""Fault keys that describe a fault rather than identify it: thousands of unrelated cases
share a customer, a DC, a SKU or line "1", so sharing one of these is no match. Every
other key of a fault record (order, shipment, invoice, remittance, RMA, PO, ASN, endpoint
ids, and the subject) identifies the problem."""

ORDER_KEYS = ("order_id", "order_ids", "original_order_id")
"""Fault keys naming the orders a fault is on (for noise)."""

NEVER = math.inf

COLUMNS = (
    "type",
    "faults",
    "detected",
    "recall",
    "cases",
    "tp",
    "conseq.",
    "fp",
    "precision",
    "ttd p50",
    "ttd p90",
    "goal",
)
"""The columns of the table ``unsnag eval`` prints (see :func:`table_rows`)."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault, parsed from a truth record."""

    fault: str
    case_type: str
    subject: str
    ids: frozenset[str]
    """The subject and every identifying key value (not those in ATTRIBUTE_KEYS)."""
    order_ids: frozenset[str]
    at: float
    at_text: str


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One case from ``cases.jsonl``, reduced to what scoring needs."""

    id: str
    type: str
    subject: str
    values: frozenset[str]
    """The subject, the problem key and every value in refs."""
    opened_at: float
    opened_text: str
    closed_at: float | None


# --- parsing -------------------------------------------------------------------------------


def _instant(value: Any, where: str, name: str) -> float:
    if not isinstance(value, str):
        raise ContractViolation(f"{where}: {name} must be an RFC 3339 time (got {value!r})")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ContractViolation(
            f"{where}: {name} must be an RFC 3339 time (got {value!r})"
        ) from None
    if moment.tzinfo is None:
        raise ContractViolation(f"{where}: {name} needs a time zone (got {value!r})")
    return moment.timestamp()


def _text(record: dict[str, Any], name: str, where: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise ContractViolation(f"{where}: {name} must be a non-empty string (got {value!r})")
    return value


def _flatten(value: Any) -> Iterator[str]:
    """The strings in a key value: a string, a number, or a list of them (None: none)."""
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def parse_fault(record: Any, where: str = "fault") -> Fault:
    """A truth record as a :class:`Fault`; :class:`ContractViolation` if malformed."""
    if not isinstance(record, dict):
        raise ContractViolation(f"{where}: a fault record must be a JSON object")
    case_type = _text(record, "case_type", where)
    subject = _text(record, "subject", where)
    keys = record.get("keys", {})
    if not isinstance(keys, dict):
        raise ContractViolation(f"{where}: keys must be an object (got {keys!r})")
    ids = {subject}
    orders: set[str] = set()
    for name, value in keys.items():
        if name not in ATTRIBUTE_KEYS:
            ids.update(_flatten(value))
        if name in ORDER_KEYS:
            orders.update(_flatten(value))
    at_text = record.get("at")
    return Fault(
        fault=str(record.get("fault") or case_type),
        case_type=case_type,
        subject=subject,
        ids=frozenset(ids),
        order_ids=frozenset(orders),
        at=_instant(at_text, where, "at"),
        at_text=str(at_text),
    )


def parse_case(record: Any, where: str = "case") -> CaseRecord:
    """A case as ``unsnag replay`` writes it, as a :class:`CaseRecord`."""
    if not isinstance(record, dict):
        raise ContractViolation(f"{where}: a case must be a JSON object")
    subject = _text(record, "subject", where)
    refs = record.get("refs") or {}
    if not isinstance(refs, dict):
        raise ContractViolation(f"{where}: refs must be an object (got {refs!r})")
    values = {subject, *_flatten(record.get("key")), *_flatten(list(refs.values()))}
    closed = record.get("closed_at")
    opened_text = record.get("opened_at")
    return CaseRecord(
        id=_text(record, "id", where),
        type=_text(record, "type", where),
        subject=subject,
        values=frozenset(values),
        opened_at=_instant(opened_text, where, "opened_at"),
        opened_text=str(opened_text),
        closed_at=None if closed is None else _instant(closed, where, "closed_at"),
    )


# --- statistics ----------------------------------------------------------------------------


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list: the smallest value with at least
    ``p`` % of the values at or below it (always one of the values; None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _per_1000(count: int, orders: int) -> float | None:
    return round(count * 1000 / orders, 2) if orders else None


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    fault: int
    """Index of the fault in the list evaluated."""
    start: float
    end: float
    """The next fault of the same type on the same value (NEVER when none)."""


def _windows(faults: list[Fault]) -> dict[tuple[str, str], list[_Window]]:
    """For every (case type, identifying value): the faults on it, each with the window
    from its time to the next fault's on that value. Faults at the same instant share a
    window."""
    by_value: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for i, fault in enumerate(faults):
        for value in fault.ids:
            by_value[(fault.case_type, value)].append(i)
    index: dict[tuple[str, str], list[_Window]] = {}
    for key, members in by_value.items():
        members.sort(key=lambda i: faults[i].at)
        windows, end, next_start = [], NEVER, NEVER
        for i in reversed(members):  # latest first: each window ends where a later one starts
            start = faults[i].at
            if start < next_start:
                end, next_start = next_start, start
            windows.append(_Window(i, start, end))
        index[key] = windows[::-1]
    return index


def _covered(
    case: CaseRecord, fault_type: str, index: dict[tuple[str, str], list[_Window]]
) -> set[int]:
    """The faults of ``fault_type`` the case covers: it shares a value with the fault and
    was open at some moment of the fault's window on that value."""
    closed = NEVER if case.closed_at is None else case.closed_at
    found: set[int] = set()
    for value in case.values:
        for window in index.get((fault_type, value), ()):
            if case.opened_at < window.end and closed >= window.start:
                found.add(window.fault)
    return found


# --- the report ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    faults: list[int]
    cases: int = 0
    tp: int = 0
    fp: int = 0
    consequential: int = 0
    false_positives: list[CaseRecord] = field(default_factory=list)


def evaluate(
    fault_records: Iterable[Any],
    case_records: Iterable[Any],
    orders: int,
    order_ids: Iterable[str] = (),
) -> dict[str, Any]:
    """Score cases against faults, given as records read from JSON or already parsed
    (:func:`parse_fault`, :func:`parse_case`). ``orders`` is the order count of the stream
    (for the per-1,000 rates), ``order_ids`` the ids of its orders (to tell which case
    subjects are orders, for noise). Returns the report ``eval.json`` holds."""
    faults = [
        r if isinstance(r, Fault) else parse_fault(r, f"fault {n}")
        for n, r in enumerate(fault_records, 1)
    ]
    cases = [
        r if isinstance(r, CaseRecord) else parse_case(r, f"case {n}")
        for n, r in enumerate(case_records, 1)
    ]
    index = _windows(faults)
    consequence_of: defaultdict[str, list[str]] = defaultdict(list)
    for source, produced in sorted(CONSEQUENCES.items()):
        for case_type in produced:
            consequence_of[case_type].append(source)

    tallies: dict[str, _Tally] = {}
    for i, fault in enumerate(faults):
        tallies.setdefault(fault.case_type, _Tally([])).faults.append(i)
    first_case: dict[int, float] = {}
    for case in cases:
        tally = tallies.setdefault(case.type, _Tally([]))
        tally.cases += 1
        covered = _covered(case, case.type, index)
        if covered:
            tally.tp += 1
            for i in covered:
                first_case[i] = min(first_case.get(i, NEVER), case.opened_at)
        elif any(_covered(case, source, index) for source in consequence_of.get(case.type, ())):
            tally.consequential += 1
        else:
            tally.fp += 1
            tally.false_positives.append(case)

    by_type = {
        case_type: _type_report(tallies[case_type], faults, first_case, orders)
        for case_type in sorted(tallies)
    }
    return {"overall": _overall(by_type, faults, cases, orders, order_ids), "by_type": by_type}


def _type_report(
    tally: _Tally, faults: list[Fault], first_case: dict[int, float], orders: int
) -> dict[str, Any]:
    delays: list[float] = []
    early = 0
    missed: list[Fault] = []
    for i in tally.faults:
        opened = first_case.get(i)
        if opened is None:
            missed.append(faults[i])
            continue
        delay = opened - faults[i].at
        early += delay < 0
        delays.append(max(0.0, delay))
    delays.sort()
    missed.sort(key=lambda f: (f.at, f.subject))
    wrong = sorted(tally.false_positives, key=lambda c: (c.opened_at, c.id))
    p50, p90 = percentile(delays, 50), percentile(delays, 90)
    report: dict[str, Any] = {
        "faults": len(tally.faults),
        "detected": len(delays),
        "recall": _ratio(len(delays), len(tally.faults)),
        "cases": tally.cases,
        "tp": tally.tp,
        "consequential": tally.consequential,
        "fp": tally.fp,
        "precision": _ratio(tally.tp, tally.tp + tally.fp),
        "ttd_p50_s": None if p50 is None else round(p50),
        "ttd_p90_s": None if p90 is None else round(p90),
        "early": early,
        "cases_per_1000_orders": _per_1000(tally.cases, orders),
        "misses": [f.subject for f in missed[:3]],
        "false_positives": [c.id for c in wrong[:3]],
    }
    report["goal_met"], report["reason"] = _goal(report, missed, wrong)
    return report


def _goal(
    report: dict[str, Any], missed: list[Fault], wrong: list[CaseRecord]
) -> tuple[bool | None, str]:
    """Whether the type meets recall ≥ 0.98 and precision ≥ 0.95 (None: nothing to judge,
    no faults and no true or false positives) and, if not, why, for a person to look."""
    recall, precision = report["recall"], report["precision"]
    if recall is None and precision is None:
        return None, ""
    reasons = []
    if recall is None:
        reasons.append("no faults of this type in the truth")
    elif recall < RECALL_GOAL:
        first = missed[0]
        reasons.append(
            f"{len(missed)} of {_count(report['faults'], 'fault')} undetected: "
            f"first {first.subject} (fault {first.fault} at {first.at_text})"
        )
    if precision is not None and precision < PRECISION_GOAL:
        case = wrong[0]
        reasons.append(
            f"{_count(len(wrong), 'false positive')}: first {case.id} ({case.subject}, "
            f"opened {case.opened_text})"
        )
    met = recall is not None and not reasons
    return met, "; ".join(reasons)


def _overall(
    by_type: dict[str, dict[str, Any]],
    faults: list[Fault],
    cases: list[CaseRecord],
    orders: int,
    order_ids: Iterable[str],
) -> dict[str, Any]:
    def total(name: str) -> int:
        return sum(int(row[name]) for row in by_type.values())

    faulted: set[str] = set().union(*(f.order_ids for f in faults))
    known = set(order_ids) | faulted
    faulted.update(o for f in faults if (o := f.subject.split("/", 1)[0]) in known)
    noise = [
        c for c in cases if (order := c.subject.split("/", 1)[0]) in known and order not in faulted
    ]
    judged = [row for row in by_type.values() if row["goal_met"] is not None]
    return {
        "recall": _ratio(total("detected"), total("faults")),
        "precision": _ratio(total("tp"), total("tp") + total("fp")),
        "faults": total("faults"),
        "detected": total("detected"),
        "cases": len(cases),
        "tp": total("tp"),
        "consequential": total("consequential"),
        "fp": total("fp"),
        "early": total("early"),
        "noise": len(noise),
        "noise_per_1000_orders": _per_1000(len(noise), orders),
        "noise_cases": [c.id for c in sorted(noise, key=lambda c: (c.opened_at, c.id))[:3]],
        "orders": orders,
        "cases_per_1000_orders": _per_1000(len(cases), orders),
        "types_judged": len(judged),
        "types_meeting_goal": sum(bool(row["goal_met"]) for row in judged),
        "goal": {"recall": RECALL_GOAL, "precision": PRECISION_GOAL},
    }


# --- rendering helpers (pure: the CLI draws them) -------------------------------------------


def duration(seconds: float | None) -> str:
    """A short human duration: 45s, 12m, 3.5h, 2.1d (— when there is none)."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86_400:.1f}d"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per case type, in :data:`COLUMNS` order, then a total row."""
    rows = []
    for case_type, row in report["by_type"].items():
        goal = {True: "✓", False: "✗", None: "—"}[row["goal_met"]]
        rows.append(
            [
                case_type,
                f"{row['faults']:,}",
                f"{row['detected']:,}",
                _share(row["recall"]),
                f"{row['cases']:,}",
                f"{row['tp']:,}",
                f"{row['consequential']:,}",
                f"{row['fp']:,}",
                _share(row["precision"]),
                duration(row["ttd_p50_s"]),
                duration(row["ttd_p90_s"]),
                goal,
            ]
        )
    o = report["overall"]
    met = f"{o['types_meeting_goal']}/{o['types_judged']}"
    rows.append(
        [
            "all types",
            f"{o['faults']:,}",
            f"{o['detected']:,}",
            _share(o["recall"]),
            f"{o['cases']:,}",
            f"{o['tp']:,}",
            f"{o['consequential']:,}",
            f"{o['fp']:,}",
            _share(o["precision"]),
            "",
            "",
            met,
        ]
    )
    return rows


def reasons(report: dict[str, Any]) -> list[str]:
    """``type: why`` for every type that misses the goal."""
    return [
        f"{case_type}: {row['reason']}"
        for case_type, row in report["by_type"].items()
        if row["goal_met"] is False
    ]


def summary_line(report: dict[str, Any]) -> str:
    o = report["overall"]
    per_1000 = o["cases_per_1000_orders"]
    noise_rate = o["noise_per_1000_orders"]
    return (
        f"recall {_share(o['recall'])} ({o['detected']:,} of {_count(o['faults'], 'fault')}), "
        f"precision {_share(o['precision'])} ({_count(o['fp'], 'false positive')}, "
        f"{o['consequential']:,} consequential), "
        f"{o['cases']:,} cases from {o['orders']:,} orders "
        f"({'—' if per_1000 is None else f'{per_1000:,}'} per 1,000), "
        f"noise {o['noise']:,} ({'—' if noise_rate is None else noise_rate} per 1,000 orders), "
        f"{o['early']:,} detected before the recorded fault time; "
        f"{o['types_meeting_goal']} of {o['types_judged']} types meet the goal"
    )


# --- files ---------------------------------------------------------------------------------


def _jsonl(path: Path, what: str) -> Iterator[tuple[str, Any]]:
    """``(path:line, record)`` for every non-blank line of a JSON Lines file."""
    if not path.is_file():
        raise NotFound(f"{path}: no such file ({what})")
    with path.open("rb") as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{n}", orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ContractViolation(f"{path}:{n}: not JSON ({exc})") from None


def _order_ids(path: Path) -> set[str]:
    """Order ids of the ``order.created`` events (only those lines are parsed)."""
    opener = gzip.open if path.suffix == ".gz" else open
    ids: set[str] = set()
    with opener(path, "rb") as handle:
        for line in handle:
            if b'"order.created"' not in line:
                continue
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # the replay dead-letters it; it is no order
            data = event.get("data") if isinstance(event, dict) else None
            if event.get("type") == "order.created" and isinstance(data, dict):
                order_id = data.get("order_id")
                if isinstance(order_id, str):
                    ids.add(order_id)
    return ids


def _orders_from_meta(path: Path) -> int | None:
    if not path.is_file():
        return None
    try:
        meta = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ContractViolation(f"{path}: not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ContractViolation(f"{path}: must be a JSON object")
    orders = meta.get("orders")
    if orders is None:
        return None
    if not isinstance(orders, int) or isinstance(orders, bool) or orders < 0:
        raise ContractViolation(f"{path}: orders must be a count (got {orders!r})")
    return orders


def evaluate_dirs(twin_dir: Path, replay_dir: Path) -> dict[str, Any]:
    """Read a twin directory and a replay directory, score, write ``replay_dir/eval.json``
    and return the report."""
    if not twin_dir.is_dir():
        raise NotFound(f"{twin_dir}: no such directory (the twin's output)")
    if not replay_dir.is_dir():
        raise NotFound(f"{replay_dir}: no such directory (the output of unsnag replay)")
    truth, replayed = twin_dir / "truth.jsonl", replay_dir / "cases.jsonl"
    faults = [parse_fault(r, at) for at, r in _jsonl(truth, "the twin's fault records")]
    cases = [parse_case(r, at) for at, r in _jsonl(replayed, "written by unsnag replay")]
    events = twin_dir / "events.jsonl"
    if not events.is_file() and (twin_dir / "events.jsonl.gz").is_file():
        events = twin_dir / "events.jsonl.gz"
    if not events.is_file():
        raise NotFound(f"{events}: no such file (the twin's event stream)")
    order_ids = _order_ids(events)
    orders = _orders_from_meta(twin_dir / "meta.json")
    report = evaluate(faults, cases, len(order_ids) if orders is None else orders, order_ids)
    (replay_dir / "eval.json").write_bytes(
        orjson.dumps(
            report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        )
    )
    return report
