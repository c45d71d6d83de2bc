"""The /v1 routes. Thin: each checks who may do it, then calls the service layer."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from unsnag.api.auth import DEAD_LETTERS, INGEST, READ, WORK, Principal, may_work_case
from unsnag.api.deps import Svc, authenticate, requires
from unsnag.api.problems import PROBLEM_RESPONSES, ApiProblem, problem_response
from unsnag.api.schemas import (
    Act,
    Assign,
    CaseDetail,
    CasePage,
    Comment,
    DeadLetterPage,
    Decide,
    EventsResponse,
    Reject,
    Replay,
    ReplayResult,
    Resolve,
)
from unsnag.casework import show_case
from unsnag.errors import Conflict, ContractViolation, Forbidden, NotFound
from unsnag.inputs import Item
from unsnag.intel.kpi import Period
from unsnag.store import CaseQuery, DeadLetter, IdempotentResponse, cursor_of
from unsnag.store.port import SORTS, StoredDeadLetter

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(requires(READ))]
Worker = Annotated[Principal, Depends(requires(WORK))]
Integrator = Annotated[Principal, Depends(requires(INGEST))]
DeadLetterWorker = Annotated[Principal, Depends(requires(DEAD_LETTERS))]
Anyone = Annotated[Principal, Depends(authenticate)]

EVENT_TYPES = (
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
)


# --- events ---------------------------------------------------------------------------


def _verify_signature(svc: Svc, request: Request, body: bytes, sources: set[str]) -> None:
    """Sources with a secret in the settings must come signed (HMAC-SHA256)."""
    secrets = svc.settings.webhook_secrets
    if not secrets:
        return
    needed = {}
    for source in sources:
        secret = secrets.get(source) or secrets.get(source.split("/", 1)[0])
        if secret is not None:
            needed[source] = secret
    if not needed:
        return
    stamp = request.headers.get("x-unsnag-timestamp", "")
    signature = request.headers.get("x-unsnag-signature", "")
    if not stamp or not signature:
        raise ApiProblem(
            401,
            f"events from {', '.join(sorted(needed))} must be signed: "
            "X-Unsnag-Timestamp and X-Unsnag-Signature headers",
            slug="signature-missing",
        )
    try:
        age = abs(time.time() - int(stamp))
    except ValueError:
        raise ApiProblem(
            401, "X-Unsnag-Timestamp must be Unix seconds", slug="signature-invalid"
        ) from None
    if age > svc.settings.webhook_tolerance_s:
        raise ApiProblem(
            401,
            f"X-Unsnag-Timestamp is {int(age)} s away from now (more than "
            f"{svc.settings.webhook_tolerance_s} s)",
            slug="signature-expired",
        )
    for source, secret in sorted(needed.items()):
        expected = (
            "sha256="
            + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(expected, signature.strip()):
            raise ApiProblem(
                401,
                f"X-Unsnag-Signature does not match the secret of {source}",
                slug="signature-invalid",
            )


def _dead_letter(svc: Svc, body: bytes, reason: str, origin: str) -> None:
    text = body.decode("utf-8", "replace")
    svc.runtime.store.add_dead_letters([DeadLetter(text, reason, None, origin, datetime.now(UTC))])


@router.post(
    "/events",
    response_model=EventsResponse,
    responses={415: problem_response(415)},
    summary="Send events: one CloudEvent, a JSON array of them, or a CloudEvents batch",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {
                    "schema": {
                        "oneOf": [
                            {"type": "object"},
                            {"type": "array", "items": {"type": "object"}},
                        ]
                    }
                }
                for kind in EVENT_TYPES
            },
        },
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 200},
            }
        ],
    },
)
async def post_events(request: Request, svc: Svc, caller: Integrator) -> Response:
    """Validate, log and detect; one result per event. Refused events are dead-lettered
    with their reason and the rest go on. The same ``Idempotency-Key`` with the same body
    returns the first response; with another body, 422."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in EVENT_TYPES:
        raise ApiProblem(
            415, f"Content-Type must be one of {', '.join(EVENT_TYPES)}; got {kind or 'none'}"
        )
    body = await request.body()
    idem = request.headers.get("idempotency-key")
    digest = hashlib.sha256(body).hexdigest()
    if idem is not None:
        if not idem.strip() or len(idem) > 200:
            raise ApiProblem(422, "Idempotency-Key must be 1 to 200 characters")
        earlier = await run_in_threadpool(svc.runtime.store.get_idempotent, caller.id, idem)
        if earlier is not None:
            if earlier.request_hash != digest:
                raise ApiProblem(
                    422,
                    f"Idempotency-Key {idem!r} was used with a different body",
                    slug="idempotency-key-reused",
                )
            return Response(
                earlier.body,
                status_code=earlier.status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
    origin = f"api:{caller.id}"
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        await run_in_threadpool(_dead_letter, svc, body, f"not JSON: {exc}", origin)
        raise ApiProblem(
            400, f"the body is not JSON ({exc}); kept as a dead letter", slug="not-json"
        ) from None
    if kind == "application/cloudevents-batch+json" and not isinstance(decoded, list):
        await run_in_threadpool(_dead_letter, svc, body, "a batch must be a JSON array", origin)
        raise ApiProblem(400, "application/cloudevents-batch+json needs a JSON array of events")
    documents = decoded if isinstance(decoded, list) else [decoded]
    if not isinstance(decoded, list | dict):
        await run_in_threadpool(
            _dead_letter, svc, body, "expected an event object or an array", origin
        )
        raise ApiProblem(400, "expected a JSON object (one event) or an array of events")
    if len(documents) > svc.settings.max_batch_events:
        raise ApiProblem(
            413, f"{len(documents)} events in one request; at most {svc.settings.max_batch_events}"
        )
    sources = {
        str(doc["source"])
        for doc in documents
        if isinstance(doc, dict) and isinstance(doc.get("source"), str)
    }
    _verify_signature(svc, request, body, sources)
    items: list[Item] = [
        (
            origin,
            index,
            body if len(documents) == 1 and isinstance(decoded, dict) else orjson.dumps(doc),
            doc,
        )
        for index, doc in enumerate(documents)
    ]
    verdicts = await run_in_threadpool(svc.runtime.ingest, items)
    counts = {"accepted": 0, "duplicate": 0, "refused": 0}
    for verdict in verdicts:
        counts[verdict.status] += 1
    for status, count in counts.items():
        if count:
            svc.metrics.events.labels(status).inc(count)
    payload = orjson.dumps(
        {
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "refused": counts["refused"],
            "results": [v.to_dict() for v in verdicts],
        }
    )
    if idem is not None:
        record = IdempotentResponse(
            caller.id, idem, digest, 200, payload.decode(), datetime.now(UTC)
        )
        await run_in_threadpool(svc.runtime.store.put_idempotent, record)
    return Response(payload, media_type="application/json")


# --- cases ----------------------------------------------------------------------------


def encode_cursor(sort: str, value: Any, case_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([sort, value, case_id])).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        got_sort, value, case_id = orjson.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise ContractViolation("cursor: not a cursor this API gave out", "cursor") from None
    if got_sort != sort or not isinstance(case_id, str):
        raise ContractViolation(f"cursor: made for sort {got_sort!r}, not {sort!r}", "cursor")
    return value, case_id


def list_item(case: dict[str, Any]) -> dict[str, Any]:
    """A case for lists: the contract's fields and the state of its work, no timeline."""
    out = {k: v for k, v in case.items() if k not in ("timeline", "work")}
    work = case.get("work") or {}
    pending = [a for a in work.get("approvals") or [] if a.get("status") == "pending"]
    out["work"] = {
        "state": work.get("state"),
        "assignee": work.get("assignee"),
        "sla": work.get("sla"),
        "pending_approval": pending[0] if pending else None,
        "touchless": work.get("touchless"),
    }
    return out


def case_query(
    type: list[str] | None,
    team: list[str] | None,
    status: list[str] | None,
    customer: str | None,
    sku: str | None,
    node: str | None,
    order: str | None,
    priority_min: float | None,
    priority_max: float | None,
    due_before: datetime | None,
    sort: str,
    after: tuple[Any, str] | None,
    limit: int,
) -> CaseQuery:
    refs = tuple(
        (name, value)
        for name, value in (
            ("customer_id", customer),
            ("sku", sku),
            ("node_id", node),
            ("order_id", order),
        )
        if value
    )
    return CaseQuery(
        types=tuple(type or ()),
        teams=tuple(team or ()),
        statuses=tuple(status or ()),
        refs=refs,
        min_priority=priority_min,
        max_priority=priority_max,
        due_before=due_before,
        sort=sort,
        after=after,
        limit=limit,
    )


SORT_VALUES = tuple(s for name in SORTS for s in (name, f"-{name}"))


@router.get("/cases", response_model=CasePage, summary="List cases with filters")
def list_cases(
    svc: Svc,
    caller: Reader,
    type: Annotated[list[str] | None, Query(description="Case type; repeat for several")] = None,
    team: Annotated[list[str] | None, Query(description="Owner team; repeat")] = None,
    status: Annotated[
        list[str] | None, Query(description="open, in_progress, resolved, cancelled; repeat")
    ] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    sku: Annotated[str | None, Query(max_length=200)] = None,
    node: Annotated[str | None, Query(max_length=200, description="DC / node id")] = None,
    order: Annotated[str | None, Query(max_length=200)] = None,
    priority_min: Annotated[float | None, Query(ge=0, le=1000)] = None,
    priority_max: Annotated[float | None, Query(ge=0, le=1000)] = None,
    due_before: Annotated[datetime | None, Query()] = None,
    sort: Annotated[str, Query(description=f"One of {', '.join(SORT_VALUES)}")] = "-priority",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Highest priority first by default; ``next_cursor`` pages on."""
    if sort not in SORT_VALUES:
        raise ContractViolation(f"sort: one of {', '.join(SORT_VALUES)}", "sort")
    if due_before is not None and due_before.tzinfo is None:
        due_before = due_before.replace(tzinfo=UTC)
    after = decode_cursor(cursor, sort) if cursor else None
    query = case_query(
        type,
        team,
        status,
        customer,
        sku,
        node,
        order,
        priority_min,
        priority_max,
        due_before,
        sort,
        after,
        limit + 1,
    )
    store = svc.runtime.store
    rows = store.query_cases(query)
    more = len(rows) > limit
    rows = rows[:limit]
    total = store.count_cases(query)
    next_cursor = encode_cursor(sort, *cursor_of(rows[-1], sort)) if more and rows else None
    return {"items": [list_item(r) for r in rows], "total": total, "next_cursor": next_cursor}


def _timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "time": e.get("time"),
            "source": e.get("source"),
            "type": e.get("type"),
            "id": e.get("id"),
            "subject": e.get("subject"),
            "data": e.get("data"),
        }
        for e in events
    ]


def case_detail(svc: Svc, case_id: str) -> dict[str, Any]:
    view = show_case(svc.runtime.store, case_id)
    return {
        "case": view.case,
        "timeline": _timeline(view.events),
        "actions": [_action(a) for a in view.actions],
        "audit": [
            {
                "seq": c.seq,
                "at": c.entry.at.isoformat(),
                "kind": c.entry.kind,
                "actor": c.entry.actor,
                "detail": c.entry.detail,
                "hash": c.hash,
            }
            for c in view.audit
        ],
    }


def _action(action: Any) -> dict[str, Any]:
    return {
        "key": action.key,
        "kind": action.kind,
        "connector": action.connector,
        "params": action.params,
        "status": action.status,
        "attempts": action.attempts,
        "created_at": action.created_at.isoformat(),
        "requested_by": action.requested_by,
        "last_error": action.last_error,
        "response": action.response,
        "delivered_at": _iso(action.delivered_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="One case, with timeline")
def get_case(case_id: str, svc: Svc, caller: Reader) -> dict[str, Any]:
    """The case, its cross-system timeline, its outbound actions and its audit trail."""
    return case_detail(svc, case_id)


def work(svc: Svc, caller: Principal, command: str, case_id: str, **fields: Any) -> dict[str, Any]:
    """Run a person's command with the CLI's rules, after the caller's team check."""
    case = svc.runtime.store.get_case(case_id)
    reason = may_work_case(caller, case)
    if reason is not None:
        svc.metrics.commands.labels(command, "forbidden").inc()
        raise Forbidden(reason)
    try:
        after = svc.runtime.command(command, case_id, caller.actor, caller.role, **fields)
    except (NotFound, Forbidden, ContractViolation, Conflict) as exc:
        svc.metrics.commands.labels(command, type(exc).__name__.lower()).inc()
        raise
    except Exception:
        svc.metrics.commands.labels(command, "error").inc()
        raise
    svc.metrics.commands.labels(command, "done").inc()
    return after


@router.post("/cases/{case_id}/assign", summary="Give the case to someone")
def assign(case_id: str, body: Assign, svc: Svc, caller: Worker) -> dict[str, Any]:
    return work(
        svc,
        caller,
        "case.assigned",
        case_id,
        assignee=body.assignee,
        team=body.team,
        note=body.note,
    )


@router.post("/cases/{case_id}/comment", summary="Comment on the case")
def comment(case_id: str, body: Comment, svc: Svc, caller: Worker) -> dict[str, Any]:
    return work(svc, caller, "case.commented", case_id, text=body.text)


@router.post("/cases/{case_id}/approve", summary="Approve the pending action")
def approve(case_id: str, body: Decide, svc: Svc, caller: Worker) -> dict[str, Any]:
    """Needs the approval's role (or admin), and not the requester (segregation of duties)."""
    return work(svc, caller, "case.approved", case_id, approval_id=body.approval_id, note=body.note)


@router.post("/cases/{case_id}/reject", summary="Reject the pending action")
def reject(case_id: str, body: Reject, svc: Svc, caller: Worker) -> dict[str, Any]:
    return work(svc, caller, "case.rejected", case_id, approval_id=body.approval_id, note=body.note)


@router.post("/cases/{case_id}/act", summary="Carry out a recommendation or an action")
def act(case_id: str, body: Act, svc: Svc, caller: Worker) -> dict[str, Any]:
    """Runs at once when the caller's role may; otherwise asks for an approval."""
    return work(
        svc,
        caller,
        "case.action_requested",
        case_id,
        option=body.option,
        action=body.action,
        params=body.params,
    )


@router.post("/cases/{case_id}/resolve", summary="Close the case as resolved")
def resolve(case_id: str, body: Resolve, svc: Svc, caller: Worker) -> dict[str, Any]:
    return work(svc, caller, "case.resolved", case_id, resolution=body.resolution)


# --- KPIs and aggregates --------------------------------------------------------------

From = Annotated[datetime | None, Query(alias="from", description="Period start (UTC)")]
To = Annotated[datetime | None, Query(alias="to", description="Period end, exclusive")]
TypeF = Annotated[str | None, Query(description="Only this case type", max_length=100)]
TeamF = Annotated[str | None, Query(description="Only this team", max_length=100)]


def _period(svc: Svc, start: datetime | None, end: datetime | None) -> Period:
    try:
        return svc.analytics.period(start, end)
    except ContractViolation as exc:
        raise ContractViolation(f"from/to: {exc}", "from") from None


def _filters(type: str | None, team: str | None) -> list[tuple[str, str]]:
    return [(n, v) for n, v in (("type", type), ("team", team)) if v]


@router.get("/kpis", summary="KPIs over a period (the registry of docs/kpis.md)")
def kpis(
    svc: Svc,
    caller: Reader,
    start: From = None,
    end: To = None,
    type: TypeF = None,
    team: TeamF = None,
    by: Annotated[
        str | None,
        Query(
            description="Slice by: type, team, customer, "
            "tier, sku, node, carrier, channel, source…",
            max_length=50,
        ),
    ] = None,
) -> dict[str, Any]:
    return svc.analytics.kpis(_period(svc, start, end), _filters(type, team), by)


@router.get("/aggregates/pareto", summary="Pareto of cases by a dimension")
def pareto(
    svc: Svc,
    caller: Reader,
    by: Annotated[str, Query(description="sku, customer, dc, carrier, endpoint…", max_length=50)],
    start: From = None,
    end: To = None,
    type: TypeF = None,
    team: TeamF = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    return svc.analytics.pareto(by, _period(svc, start, end), _filters(type, team), top)


@router.get("/aggregates/trend", summary="Per day: opened, resolved, backlog, SLA, touchless")
def trend(
    svc: Svc,
    caller: Reader,
    start: From = None,
    end: To = None,
    type: TypeF = None,
    team: TeamF = None,
) -> dict[str, Any]:
    return svc.analytics.trend(_period(svc, start, end), _filters(type, team))


@router.get("/aggregates/open", summary="Open cases now by type, team and status")
def open_now(svc: Svc, caller: Reader) -> dict[str, Any]:
    store = svc.runtime.store
    live = ("open", "in_progress")
    return {
        "by_type": store.case_counts("type", live),
        "by_team": store.case_counts("owner_team", live),
        "by_status": store.case_counts("status"),
    }


@router.get("/incidents", summary="Cases grouped into incidents by the policy's rules")
def incidents(svc: Svc, caller: Reader, start: From = None, end: To = None) -> dict[str, Any]:
    return svc.analytics.incidents(_period(svc, start, end))


@router.get("/overview", summary="Everything the dashboard's overview shows")
def overview(
    svc: Svc,
    caller: Reader,
    start: From = None,
    end: To = None,
    type: TypeF = None,
    team: TeamF = None,
) -> dict[str, Any]:
    return svc.analytics.overview(_period(svc, start, end), _filters(type, team))


# --- dead letters and integrations ------------------------------------------------------

MAX_ID = 2**63 - 1
"""The largest id a store keeps (a signed 64-bit integer)."""
DeadLetterId = Annotated[int, Path(ge=0, le=MAX_ID)]


def dead_letter_doc(row: StoredDeadLetter) -> dict[str, Any]:
    """A dead letter as the API and the dashboard show it."""
    return {
        "id": row.id,
        "received_at": row.received_at.isoformat(),
        "origin": row.origin,
        "field": row.field,
        "reason": row.reason,
        "raw": row.raw,
        "replayed_at": row.replayed_at.isoformat() if row.replayed_at else None,
    }


@router.get("/dead-letters", response_model=DeadLetterPage, summary="Refused inputs, kept")
def dead_letters(
    svc: Svc,
    caller: Anyone,
    replayed: Annotated[bool | None, Query(description="Only (not) replayed ones")] = None,
    cursor: Annotated[
        int, Query(ge=0, le=MAX_ID, description="The last id of the previous page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """In arrival order, with the reason, the offending field and the raw input."""
    store = svc.runtime.store
    rows = store.list_dead_letters(limit=limit + 1, after_id=cursor, replayed=replayed)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [dead_letter_doc(r) for r in rows],
        "total": store.dead_letter_count(),
        "next_cursor": str(rows[-1].id) if more and rows else None,
    }


@router.get("/dead-letters/{dead_letter_id}", summary="One dead letter")
def dead_letter(dead_letter_id: DeadLetterId, svc: Svc, caller: Anyone) -> dict[str, Any]:
    return dead_letter_doc(svc.runtime.store.get_dead_letter(dead_letter_id))


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    response_model=ReplayResult,
    response_model_exclude_none=True,  # like the results of POST /v1/events
    summary="Fix and replay a dead letter",
)
def replay_dead_letter(
    dead_letter_id: DeadLetterId, body: Replay, svc: Svc, caller: DeadLetterWorker
) -> dict[str, Any]:
    """Runs the fixed event (or the kept raw input) through the inbound path; marked
    replayed when accepted (or already in the log). A still-bad event is 422, and the
    dead letter stays."""
    store = svc.runtime.store
    row = store.get_dead_letter(dead_letter_id)
    if row.replayed_at is not None:
        raise ApiProblem(
            409, f"dead letter {dead_letter_id} was replayed at {row.replayed_at.isoformat()}"
        )
    if body.raw is None:
        raw: Any = row.raw
    elif isinstance(body.raw, str):
        raw = body.raw
    else:
        raw = orjson.dumps(body.raw)
    verdict = svc.runtime.replay_dead_letter(raw, f"replay:dead-letter:{dead_letter_id}")
    if verdict.status == "refused":
        raise ApiProblem(
            422, f"still refused: {verdict.reason}", slug="still-refused", field=verdict.field
        )
    store.mark_dead_letter_replayed(dead_letter_id, datetime.now(UTC))
    svc.metrics.events.labels(verdict.status).inc()
    return {"dead_letter": dead_letter_id, "result": verdict.to_dict()}


@router.get("/integrations", summary="Events per source per hour, and refusals")
def integrations(
    svc: Svc, caller: Anyone, hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24
) -> dict[str, Any]:
    from datetime import timedelta

    store = svc.runtime.store
    since = datetime.now(UTC) - timedelta(hours=hours)
    events = store.event_counts(since)
    refused = store.dead_letter_counts(since)
    return {
        "since": since.isoformat(),
        "events": [{"source": s, "hour": h.isoformat(), "count": c} for s, h, c in events],
        "refused": [{"origin": o, "hour": h.isoformat(), "count": c} for o, h, c in refused],
        "dead_letters": store.dead_letter_count(),
    }


@router.get("/me", summary="Who the key or token belongs to")
def me(caller: Anyone) -> dict[str, Any]:
    return caller.to_dict()
