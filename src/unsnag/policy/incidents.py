"""Incident rules: which cases share one cause and are worked as one incident.

One carrier outage makes many shipment cases on one lane in one day; one SKU short at one
DC makes a shortage per order line; one failing interface, one customer's credit block.
An incident rule says which case types it looks at, which fields must be equal for cases
to share a cause (``group_by``), how long one incident may last (``window_hours``,
counted from its first case) and how many cases make an incident (``min_cases``). Rules
apply in policy order and a case joins at most one incident: the first rule that groups
it. ``unsnag.intel.incidents`` applies them; docs/kpis.md explains the grouping.
"""

from __future__ import annotations

import string
from typing import Annotated

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)

from unsnag.cases.taxonomy import CASE_TYPES

GROUPABLE: dict[str, str] = {
    "type": "the case type",
    "team": "the owner team",
    "customer_id": "the customer",
    "tier": "the customer's tier",
    "order_id": "the order",
    "sku": "the SKU",
    "node_id": "the node (DC) of the case",
    "carrier": "the carrier of the case's shipment",
    "lane": "the node a carrier case ships from (its order's shipping DC)",
    "ship_to_region": "the region the order ships to",
    "endpoint": "the integration endpoint",
    "channel": "the order's channel",
    "source": "the system that reported the triggering event",
    "root_cause": "the root cause the detector recorded",
}
"""Case fields an incident rule may group by (columns of ``unsnag.intel.frames``)."""

TITLE_FIELDS: dict[str, str] = {
    "rule": "the rule id",
    "start": "the first case's opening, YYYY-MM-DD HH:MM UTC",
    "day": "the first case's day, YYYY-MM-DD",
    "cases": "the number of cases",
}
"""Placeholders a title may use besides the rule's ``group_by`` fields."""


class IncidentRule(BaseModel):
    """Cases of ``case_types`` equal on every ``group_by`` field, opened within
    ``window_hours`` of the first of them, are one incident when there are at least
    ``min_cases`` of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable id of the rule.")
    description: str = ""
    case_types: list[str] = Field(min_length=1, description="Case types the rule groups.")
    group_by: list[str] = Field(
        min_length=1, description=f"Fields that must be equal: {', '.join(GROUPABLE)}."
    )
    window_hours: float = Field(
        24, gt=0, description="An incident spans this long from its first case."
    )
    min_cases: int = Field(2, ge=2, description="Fewer cases than this are no incident.")
    title: str = Field(
        description="Python format string over the group_by fields and "
        f"{', '.join(TITLE_FIELDS)}, e.g. '{{carrier}} trouble on lane {{lane}}, {{day}}'."
    )
    enabled: bool = True

    @field_validator("case_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CASE_TYPES))
        if unknown:
            raise ValueError(f"unknown case type(s) {unknown}")
        return value

    @field_validator("group_by")
    @classmethod
    def _groupable(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in GROUPABLE]
        if unknown:
            raise ValueError(f"cannot group by {unknown}; fields are {list(GROUPABLE)}")
        if len(set(value)) != len(value):
            raise ValueError("a field is named twice")
        return value

    @field_validator("title")
    @classmethod
    def _title_fields(cls, value: str, info: ValidationInfo) -> str:
        allowed = set(info.data.get("group_by") or GROUPABLE) | set(TITLE_FIELDS)
        try:
            names = {field for _, field, _, _ in string.Formatter().parse(value) if field}
        except ValueError as exc:
            raise ValueError(f"bad title template: {exc}") from None
        unknown = sorted(names - allowed)
        if unknown:
            raise ValueError(f"title names {unknown}, which the rule does not group by")
        return value


def _unique_ids(rules: list[IncidentRule]) -> list[IncidentRule]:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ValueError(f"incident rule id {rule.id!r} is used twice")
        seen.add(rule.id)
    return rules


IncidentRules = Annotated[list[IncidentRule], AfterValidator(_unique_ids)]
"""The ``incidents:`` section of a policy: rules in the order they apply."""

DEFAULT_INCIDENTS_YAML = """\
incidents:
  - id: carrier-lane
    description: one carrier failing on one lane (origin DC) within a day
    case_types: [shipment.delay, shipment.failed]
    group_by: [carrier, lane]
    window_hours: 24
    min_cases: 10
    title: "{carrier} on lane {lane}: {cases} late or failed shipments from {start}"
  - id: sku-short-at-dc
    description: one SKU short at one DC (allocation shortages, conflicts, short picks)
    case_types: [allocation.shortage, allocation.conflict, pick.short]
    group_by: [sku, node_id]
    window_hours: 72
    min_cases: 2
    title: "{sku} short at {node_id} from {day} ({cases} cases)"
  - id: failing-endpoint
    description: one integration endpoint failing again and again
    case_types: [integration.failure]
    group_by: [endpoint]
    window_hours: 24
    min_cases: 2
    title: "{endpoint} failing from {start} ({cases} cases)"
  - id: customer-credit-block
    description: one customer's orders blocked by credit
    case_types: [credit.hold]
    group_by: [customer_id]
    window_hours: 72
    min_cases: 2
    title: "credit block on {customer_id} from {day} ({cases} orders)"
"""
"""The shipped rules, as they appear under ``incidents:`` in the default policy."""


def default_incident_rules() -> list[IncidentRule]:
    """The shipped rules (``DEFAULT_INCIDENTS_YAML``), validated."""
    loaded = yaml.safe_load(DEFAULT_INCIDENTS_YAML)["incidents"]
    return TypeAdapter(IncidentRules).validate_python(loaded)
