"""The policy: taxonomy routing, SLAs, priority model, detector tolerances and CEL rules.

A policy is data (YAML), validated on load by these models; ``Policy.model_json_schema()``
is the published JSON Schema editors use to autocomplete it. Every case records the
``version`` of the policy that opened it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from unsnag.cases.taxonomy import CASE_TYPES
from unsnag.policy.incidents import IncidentRules, default_incident_rules
from unsnag.policy.resolution import Resolution
from unsnag.resolve.model import ACTIONS

TIERS = ("strategic", "gold", "silver", "standard")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TypePolicy(Strict):
    """Routing and service level of one case type."""

    owner_team: str = Field(description="Team that owns cases of this type.")
    sla_hours: dict[str, float] = Field(
        description="Hours from opening to due, per customer tier; `default` for the rest.",
    )
    severity: float = Field(
        1.0, ge=0, le=2, description="Multiplier on the priority score of this type."
    )

    @field_validator("sla_hours")
    @classmethod
    def _has_default(cls, value: dict[str, float]) -> dict[str, float]:
        if "default" not in value:
            raise ValueError("needs a `default` entry")
        unknown = set(value) - {"default", *TIERS}
        if unknown:
            raise ValueError(f"unknown tier(s) {sorted(unknown)}; tiers are {list(TIERS)}")
        if any(hours <= 0 for hours in value.values()):
            raise ValueError("SLA hours must be positive")
        return value

    def sla_for(self, tier: str | None) -> float:
        return self.sla_hours.get(tier or "default", self.sla_hours["default"])


class PriorityWeights(Strict):
    revenue: float = Field(0.40, ge=0)
    tier: float = Field(0.25, ge=0)
    margin: float = Field(0.10, ge=0)
    promise: float = Field(0.25, ge=0)


class PriorityModel(Strict):
    """Priority = 100 x severity x weighted mean of four factor scores in [0, 1].

    See docs/policy.md for the formula of each factor.
    """

    weights: PriorityWeights = PriorityWeights()
    revenue_cap: float = Field(
        50_000, gt=0, description="Revenue at risk that scores 1.0 (log scale below)."
    )
    tier_scores: dict[str, float] = Field(
        default_factory=lambda: {
            "strategic": 1.0,
            "gold": 0.75,
            "silver": 0.5,
            "standard": 0.25,
            "unknown": 0.25,
        }
    )
    margin_cap: float = Field(0.5, gt=0, description="Margin ratio that scores 1.0.")
    promise_horizon_hours: float = Field(
        168, gt=0, description="Promise this far away or further scores 0; due now scores 1."
    )
    no_promise_score: float = Field(0.2, ge=0, le=1)


class Toggle(Strict):
    enabled: bool = True


class InventoryMismatchCfg(Toggle):
    abs_units: float = Field(1, ge=0, description="Gaps of at most this many units are noise.")
    pct: float = Field(0.02, ge=0, description="Gaps of at most this share of on-hand are noise.")
    max_skew_minutes: float = Field(
        120, gt=0, description="Compare ERP and WMS views only when taken this close together."
    )


class ConflictCfg(Toggle):
    min_orders: int = Field(2, ge=2, description="Distinct orders short on one node+SKU.")
    window_hours: float = Field(24, gt=0)


class PickShortCfg(Toggle):
    min_qty: float = Field(1, gt=0, description="Shorts below this quantity are ignored.")


class PricingCfg(Toggle):
    contract_tolerance_pct: float = Field(0.005, ge=0)
    contract_tolerance_abs: float = Field(0.01, ge=0)
    list_discount_max_pct: float = Field(
        0.35, ge=0, description="Without a contract, prices this far under list are allowed."
    )
    margin_floor_pct: float = Field(0.03, description="Minimum (price-cost)/price of a line.")


class CreditHoldCfg(Toggle):
    grace_minutes: float = Field(
        30, ge=0, description="Holds released within this time are routine and open no case."
    )


class DuplicateCfg(Toggle):
    window_hours: float = Field(168, gt=0, description="Look back this far for the same PO.")
    no_po_window_minutes: float = Field(
        30, ge=0, description="Same customer and lines without a PO number, this close."
    )


class ShipmentDelayCfg(Toggle):
    tolerance_hours: float = Field(0, ge=0, description="ETA may pass the promise by this much.")
    missed_promise_check: bool = Field(
        True, description="Open a case when the promised delivery passes undelivered."
    )


class DiscrepancyCfg(Toggle):
    min_qty: float = Field(1, gt=0)


class AsnCfg(Toggle):
    qty_tolerance_pct: float = Field(0.02, ge=0)
    qty_tolerance_units: float = Field(0, ge=0)


class ReturnsCfg(Toggle):
    auto_authorise_reasons: list[str] = Field(default_factory=lambda: ["unwanted"])
    auto_authorise_max_value: float = Field(500, ge=0)
    credit_within_hours: float = Field(72, gt=0)


class InvoiceHoldCfg(Toggle):
    invoice_within_hours: float = Field(48, gt=0, description="From shipment delivery.")
    balance_tolerance: float = Field(
        0.01, ge=0, description="A disputed invoice with at most this balance is settled."
    )


class CashCfg(Toggle):
    amount_tolerance: float = Field(0.01, ge=0, description="Match slack in currency units.")
    short_pay_tolerance: float = Field(1.0, ge=0, description="Short-pays up to this are noise.")
    min_reference_digits: int = Field(
        4,
        ge=1,
        description="A bare number in a remittance with fewer digits matches an invoice "
        "by its digits only when the amount matches too.",
    )


class OverdueCfg(Toggle):
    grace_days: float = Field(5, ge=0)
    balance_tolerance: float = Field(0.01, ge=0)


class IntegrationCfg(Toggle):
    min_attempts: int = Field(3, ge=1, description="Open at once from this retry attempt on.")
    open_after_minutes: float = Field(
        15, ge=0, description="Otherwise open when not recovered within this time."
    )


class Detectors(Strict):
    """Tolerances and switches of the built-in detectors, one section each."""

    inventory_mismatch: InventoryMismatchCfg = InventoryMismatchCfg()
    allocation_shortage: Toggle = Toggle()
    allocation_conflict: ConflictCfg = ConflictCfg()
    pick_short: PickShortCfg = PickShortCfg()
    pricing_mismatch: PricingCfg = PricingCfg()
    credit_hold: CreditHoldCfg = CreditHoldCfg()
    master_data_invalid: Toggle = Toggle()
    order_duplicate: DuplicateCfg = DuplicateCfg()
    shipment_delay: ShipmentDelayCfg = ShipmentDelayCfg()
    shipment_failed: Toggle = Toggle()
    delivery_discrepancy: DiscrepancyCfg = DiscrepancyCfg()
    asn_discrepancy: AsnCfg = AsnCfg()
    return_pending: ReturnsCfg = ReturnsCfg()
    invoice_hold: InvoiceHoldCfg = InvoiceHoldCfg()
    cash_unapplied: CashCfg = CashCfg()
    payment_overdue: OverdueCfg = OverdueCfg()
    integration_failure: IntegrationCfg = IntegrationCfg()


class Rule(Strict):
    """A policy rule: when the CEL expression ``when`` holds for an event, open a case.

    The expression sees ``event`` (the envelope, with ``data``), and the state the event
    touches: ``order``, ``customer``, ``stock`` (``{"erp": {...}, "wms": {...}}`` for a
    node+SKU). ``key`` is a CEL expression giving the problem key (default: the order id,
    else the event subject). ``resolve_on``/``resolve_when`` close the case again.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    events: list[str] = Field(min_length=1, description="Event types the rule reads.")
    when: str = Field(description="CEL expression; true opens (or updates) a case.")
    case_type: str
    key: str | None = Field(None, description="CEL expression for the problem key.")
    root_cause: str | None = None
    resolve_on: list[str] = Field(default_factory=list)
    resolve_when: str | None = Field(None, description="CEL; true resolves the open case.")
    enabled: bool = True

    @field_validator("case_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in CASE_TYPES:
            raise ValueError(f"unknown case type {value!r}; see the taxonomy in EVENTS.md")
        return value

    @model_validator(mode="after")
    def _resolve_pair(self) -> Rule:
        if bool(self.resolve_on) != bool(self.resolve_when):
            raise ValueError("resolve_on and resolve_when go together")
        return self


class Policy(Strict):
    """The whole policy file."""

    version: str = Field(description="Recorded on every case this policy opens.")
    name: str = "unsnag policy"
    currency: str = "USD"
    systems: list[str] = Field(
        default_factory=list, description="Source systems beyond the built-in ones."
    )
    teams: dict[str, str] = Field(description="Team name -> what it does.")
    types: dict[str, TypePolicy] = Field(description="Routing and SLA per case type.")
    priority: PriorityModel = PriorityModel()
    detectors: Detectors = Detectors()
    rules: list[Rule] = Field(default_factory=list)
    resolution: Resolution = Resolution()
    incidents: IncidentRules = Field(
        default_factory=default_incident_rules,
        description="Incident rules: which cases share one cause (docs/kpis.md).",
    )
    engine: Literal["v1"] = "v1"

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = sorted(set(CASE_TYPES) - set(self.types))
        if missing:
            raise ValueError(f"types: no routing for {missing}")
        unknown = sorted(set(self.types) - set(CASE_TYPES))
        if unknown:
            raise ValueError(f"types: unknown case types {unknown}")
        for code, cfg in self.types.items():
            if cfg.owner_team not in self.teams:
                raise ValueError(f"types.{code}.owner_team: team {cfg.owner_team!r} not in teams")
        self._check_resolution()
        ids = [rule.id for rule in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rules: duplicate rule ids {dupes}")
        return self

    def _check_resolution(self) -> None:
        res = self.resolution
        for code in res.playbooks:
            if code not in CASE_TYPES:
                raise ValueError(f"resolution.playbooks: unknown case type {code!r}")
        for team in res.team_calendars:
            if team not in self.teams:
                raise ValueError(f"resolution.team_calendars: unknown team {team!r}")
        for auto in res.automation.rules:
            _known(f"resolution.automation.{auto.id}.case_types", auto.case_types, CASE_TYPES)
            _known(f"resolution.automation.{auto.id}.actions", auto.actions, ACTIONS)
        for rule in res.approvals:
            _known(f"resolution.approvals.{rule.id}.actions", rule.actions, {*ACTIONS, "*"})
            _known(f"resolution.approvals.{rule.id}.case_types", rule.case_types or [], CASE_TYPES)


def _known(where: str, names: list[str], known: object) -> None:
    unknown = [name for name in names if name not in known]  # type: ignore[operator]
    if unknown:
        raise ValueError(f"{where}: unknown {unknown}")
