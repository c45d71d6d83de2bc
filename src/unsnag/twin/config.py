"""The business the twin simulates, as a Pydantic model with sensible defaults.

Every field has a default, so ``TwinConfig()`` is a mid-sized industrial distributor;
``load_config(path)`` reads a YAML file whose keys override the defaults.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from unsnag.errors import ContractViolation, NotFound

FAULT_KINDS: dict[str, str] = {
    "pick_short": "pick.short",
    "edi_retry_duplicate": "order.duplicate",
    "contract_price_mismatch": "pricing.mismatch",
    "credit_hold": "credit.hold",
    "late_delivery": "shipment.delay",
    "delivery_discrepancy": "delivery.discrepancy",
    "short_payment": "cash.unapplied",
    "integration_failure": "integration.failure",
    "stale_erp_inventory": "inventory.mismatch",
    "invalid_master_data": "master_data.invalid",
    "carrier_rejected": "shipment.failed",
    "asn_discrepancy": "asn.discrepancy",
    "invoice_dispute": "invoice.hold",
    "late_payment": "payment.overdue",
    "return_request": "return.pending",
    "return_credit_late": "return.pending",
    "carrier_outage": "integration.failure",
    "failed_delivery": "shipment.failed",
    "unreadable_remittance": "cash.unapplied",
    "demand_spike": "allocation.conflict",
    "demand_surge": "allocation.conflict",
}
"""Fault kinds the twin injects, with the case type each should open."""

NATURAL_FAULTS: dict[str, str] = {
    "stockout": "allocation.shortage",
    "contested_stock": "allocation.conflict",
    "return_authorisation": "return.pending",
}
"""Exceptions the simulated business produces by itself (recorded in the truth too)."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Model):
    """Seconds between ``min`` and ``max`` (uniform)."""

    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.max < self.min:
            raise ValueError("max must be >= min")
        return self


class DC(Model):
    id: str
    region: str


class Carrier(Model):
    id: str
    service: str
    transit_days: int = Field(ge=0, description="Days in transit within the DC's region.")
    extra_days_other_region: int = Field(1, ge=0)
    weight: float = Field(1.0, gt=0)


class LogNormal(Model):
    mu: float
    sigma: float = Field(ge=0)
    max: int = Field(ge=1)


class FaultRates(Model):
    """Per-order probabilities, except ``integration_failure``, ``carrier_outage``,
    ``stale_erp_inventory``, ``demand_spike`` and ``demand_surge`` (expected occurrences
    per simulated day)
    and ``asn_discrepancy`` (per purchase order)."""

    pick_short: float = Field(0.01, ge=0, le=1)
    edi_retry_duplicate: float = Field(0.01, ge=0, le=1)
    contract_price_mismatch: float = Field(0.01, ge=0, le=1)
    credit_hold: float = Field(0.01, ge=0, le=1)
    late_delivery: float = Field(0.01, ge=0, le=1)
    delivery_discrepancy: float = Field(0.01, ge=0, le=1)
    short_payment: float = Field(0.01, ge=0, le=1)
    integration_failure: float = Field(1.0, ge=0)
    stale_erp_inventory: float = Field(2.0, ge=0)
    invalid_master_data: float = Field(0.005, ge=0, le=1)
    carrier_rejected: float = Field(0.005, ge=0, le=1)
    asn_discrepancy: float = Field(0.02, ge=0, le=1)
    invoice_dispute: float = Field(0.005, ge=0, le=1)
    late_payment: float = Field(0.01, ge=0, le=1)
    return_request: float = Field(0.005, ge=0, le=1)
    return_credit_late: float = Field(0.002, ge=0, le=1)
    carrier_outage: float = Field(0.3, ge=0)
    failed_delivery: float = Field(0.005, ge=0, le=1)
    unreadable_remittance: float = Field(0.005, ge=0, le=1)
    demand_spike: float = Field(0.2, ge=0)
    demand_surge: float = Field(
        0.0,
        ge=0,
        description="Surges per day over a product family (a top SKU and its listed "
        "substitutes) at 2 to all-but-one DCs: 5-9 orders per DC of mixed tiers and regions, "
        "3-5 times the family's free stock there, ship-complete customers ordering several "
        "SKUs of it, each order with its customer's terms (off by default).",
    )


