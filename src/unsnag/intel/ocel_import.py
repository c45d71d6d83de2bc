"""Turn an OCEL 2.0 log into canonical CloudEvents through a declarative mapping.

Each OCEL event is looked up by activity in the mapping (:mod:`unsnag.intel.ocel_model`);
each emission builds one envelope (or one per object of its ``for_each``), which must pass
:func:`unsnag.events.parse_event` like any inbound event. What cannot be mapped — an
activity the mapping does not know, a required field the log does not have — becomes a
dead letter with its reason, counted in the report; it never stops the import. The
output is sorted by event time (stable: the log's order, then the mapping's), because
unsnag processes events in arrival order and a shipment must exist before it moves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from unsnag.errors import ContractViolation, UnsnagError
from unsnag.events import parse_event
from unsnag.intel.ocel_model import (
    Attributes,
    AttrOf,
    Const,
    Emit,
    ForEach,
    Format,
    IdOf,
    IdsOf,
    Mapping,
    MappingError,
    OcelOf,
    parse_path,
)
from unsnag.intel.ocel_read import OcelEvent, OcelLog, iso, read_ocel

RESERVED_ENVELOPE = frozenset({"specversion", "type", "time", "data"})


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An OCEL event (or one emission of it) that could not become a canonical event."""

    ocel_id: str
    activity: str
    reason: str
    type: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"origin": f"ocel:{self.ocel_id}", "activity": self.activity, "type": self.type,
                "reason": self.reason, "field": self.field}  # fmt: skip


@dataclass
class ImportReport:
    """What an import did: counts in and out, and why anything was left behind."""

    flavour: str = ""
    ocel_events: int = 0
    ocel_objects: int = 0
    events: int = 0
    ignored: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def reasons(self) -> Counter[str]:
        return Counter(_reason_class(d) for d in self.dead_letters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flavour": self.flavour,
            "ocel_events": self.ocel_events,
            "ocel_objects": self.ocel_objects,
            "events": self.events,
            "ignored": self.ignored,
            "dead_letters": len(self.dead_letters),
            "dead_letter_reasons": dict(self.reasons().most_common()),
            "events_by_type": dict(sorted(self.by_type.items())),
        }


def _reason_class(dead: DeadLetter) -> str:
    where = f"{dead.activity} -> {dead.type}" if dead.type else dead.activity
    return f"{where}: {dead.reason}"


# --- evaluation --------------------------------------------------------------------------


@dataclass(slots=True)
class Scope:
    """Where a value is evaluated: the OCEL event, and the object of the enclosing
    ``for_each`` (if any)."""

    log: OcelLog
    event: OcelEvent
    current: str | None = None
    memo: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)
    by_type: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """The event's relations grouped by object type (filled on first use)."""

    def within(self, object_id: str) -> Scope:
        return Scope(self.log, self.event, object_id, self.memo, self.by_type)

    def related(self, kind: str) -> list[tuple[str, str]]:
        if not self.by_type:
            objects = self.log.objects
            self.by_type["*"] = [(o, q) for o, q in self.event.rel if o in objects]
            for oid, qualifier in self.by_type["*"]:
                self.by_type.setdefault(objects[oid].type, []).append((oid, qualifier))
        return self.by_type.get(kind, [])


def _matches(kind: str, qualifier: str | None, obj_type: str, obj_qualifier: str) -> bool:
    return (kind == "*" or kind == obj_type) and (qualifier is None or qualifier == obj_qualifier)


def resolve(path: str, scope: Scope) -> list[str]:
    """The distinct ids of the objects on ``path``, in the order the log relates them."""
    key = (path, scope.current if path.lstrip().startswith(".") else None)
    found = scope.memo.get(key)
    if found is None:
        found = scope.memo[key] = _walk(path, scope)
    return found


