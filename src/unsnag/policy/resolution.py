"""The resolution half of the policy: calendars, roles, playbooks, automation limits,
approvals, escalation ladders and connectors.

Everything a distribution operations lead would want to change without a release lives
here: which steps a case of each type goes through, which actions may run without a
human and within which limits, who must approve what above which amount, when a case
climbs the escalation ladder, and where actions are sent.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"(?:[01]\d:[0-5]\d|2[0-3]:[0-5]\d|24:00)"
_SPAN = re.compile(rf"^{_TIME}-{_TIME}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarCfg(_Strict):
    """A team's working time: hours per weekday in a time zone, minus holidays.

    ``hours`` maps a weekday (``mon``..``sun``) to spans ``"HH:MM-HH:MM"`` in local time;
    a weekday left out is not worked. ``always: true`` means around the clock, every day.
    """

    timezone: str = Field("UTC", description="IANA time zone, e.g. America/Chicago.")
    always: bool = Field(False, description="Works 24 x 7; `hours` and `holidays` ignored.")
    hours: dict[str, list[str]] = Field(
        default_factory=dict, description="Weekday -> local spans, e.g. mon: ['08:00-17:00']."
    )
    holidays: list[date] = Field(default_factory=list, description="Local dates not worked.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {list(WEEKDAYS)}")
            for span in spans:
                if not _SPAN.match(span) or span[:5] >= span[6:]:
                    raise ValueError(f"{day}: {span!r} is not a span like '08:00-17:00'")
        return value

    @model_validator(mode="after")
    def _works_sometime(self) -> CalendarCfg:
        if not self.always and not any(self.hours.values()):
            raise ValueError("a calendar needs `always: true` or some working hours")
        return self


# --- playbooks --------------------------------------------------------------------


class GatherStep(_Strict):
    """Collect the facts the next steps use (recorded on the case)."""

    step: Literal["gather"]
    facts: list[str] = Field(
        default_factory=list,
        description="Fact groups: order, customer, stock, inbound, substitutes, shipment, "
        "invoice, payments, remittance, returns, interface, carrier_lane.",
    )


class RecommendStep(_Strict):
    """Compute the options for the case and rank them (the named option computer)."""

    step: Literal["recommend"]
    using: str = Field(description="Option computer, e.g. `shortage`; see docs/resolution.md.")
    top: int = Field(3, ge=1, le=10, description="Options kept on the case.")


class ApproveStep(_Strict):
    """Ask for approval of the best option unless the automation limits allow it."""

    step: Literal["approve"]
    expires_hours: float | None = Field(
        None, gt=0, description="Override the approval rule's expiry (business hours)."
    )


class ActStep(_Strict):
    """Send the approved (or automatic) option's action through the outbox."""

    step: Literal["act"]


class WaitStep(_Strict):
    """Wait for the case's detectors to clear it, with a timeout.

    A confirming event (``events``) is recorded and ends a pause of the SLA clock; at the
    timeout, if the case is still open, the steps after the wait run and then a person
    takes over."""

    step: Literal["wait"]
    events: list[str] = Field(
        default_factory=list,
        description="Event types that confirm the action (about the case's subject).",
    )
    timeout_hours: float = Field(24, gt=0, description="Business hours before escalating.")
    outside_party: Literal["customer", "supplier", "carrier"] | None = Field(
        None, description="The SLA clock pauses while waiting on this party."
    )
    retry: int = Field(
        0,
        ge=0,
        le=5,
        description="At a timeout, go back to the `recommend` step (options computed afresh "
        "from what is known by then) this many times before a person takes over.",
    )


class NotifyStep(_Strict):
    """Tell people: the owner team, a role, the customer or a fixed address."""

    step: Literal["notify"]
    to: str = Field(description="`team`, `role:<name>`, `customer` or an address.")
    channel: Literal["email", "webhook"] = "email"
    template: str = Field("case", description="Message template: case, escalation, action.")


class EscalateStep(_Strict):
    """Move the case one rung up the escalation ladder."""

    step: Literal["escalate"]
    reason: str = "playbook"


class CloseStep(_Strict):
    """Close the case as resolved outright: only for problems no detector clears (a
    policy rule without ``resolve_on``); otherwise the detectors decide."""

    step: Literal["close"]


Step = Annotated[
    GatherStep
    | RecommendStep
    | ApproveStep
    | ActStep
    | WaitStep
    | NotifyStep
    | EscalateStep
    | CloseStep,
    Field(discriminator="step"),
]


class Playbook(_Strict):
    """The ordered steps for one case type."""

    description: str = ""
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _act_after_recommend(self) -> Playbook:
        kinds = [s.step for s in self.steps]
        if "act" in kinds and (
            "recommend" not in kinds or kinds.index("recommend") > kinds.index("act")
        ):
            raise ValueError("an `act` step needs a `recommend` step before it")
        if "approve" in kinds and "act" not in kinds[kinds.index("approve") :]:
            raise ValueError("an `approve` step needs an `act` step after it")
        return self

    def _approve_needs_act(self, kinds: list[str]) -> Playbook:
        if "approve" in kinds:
            raise ValueError("an `approve` step needs an `act` step after it")
        return self


# --- automation and approvals ----------------------------------------------------


