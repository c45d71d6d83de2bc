"""Request and response bodies of /v1, as published in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- events -------------------------------------------------------------------------------


class EventResult(Out):
    index: int = Field(description="Position of the event in the request")
    status: str = Field(description="accepted, duplicate (already in the log) or refused")
    source: str | None = None
    id: str | None = None
    type: str | None = None
    reason: str | None = Field(default=None, description="Why it was refused")
    field: str | None = Field(default=None, description="The offending field, dotted")


class EventsResponse(Out):
    accepted: int
    duplicates: int
    refused: int
    results: list[EventResult]


# --- cases --------------------------------------------------------------------------------


class CaseOut(Out):
    """A case as EVENTS.md defines it (plus what unsnag knows about it: work, SLA…)."""

    id: str
    type: str
    status: str
    subject: str
    refs: dict[str, Any]
    priority: float
    priority_explained: list[str] = []
    owner_team: str
    opened_at: str
    due_at: str | None = None
    rule: str
    policy_version: str


class CasePage(Out):
    items: list[CaseOut]
    total: int = Field(description="Cases matching the filters (all pages)")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class CaseDetail(Out):
    case: CaseOut
    timeline: list[dict[str, Any]] = Field(
        description="Events about the case from every system, in event time order"
    )
    actions: list[dict[str, Any]]
    audit: list[dict[str, Any]]


class Assign(Body):
    assignee: str = Field(min_length=1, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=4000)


class Comment(Body):
    text: str = Field(min_length=1, max_length=10_000)


class Decide(Body):
    approval_id: str | None = Field(
        default=None, max_length=200, description="Default: the pending approval"
    )
    note: str | None = Field(default=None, max_length=4000)


class Reject(Body):
    approval_id: str | None = Field(default=None, max_length=200)
    note: str = Field(min_length=1, max_length=4000, description="Why not")


class Act(Body):
    option: int | None = Field(
        default=None, ge=0, le=1000, description="Recommendation number (0 = best)"
    )
    action: str | None = Field(
        default=None, max_length=100, description="An action of your own instead"
    )
    params: dict[str, Any] | None = None


class Resolve(Body):
    resolution: str = Field(min_length=1, max_length=4000, description="How it was resolved")


# --- dead letters -------------------------------------------------------------------------


class DeadLetterOut(Out):
    id: int
    received_at: str
    origin: str | None
    field: str | None
    reason: str
    raw: str
    replayed_at: str | None


class DeadLetterPage(Out):
    items: list[DeadLetterOut]
    total: int
    next_cursor: str | None


class Replay(Body):
    raw: Any | None = Field(
        default=None,
        description="The fixed event (a JSON object, or its text); default: the raw input "
        "as kept, for a dead letter whose cause has been fixed elsewhere",
    )


class ReplayResult(Out):
    dead_letter: int
    result: EventResult