def _walk(path: str, scope: Scope) -> list[str]:
    objects = scope.log.objects
    found: list[str] = []
    for direction, kind, qualifier in parse_path(path):
        if direction == ".":
            found = [scope.current] if scope.current is not None else []
        elif direction == "e2o":
            pairs = scope.related(kind)
            found = [oid for oid, q in pairs if qualifier is None or q == qualifier]
        else:
            links = (
                (pair for oid in found for pair in objects[oid].rel)
                if direction == ">"
                else (pair for oid in found for pair in scope.log.reverse.get(oid, ()))
            )
            found = [
                oid
                for oid, q in links
                if oid in objects and _matches(kind, qualifier, objects[oid].type, q)
            ]
        found = list(dict.fromkeys(found))
    return found


def evaluate(value: Any, scope: Scope) -> Any:
    """The value of a mapping value in ``scope``; None when it has none."""
    if value is None:
        return None
    if isinstance(value, Const):
        return value.const
    if isinstance(value, IdOf):
        ids = resolve(value.id, scope)
        return ids[0] if ids else None
    if isinstance(value, IdsOf):
        return resolve(value.ids, scope)
    if isinstance(value, AttrOf):
        return _attr(value, scope)
    if isinstance(value, OcelOf):
        return _ocel(value, scope.event)
    if isinstance(value, Format):
        args = [evaluate(arg, scope) for arg in value.args]
        return None if any(arg is None for arg in args) else value.format.format(*args)
    if isinstance(value, ForEach):
        return _for_each(value, scope)
    if isinstance(value, Attributes):
        return _attributes(value, scope.event)
    raise TypeError(f"unknown mapping value {value!r}")  # pragma: no cover


def _attr(value: AttrOf, scope: Scope) -> Any:
    if value.of is None:
        return scope.event.attrs.get(value.attr)
    ids = resolve(value.of, scope)
    if not ids:
        return None
    return scope.log.objects[ids[0]].attr_at(value.attr, scope.event.time)


def _ocel(value: OcelOf, event: OcelEvent) -> Any:
    if value.ocel == "id":
        return event.id
    if value.ocel == "activity":
        return event.type
    return iso(event.time + timedelta(days=value.add_days))


def _for_each(value: ForEach, scope: Scope) -> list[dict[str, Any]]:
    ids = resolve(value.for_each, scope)
    if value.in_event:
        related = {oid for oid, _ in scope.event.rel}
        ids = [oid for oid in ids if oid in related]
    return [_fields(value.fields, scope.within(oid)) for oid in ids]


def _attributes(value: Attributes, event: OcelEvent) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in event.attrs.items():
        if not name.startswith(value.prefix):
            continue
        if value.exclude_prefix and name.startswith(value.exclude_prefix):
            continue
        key = name[len(value.prefix) :]
        if key.endswith(":json") and isinstance(raw, str):
            try:
                out[key.removesuffix(":json")] = json.loads(raw)
                continue
            except ValueError:
                pass
        out[key] = raw
    return out


