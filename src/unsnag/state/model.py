"""Operational state projected from events: plain, mutable, slotted records.

The state is what the systems have said, kept apart per system where they can disagree
(stock has an ERP view and a WMS view per node and SKU). Times are event times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Customer:
    customer_id: str
    tier: str = "standard"
    name: str | None = None
    credit_limit: float | None = None
    terms_days: float | None = None
    region: str | None = None
    segment: str | None = None
    open_order_value: float = 0.0

    def to_cel(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "customer_id": self.customer_id,
            "tier": self.tier,
            "open_order_value": self.open_order_value,
        }
        for name in ("name", "credit_limit", "terms_days", "region", "segment"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(slots=True)
class Product:
    sku: str
    family: str | None = None
    unit_cost: float | None = None
    list_price: float | None = None
    substitutes: tuple[str, ...] = ()


@dataclass(slots=True)
class ContractPrice:
    unit_price: float
    valid_from: datetime | None
    valid_to: datetime | None

    def valid_at(self, when: datetime) -> bool:
        if self.valid_from is not None and when < self.valid_from:
            return False
        return self.valid_to is None or when <= self.valid_to


@dataclass(slots=True)
class Line:
    line_id: str
    sku: str
    qty: float
    unit_price: float
    node_id: str | None = None
    reserved: float = 0.0
    picked: float = 0.0
    short: float = 0.0
    shipped: float = 0.0

    @property
    def value(self) -> float:
        return self.qty * self.unit_price


@dataclass(slots=True)
class Order:
    order_id: str
    customer_id: str
    created_at: datetime
    lines: dict[str, Line]
    channel: str | None = None
    po_number: str | None = None
    currency: str | None = None
    promised_ship_date: datetime | None = None
    requested_delivery_date: datetime | None = None
    ship_to: dict[str, Any] | None = None
    status: str = "open"
    holds: dict[str, datetime] = field(default_factory=dict)
    picking_started_at: datetime | None = None
    shipment_ids: list[str] = field(default_factory=list)
    invoice_ids: list[str] = field(default_factory=list)
    cancelled_at: datetime | None = None
    ship_complete: bool = False
    """The customer takes the order only complete (``order.created`` ``ship_complete``)."""
    substitution: str | None = None
    """``allowed`` or ``refused`` (``order.created`` ``substitution``); None: not said."""

    @property
    def value(self) -> float:
        return sum(line.value for line in self.lines.values())

    @property
    def promise(self) -> datetime | None:
        return self.promised_ship_date or self.requested_delivery_date

    def to_cel(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "status": self.status,
            "value": self.value,
            "line_count": len(self.lines),
            "holds": sorted(self.holds),
            "picking_started": self.picking_started_at is not None,
            "lines": [
                {"line_id": ln.line_id, "sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price}
                for ln in self.lines.values()
            ],
        }
        for name in ("channel", "po_number", "currency"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.ship_to is not None:
            out["ship_to"] = self.ship_to
        return out


@dataclass(slots=True)
class StockView:
    """One system's view of one node+SKU."""

    on_hand: float
    allocated: float | None
    available: float | None
    as_of: datetime

    def to_cel(self) -> dict[str, Any]:
        out: dict[str, Any] = {"on_hand": self.on_hand}
        if self.allocated is not None:
            out["allocated"] = self.allocated
        if self.available is not None:
            out["available"] = self.available
        return out


@dataclass(slots=True)
class Shipment:
    shipment_id: str
    order_id: str
    created_at: datetime
    node_id: str | None = None
    carrier: str | None = None
    service: str | None = None
    line_qty: dict[str, float | None] = field(default_factory=dict)
    promised_delivery_date: datetime | None = None
    eta: datetime | None = None
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    status: str = "created"


@dataclass(slots=True)
class Invoice:
    invoice_id: str
    order_id: str
    customer_id: str
    amount: float
    issued_at: datetime
    due_date: datetime | None = None
    payments: list[tuple[datetime, float]] = field(default_factory=list)
    credits: list[tuple[datetime, float]] = field(default_factory=list)
    disputed_at: datetime | None = None

    def settled_by(self, when: datetime | None = None) -> float:
        """Paid plus credited, counting only what happened by ``when`` (all if None)."""
        return sum(
            amount
            for moment, amount in (*self.payments, *self.credits)
            if when is None or moment <= when
        )

    def balance(self, when: datetime | None = None) -> float:
        return self.amount - self.settled_by(when)


