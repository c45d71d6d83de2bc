"""Typed payloads for every event type of the catalog (../shared/docs/EVENTS.md).

Each model lists the fields the contract names; required ones have no default. Fields
the contract does not list are allowed and kept (``extra="allow"``). ``CATALOG`` maps an
event ``type`` to its payload model; a type absent from it is stored and passed to
policy rules with its data as a plain dict.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from unsnag.events.types import Id, Instant, Money, Number, Quantity, StartInstant, Text

Tier = Literal["strategic", "gold", "silver", "standard"]
Channel = Literal["edi", "portal", "ecommerce", "inside_sales", "marketplace"]
HoldCode = Literal["credit", "pricing", "compliance", "master_data", "manual"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)


# --- master data -------------------------------------------------------------------


class CustomerUpserted(Payload):
    customer_id: Id
    name: Text | None = None
    tier: Tier
    credit_limit: Money | None = None
    terms_days: Number | None = None
    region: Text | None = None
    segment: Text | None = None


class ProductUpserted(Payload):
    sku: Id
    description: Text | None = None
    family: Text | None = None
    unit_cost: Money | None = None
    list_price: Money | None = None
    substitutes: list[Id] = Field(default_factory=list)


class PriceAgreed(Payload):
    customer_id: Id
    sku: Id
    unit_price: Money
    valid_from: StartInstant | None = None
    valid_to: Instant | None = None


class NodeUpserted(Payload):
    node_id: Id
    name: Text | None = None
    kind: Literal["dc", "store", "supplier"] | None = None
    region: Text | None = None


# --- orders and fulfilment ---------------------------------------------------------


class Address(Payload):
    name: Text | None = None
    line1: Text | None = None
    city: Text | None = None
    region: Text | None = None
    postal_code: Text | None = None
    country: Text | None = None


class OrderLine(Payload):
    line_id: Id
    sku: Id
    qty: Quantity
    unit_price: Money


class OrderCreated(Payload):
    order_id: Id
    customer_id: Id
    channel: Channel | None = None
    po_number: Text | None = None
    currency: Text | None = None
    promised_ship_date: Instant | None = None
    requested_delivery_date: Instant | None = None
    ship_to: Address | None = None
    lines: list[OrderLine] = Field(min_length=1)


class OrderUpdated(Payload):
    order_id: Id
    customer_id: Id | None = None
    channel: Channel | None = None
    po_number: Text | None = None
    currency: Text | None = None
    promised_ship_date: Instant | None = None
    requested_delivery_date: Instant | None = None
    ship_to: Address | None = None
    lines: list[OrderLine] | None = None


class OrderCancelled(Payload):
    order_id: Id
    reason: Text | None = None


class OrderHeld(Payload):
    order_id: Id
    hold_code: HoldCode | None = None
    reason: Text | None = None


class OrderReleased(OrderHeld):
    pass


class OrderValidationFailed(Payload):
    order_id: Id
    check: Literal["address", "tax", "master_data", "pricing"]
    reason: Text | None = None


class InventorySnapshot(Payload):
    node_id: Id
    sku: Id
    on_hand: Number
    allocated: Number | None = None
    available: Number | None = None


class InventoryAdjusted(Payload):
    node_id: Id
    sku: Id
    delta: Number
    reason: Text | None = None


class AllocationReserved(Payload):
    order_id: Id
    line_id: Id
    node_id: Id
    qty: Quantity
    sku: Id | None = None


class AllocationFailed(Payload):
    order_id: Id
    line_id: Id
    qty_requested: Quantity | None = None
    qty_available: Quantity | None = None
    node_id: Id | None = None
    sku: Id | None = None
    reason: Text | None = None


class PickConfirmed(Payload):
    order_id: Id
    line_id: Id
    node_id: Id
    qty_picked: Quantity
    sku: Id | None = None


class PickShort(Payload):
    order_id: Id
    line_id: Id
    node_id: Id
    sku: Id | None = None
    qty_picked: Quantity
    qty_short: Quantity


class ShipmentLine(Payload):
    line_id: Id
    qty: Quantity | None = None


class ShipmentCreated(Payload):
    shipment_id: Id
    order_id: Id
    node_id: Id | None = None
    carrier: Text | None = None
    service: Text | None = None
    lines: list[ShipmentLine] = Field(default_factory=list)
    promised_delivery_date: Instant | None = None


class ShipmentDispatched(Payload):
    shipment_id: Id
    tracking_number: Text | None = None
    eta: Instant | None = None


class ShipmentDelayed(Payload):
    shipment_id: Id
    eta: Instant
    reason: Text | None = None


class Discrepancy(Payload):
    line_id: Id | None = None
    kind: Literal["damaged", "short", "wrong_item"]
    qty: Quantity | None = None


class ShipmentDelivered(Payload):
    shipment_id: Id
    delivered_at: Instant | None = None
    pod: Text | None = None
    discrepancies: list[Discrepancy] = Field(default_factory=list)


class ShipmentFailed(Payload):
    shipment_id: Id
    reason: Text | None = None


class CarrierRejected(Payload):
    order_id: Id | None = None
    shipment_id: Id | None = None
    carrier: Text | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _needs_a_key(self) -> CarrierRejected:
        if self.order_id is None and self.shipment_id is None:
            raise ValueError("needs order_id or shipment_id")
        return self


class SkuQty(Payload):
    sku: Id
    qty: Quantity


class AsnReceived(Payload):
    asn_id: Id
    po_number: Id | None = None
    shipment_id: Id | None = None
    ship_date: Instant | None = None
    lines: list[SkuQty] = Field(min_length=1)


# --- replenishment -----------------------------------------------------------------


class PurchaseOrderCreated(Payload):
    po_id: Id
    supplier_id: Id | None = None
    node_id: Id
    lines: list[SkuQty] = Field(default_factory=list)
    eta: Instant | None = None


class PurchaseOrderDelayed(Payload):
    po_id: Id
    eta: Instant
    reason: Text | None = None


class ReceiptPosted(Payload):
    po_id: Id
    node_id: Id
    lines: list[SkuQty] = Field(default_factory=list)


# --- billing, cash and returns -----------------------------------------------------


class InvoiceLine(Payload):
    line_id: Id | None = None
    qty: Quantity | None = None
    unit_price: Money | None = None


class InvoiceIssued(Payload):
    invoice_id: Id
    order_id: Id
    customer_id: Id
    amount: Money
    due_date: Instant | None = None
    lines: list[InvoiceLine] = Field(default_factory=list)


class InvoiceDisputed(Payload):
    invoice_id: Id
    reason: Text | None = None
    amount_disputed: Money | None = None


class Deduction(Payload):
    amount: Money
    reason: Text | None = None


class RemittanceReceived(Payload):
    remittance_id: Id
    customer_id: Id | None = None
    amount: Money
    references: Text | list[Id] | None = None
    deductions: list[Deduction] = Field(default_factory=list)


class PaymentApplied(Payload):
    invoice_id: Id
    amount: Money
    remittance_id: Id | None = None


class ReturnLine(Payload):
    line_id: Id | None = None
    sku: Id | None = None
    qty: Quantity
    reason: Literal["damaged", "short", "wrong_item", "unwanted"] | None = None


class ReturnRequested(Payload):
    rma_id: Id
    order_id: Id
    lines: list[ReturnLine] = Field(default_factory=list)


class ReturnReceivedLine(Payload):
    sku: Id | None = None
    qty: Quantity
    condition: Text | None = None


class ReturnReceived(Payload):
    rma_id: Id
    node_id: Id | None = None
    lines: list[ReturnReceivedLine] = Field(default_factory=list)


class CreditHold(Payload):
    customer_id: Id
    order_id: Id | None = None
    reason: Text | None = None
    exposure: Money | None = None


class CreditMemoIssued(Payload):
    memo_id: Id
    invoice_id: Id | None = None
    amount: Money | None = None
    reason: Text | None = None


# --- integration health ------------------------------------------------------------


class IntegrationFailed(Payload):
    endpoint: Id
    operation: Text | None = None
    error: Text | None = None
    attempt: Number | None = None
    payload_ref: Text | None = None


class IntegrationRecovered(Payload):
    endpoint: Id


CATALOG: dict[str, type[Payload]] = {
    "customer.upserted": CustomerUpserted,
    "product.upserted": ProductUpserted,
    "price.agreed": PriceAgreed,
    "node.upserted": NodeUpserted,
    "order.created": OrderCreated,
    "order.updated": OrderUpdated,
    "order.cancelled": OrderCancelled,
    "order.held": OrderHeld,
    "order.released": OrderReleased,
    "order.validation_failed": OrderValidationFailed,
    "inventory.snapshot": InventorySnapshot,
    "inventory.adjusted": InventoryAdjusted,
    "allocation.reserved": AllocationReserved,
    "allocation.failed": AllocationFailed,
    "pick.confirmed": PickConfirmed,
    "pick.short": PickShort,
    "shipment.created": ShipmentCreated,
    "shipment.dispatched": ShipmentDispatched,
    "shipment.delayed": ShipmentDelayed,
    "shipment.delivered": ShipmentDelivered,
    "shipment.failed": ShipmentFailed,
    "carrier.rejected": CarrierRejected,
    "asn.received": AsnReceived,
    "purchase_order.created": PurchaseOrderCreated,
    "purchase_order.delayed": PurchaseOrderDelayed,
    "receipt.posted": ReceiptPosted,
    "invoice.issued": InvoiceIssued,
    "invoice.disputed": InvoiceDisputed,
    "remittance.received": RemittanceReceived,
    "payment.applied": PaymentApplied,
    "return.requested": ReturnRequested,
    "return.received": ReturnReceived,
    "credit.hold_applied": CreditHold,
    "credit.hold_released": CreditHold,
    "credit_memo.issued": CreditMemoIssued,
    "integration.failed": IntegrationFailed,
    "integration.recovered": IntegrationRecovered,
}

SOURCE_SYSTEMS = frozenset(
    {"erp", "wms", "tms", "edi", "carrier", "finance", "crm", "portal", "ecommerce", "supplier"}
)