def _fields(fields: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """Evaluate field values; a missing one is left out, a dotted name nests."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        result = evaluate(value, scope)
        if result is None:
            continue
        *parents, leaf = name.split(".")
        target = out
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = result
    return out


# --- emission ----------------------------------------------------------------------------


def _as_dict(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError(f"{where} must give a dict, got {type(value).__name__}")
    return value


def build_envelope(emit: Emit, mapping: Mapping, scope: Scope, default_id: str) -> dict[str, Any]:
    """One CloudEvent (structured mode) for ``emit`` in ``scope``."""
    envelope: dict[str, Any] = {
        key: val
        for key, val in _as_dict(evaluate(emit.envelope_from, scope), "envelope_from").items()
        if key not in RESERVED_ENVELOPE
    }
    data = _as_dict(evaluate(emit.data_from, scope), "data_from") if emit.data_from else {}
    data.update(_fields(emit.data, scope))
    source = evaluate(emit.source, scope) if emit.source else None
    subject = evaluate(emit.subject, scope) if emit.subject else None
    event_id = evaluate(emit.id, scope) if emit.id else None
    envelope["specversion"] = "1.0"
    envelope["id"] = event_id or envelope.get("id") or default_id
    envelope["source"] = source or envelope.get("source") or evaluate(mapping.source, scope)
    envelope["type"] = evaluate(emit.type, scope)
    envelope["time"] = iso(scope.event.time)
    if subject is not None:
        envelope["subject"] = str(subject)
    envelope["data"] = data
    return envelope


@dataclass(slots=True)
class Emitted:
    time: datetime
    order: tuple[int, int, int]
    envelope: dict[str, Any]


def _emit_event(
    mapping: Mapping, log: OcelLog, seq: int, event: OcelEvent, report: ImportReport
) -> Iterator[Emitted]:
    if event.type in mapping.ignore:
        report.ignored += 1
        return
    rules = mapping.rules_for(event.type)
    if not rules:
        reason = f"no mapping for activity {event.type!r}"
        report.dead_letters.append(DeadLetter(event.id, event.type, reason))
        return
    scope = Scope(log, event)
    for index, emit in enumerate(rules):
        currents: list[str | None] = [None]
        if emit.for_each:
            currents = list(resolve(emit.for_each, scope))
            if not currents:
                reason = f"for_each {emit.for_each!r} finds no object"
                report.dead_letters.append(DeadLetter(event.id, event.type, reason, _type(emit)))
                continue
        for position, current in enumerate(currents):
            inner = scope.within(current) if current is not None else scope
            default_id = _default_id(event.id, emit, inner, len(rules) > 1, current)
            try:
                envelope = build_envelope(emit, mapping, inner, default_id)
            except MappingError as exc:
                report.dead_letters.append(DeadLetter(event.id, event.type, str(exc), _type(emit)))
                continue
            yield Emitted(event.time, (seq, index, position), envelope)


def _type(emit: Emit) -> str | None:
    return emit.type.const if isinstance(emit.type, Const) else None  # type: ignore[return-value]


def _default_id(ocel_id: str, emit: Emit, scope: Scope, several: bool, current: str | None) -> str:
    text = ocel_id
    if several:
        text += f":{evaluate(emit.type, scope)}"
    if current is not None:
        text += f"/{current}"
    return text


def map_log(mapping: Mapping, log: OcelLog) -> tuple[list[dict[str, Any]], ImportReport]:
    """The canonical events for ``log`` (each passed :func:`parse_event`), time-sorted."""
    report = ImportReport(log.flavour, len(log.events), len(log.objects))
    emitted: list[Emitted] = []
    for seq, event in enumerate(log.events):
        emitted.extend(_emit_event(mapping, log, seq, event, report))
    emitted.sort(key=lambda item: (item.time, item.order))
    accepted: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for item in emitted:
        envelope = item.envelope
        ocel_id, activity = _origin(log, item)
        try:
            parsed = parse_event(envelope)
        except ContractViolation as exc:
            report.dead_letters.append(
                DeadLetter(ocel_id, activity, exc.reason, str(envelope.get("type")), exc.field)
            )
            continue
        if parsed.key in seen:
            reason = f"duplicate id {parsed.id!r} from {parsed.source!r}: give the emission an id"
            report.dead_letters.append(DeadLetter(ocel_id, activity, reason, parsed.type))
            continue
        seen.add(parsed.key)
        report.by_type[parsed.type] += 1
        accepted.append(envelope)
    report.events = len(accepted)
    return accepted, report


def _origin(log: OcelLog, item: Emitted) -> tuple[str, str]:
    event = log.events[item.order[0]]
    return event.id, event.type


def write_jsonl(items: Iterable[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for item in items:
            handle.write(orjson.dumps(item) + b"\n")


def dead_letter_path(out: Path) -> Path:
    """``events.jsonl`` -> ``events.dead_letters.jsonl`` beside it."""
    stem = out.name.split(".")[0] or "events"
    return out.with_name(f"{stem}.dead_letters.jsonl")


def import_ocel(source: Path, mapping: Mapping, out: Path) -> ImportReport:
    """Read ``source`` (any flavour), map it, write the events and the dead letters."""
    log = read_ocel(source)
    events, report = map_log(mapping, log)
    try:
        write_jsonl(events, out)
        write_jsonl((dead.to_dict() for dead in report.dead_letters), dead_letter_path(out))
    except OSError as exc:
        raise UnsnagError(f"{out}: cannot write: {exc.strerror}") from None
    return report