@dataclass(slots=True)
class Remittance:
    remittance_id: str
    customer_id: str | None
    amount: float
    references: str
    received_at: datetime
    deductions: float = 0.0
    applied: list[tuple[datetime, float]] = field(default_factory=list)

    @property
    def applied_total(self) -> float:
        return sum(amount for _, amount in self.applied)


@dataclass(slots=True)
class Return:
    rma_id: str
    order_id: str
    requested_at: datetime
    value: float = 0.0
    reasons: tuple[str, ...] = ()
    received_at: datetime | None = None
    credited_at: datetime | None = None


@dataclass(slots=True)
class PurchaseOrder:
    po_id: str
    node_id: str
    created_at: datetime
    supplier_id: str | None = None
    lines: dict[str, float] = field(default_factory=dict)
    eta: datetime | None = None
    asn_qty: dict[str, float] = field(default_factory=dict)
    asn_ids: list[str] = field(default_factory=list)
    received: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Integration:
    endpoint: str
    failing_since: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    recovered_at: datetime | None = None


@dataclass(slots=True)
class State:
    """Everything the systems have told us, keyed by business key."""

    customers: dict[str, Customer] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    contracts: dict[tuple[str, str], list[ContractPrice]] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    orders_by_po: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    recent_orders_without_po: dict[str, list[str]] = field(default_factory=dict)
    stock: dict[tuple[str, str], dict[str, StockView]] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    invoices_by_customer: dict[str, list[str]] = field(default_factory=dict)
    remittances: dict[str, Remittance] = field(default_factory=dict)
    returns: dict[str, Return] = field(default_factory=dict)
    returns_by_order: dict[str, list[str]] = field(default_factory=dict)
    purchase_orders: dict[str, PurchaseOrder] = field(default_factory=dict)
    integrations: dict[str, Integration] = field(default_factory=dict)
    # Indexes for resolution (option computers look at one SKU or node, never scan):
    nodes_by_sku: dict[str, list[str]] = field(default_factory=dict)
    """SKU -> nodes any system sent an ``inventory.snapshot`` of it for, first seen first."""
    purchase_orders_by_sku: dict[str, list[str]] = field(default_factory=dict)
    """SKU -> ids of the purchase orders with a line of it, in creation order."""
    carriers_by_node: dict[str, dict[str, int]] = field(default_factory=dict)
    """Node -> carrier -> shipments created from that node with that carrier."""
    carrier_services: dict[str, str] = field(default_factory=dict)
    """Carrier -> the service level of its latest shipment (``ground``, ``2day``...)."""
    short_orders_by_sku: dict[str, dict[str, None]] = field(default_factory=dict)
    """SKU -> orders with a line of it the ERP could not allocate (``allocation.failed``)
    and not reserved in full since, in first-failure order (a contest's demand)."""
    substituted_by: dict[str, list[str]] = field(default_factory=dict)
    """SKU -> the SKUs that list it as a substitute (the reverse of ``substitutes``)."""
    atp: dict[tuple[str, str], tuple[float, datetime]] = field(default_factory=dict)
    """(node, SKU) -> the ERP's free stock and when it said so: its snapshot's
    ``available``, reset by ``allocation.failed`` ``qty_available``, less what it reserved
    and plus what was received since (the ERP's running available-to-promise)."""

    def tier_of(self, customer_id: str | None) -> str | None:
        customer = self.customers.get(customer_id) if customer_id else None
        return customer.tier if customer else None

    def contract_price(self, customer_id: str, sku: str, when: datetime) -> float | None:
        for contract in reversed(self.contracts.get((customer_id, sku), ())):
            if contract.valid_at(when):
                return contract.unit_price
        return None

    def open_invoices_of(self, customer_id: str) -> list[Invoice]:
        invoices = (self.invoices[i] for i in self.invoices_by_customer.get(customer_id, ()))
        return [inv for inv in invoices if inv.balance() > 0.005]