class AutomationRule(_Strict):
    """Actions that may run without a human, within limits. All conditions must hold."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    case_types: list[str] = Field(min_length=1)
    actions: list[str] = Field(min_length=1, description="Action kinds this rule allows.")
    max_amount: float | None = Field(None, ge=0, description="Money at stake at most this.")
    tiers: list[str] | None = Field(None, description="Only for these customer tiers.")
    min_confidence: float = Field(0.8, ge=0, le=1)
    below_margin_floor: bool = Field(
        False, description="Also when the action leaves a margin under the floor."
    )


class Automation(_Strict):
    enabled: bool = Field(True, description="False: every action waits for a human.")
    rules: list[AutomationRule] = Field(default_factory=list)


class ApprovalRule(_Strict):
    """Who must approve an action. The first matching rule applies (ordered)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    actions: list[str] = Field(min_length=1, description="Action kinds, or `*`.")
    case_types: list[str] | None = Field(None, description="Only for these case types.")
    min_amount: float = Field(0, ge=0, description="Applies from this money at stake on.")
    below_margin_floor: bool = Field(
        False, description="Applies only when the action leaves the margin under the floor."
    )
    role: str = Field(description="The role an approver must hold.")
    expires_hours: float = Field(8, gt=0, description="Business hours before it lapses.")


class Escalation(_Strict):
    """The ladder a case climbs when its SLA or an approval deadline passes."""

    ladder: list[str] = Field(
        default_factory=lambda: ["agent", "team_lead", "ops_manager", "director"],
        min_length=1,
        description="Roles from the first responder up.",
    )
    at_sla_fraction: list[float] = Field(
        default_factory=lambda: [0.75, 1.0, 1.5],
        description="Climb one rung when this share of the SLA has been used.",
    )
    on_approval_expiry: bool = True


# --- connectors --------------------------------------------------------------------


class WebhookConnector(_Strict):
    kind: Literal["webhook"]
    url: str
    secret_env: str | None = Field(
        None, description="Environment variable holding the HMAC-SHA256 secret."
    )
    timeout_s: float = Field(10, gt=0)
    max_attempts: int = Field(6, ge=1)
    backoff_s: float = Field(2, gt=0, description="First retry delay; doubles each attempt.")
    max_backoff_s: float = Field(600, gt=0)


class SmtpConnector(_Strict):
    kind: Literal["smtp"]
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "unsnag@localhost"
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    timeout_s: float = Field(10, gt=0)
    max_attempts: int = Field(4, ge=1)
    backoff_s: float = Field(5, gt=0)
    max_backoff_s: float = Field(600, gt=0)


class TwinConnector(_Strict):
    """The simulated distributor (unsnag twin), in the same process."""

    kind: Literal["twin"]
    max_attempts: int = Field(3, ge=1)
    backoff_s: float = Field(60, gt=0)
    max_backoff_s: float = Field(600, gt=0)


class LogConnector(_Strict):
    """Records the action and reports it delivered: for dry runs and the demo."""

    kind: Literal["log"]
    max_attempts: int = 1
    backoff_s: float = 1
    max_backoff_s: float = 1


Connector = Annotated[
    WebhookConnector | SmtpConnector | TwinConnector | LogConnector,
    Field(discriminator="kind"),
]


def _log_only() -> dict[str, Connector]:
    return {"log": LogConnector(kind="log")}


class Resolution(_Strict):
    """Everything about resolving cases, one section of the policy."""

    calendars: dict[str, CalendarCfg] = Field(
        default_factory=lambda: {"default": CalendarCfg(always=True)},
        description="Named working calendars; `default` is required.",
    )
    team_calendars: dict[str, str] = Field(
        default_factory=dict, description="Team -> calendar name (default: `default`)."
    )
    roles: dict[str, str] = Field(default_factory=dict, description="Role name -> what it may do.")
    playbooks: dict[str, Playbook] = Field(
        default_factory=dict, description="Case type -> its playbook."
    )
    automation: Automation = Automation()
    approvals: list[ApprovalRule] = Field(default_factory=list)
    default_approver_role: str = Field(
        "team_lead", description="Role that approves actions no approval rule names."
    )
    escalation: Escalation = Escalation()
    connectors: dict[str, Connector] = Field(
        default_factory=lambda: _log_only(),
        description="Named outbound connectors.",
    )
    recipients: dict[str, str] = Field(
        default_factory=dict,
        description="Who `notify` reaches: `team:<name>`, `role:<name>` -> e-mail or URL.",
    )
    routes: dict[str, str] = Field(
        default_factory=dict,
        description="Action kind (or `notify`) -> connector name; `*` for the rest.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Resolution:
        if "default" not in self.calendars:
            raise ValueError("calendars: a `default` calendar is required")
        for team, name in self.team_calendars.items():
            if name not in self.calendars:
                raise ValueError(f"team_calendars.{team}: no calendar named {name!r}")
        for kind, name in self.routes.items():
            if name not in self.connectors:
                raise ValueError(f"routes.{kind}: no connector named {name!r}")
        roles = set(self.roles) | set(self.escalation.ladder)
        for rule in self.approvals:
            if self.roles and rule.role not in roles:
                raise ValueError(f"approvals.{rule.id}.role: unknown role {rule.role!r}")
        return self

    def calendar_of(self, team: str) -> str:
        return self.team_calendars.get(team, "default")

    def connector_for(self, kind: str) -> str:
        return self.routes.get(kind) or self.routes.get("*") or next(iter(self.connectors))