class Returns(Model):
    """Returns of delivered goods (RMA → receipt at the DC → credit memo)."""

    rate: float = Field(0.02, ge=0, le=1, description="Share of delivered orders returned.")
    after_discrepancy: float = Field(
        0.5, ge=0, le=1, description="Share of damaged deliveries whose goods come back."
    )
    unwanted_share: float = Field(
        0.85, ge=0, le=1, description="Routine returns' share of reason unwanted."
    )
    auto_authorise_max_value: float = Field(
        500, ge=0, description="Returns up to this value (all unwanted) need no authorisation."
    )
    credit_within_hours: int = Field(72, ge=1, description="The policy's credit deadline.")


def _default_latency() -> dict[str, Range]:
    return {
        "erp": Range(min=1, max=30),
        "wms": Range(min=5, max=120),
        "tms": Range(min=10, max=300),
        "carrier": Range(min=60, max=1800),
        "finance": Range(min=60, max=3600),
        "edi": Range(min=30, max=600),
        "crm": Range(min=1, max=60),
        "portal": Range(min=1, max=10),
        "ecommerce": Range(min=1, max=10),
        "supplier": Range(min=60, max=1200),
    }


class TwinConfig(Model):
    start: datetime = datetime(2026, 5, 4, tzinfo=UTC)
    customers: int = Field(200, ge=1)
    skus: int = Field(1000, ge=4)
    tier_mix: dict[str, float] = {"strategic": 0.05, "gold": 0.15, "silver": 0.3, "standard": 0.5}
    credit_limits: dict[str, int] = {
        "strategic": 2_000_000,
        "gold": 500_000,
        "silver": 100_000,
        "standard": 25_000,
    }
    terms_days: dict[str, int] = {"strategic": 60, "gold": 45, "silver": 30, "standard": 30}
    contract_share: float = Field(0.2, ge=0, le=1, description="Customer × top-SKU pairs.")
    dcs: list[DC] = [
        DC(id="dc-east", region="east"),
        DC(id="dc-west", region="west"),
        DC(id="dc-central", region="central"),
        DC(id="dc-south", region="south"),
    ]
    carriers: list[Carrier] = [
        Carrier(id="ups", service="ground", transit_days=2, weight=3),
        Carrier(id="fedex", service="2day", transit_days=1, extra_days_other_region=0),
        Carrier(id="xpo", service="ltl", transit_days=2, extra_days_other_region=2, weight=2),
        Carrier(id="odfl", service="ltl", transit_days=2, extra_days_other_region=2),
    ]
    channel_mix: dict[str, float] = {
        "edi": 0.35,
        "portal": 0.25,
        "ecommerce": 0.15,
        "inside_sales": 0.25,
    }
    weekday_weights: list[float] = Field(
        [1.15, 1.1, 1.1, 1.05, 1.0, 0.35, 0.25], min_length=7, max_length=7
    )
    """Monday first; normalised so a week averages ``orders_per_day``."""
    hour_weights: list[float] = Field(
        [
            0.2,
            0.1,
            0.1,
            0.1,
            0.2,
            0.5,
            1,
            2,
            4,
            6,
            6.5,
            6,
            5,
            5.5,
            6,
            5.5,
            4.5,
            3,
            2,
            1.5,
            1.2,
            1,
            0.6,
            0.4,
        ],
        min_length=24,
        max_length=24,
    )
    line_count: LogNormal = LogNormal(mu=1.1, sigma=0.8, max=40)
    quantity: LogNormal = LogNormal(mu=1.7, sigma=0.9, max=50)
    latency: dict[str, Range] = Field(default_factory=_default_latency)
    """How long each source system takes to report what happened (seconds)."""
    stock_cover_days: float = Field(30, gt=0)
    reorder_point_days: float = Field(10, ge=0)
    order_up_to_days: float = Field(30, gt=0)
    supplier_lead_days: Range = Range(min=4, max=7)
    nightly_counts_per_dc: int = Field(25, ge=0)
    faults: FaultRates = FaultRates()
    returns: Returns = Returns()

    @model_validator(mode="after")
    def _mixes(self) -> TwinConfig:
        for name in ("tier_mix", "channel_mix"):
            mix: dict[str, float] = getattr(self, name)
            if not mix or sum(mix.values()) <= 0:
                raise ValueError(f"{name} needs a positive weight")
        if not self.carriers or not self.dcs:
            raise ValueError("at least one DC and one carrier")
        return self


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> TwinConfig:
    """The default business, with a YAML file's keys (and ``overrides``) on top."""
    data: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise NotFound(f"{path}: no such file (twin config)")
        loaded = yaml.safe_load(path.read_text("utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ContractViolation(f"{path}: a twin config must be a YAML mapping")
        data.update(loaded)
    data.update(overrides or {})
    try:
        return TwinConfig.model_validate(data)
    except ValidationError as exc:
        raise ContractViolation(f"twin config: {exc}") from None
