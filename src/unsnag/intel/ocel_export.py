"""Derive an OCEL 2.0 log — events, objects, qualified relations — from canonical events.

:class:`OcelBuilder` reads raw CloudEvents one at a time (from the store, a JSON Lines
file, any iterable), so an export streams: each event is handed to a writer
(:mod:`unsnag.intel.ocel_write`) as soon as it is read; only the objects, which are far
fewer, are kept until the end.

- **Events**: the OCEL event type is the canonical type (``order.created``); the
  attributes are the payload's scalar fields under their own names, lists and nested
  objects as JSON text under ``name:json`` (nothing is lost), and the envelope under
  ``ce:`` (``ce:source``, ``ce:id``, ``ce:subject``).
- **Objects** come from the business keys: ``order_id`` is an ``order``, ``sku`` a
  ``product``, an order line ``<order_id>/<line_id>`` a ``line`` (see :data:`KEY_TYPES`).
  Each event relates to them with the object type as qualifier (``order``, ``line``,
  ``shipment``...); events about a shipment, invoice or return also relate to its order.
  Defining events give objects time-stamped attributes (a customer's tier, a line's qty).
- **Object-to-object** relations are qualified by the target's role: line -> order
  ``order``, line -> product ``product``, order -> customer ``customer``, shipment ->
  order, invoice -> order, case -> order...
- **Cases** (optional) are objects of type ``case``, related to the objects in their refs,
  and to the events that opened and closed them (qualifiers ``opened case``,
  ``resolved case``).

An object id is the key as the source wrote it; should one key name objects of two
types (a node and a carrier both called ``east``), the later type's id is prefixed
(``carrier:east``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

Scalar = str | int | float | bool
SCALARS = (str, int, float, bool)  # a tuple: isinstance with a union is several times slower
OCEL_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "float", str: "string"}

KEY_TYPES: dict[str, str] = {
    "order_id": "order",
    "customer_id": "customer",
    "sku": "product",
    "node_id": "node",
    "shipment_id": "shipment",
    "invoice_id": "invoice",
    "remittance_id": "remittance",
    "rma_id": "return",
    "po_id": "purchase_order",
    "supplier_id": "supplier",
    "carrier": "carrier",
    "asn_id": "asn",
    "memo_id": "credit_memo",
    "endpoint": "endpoint",
    "case_id": "case",
}
"""Business key -> object type. A key means the same thing in every event type, except
in an ASN, whose ``po_number`` is our purchase order and whose ``shipment_id`` is the
supplier's (see :data:`KEY_OVERRIDES`)."""

KEY_OVERRIDES: dict[str, dict[str, str]] = {
    "asn.received": {
        **{k: v for k, v in KEY_TYPES.items() if k != "shipment_id"},
        "po_number": "purchase_order",
    },
}

OBJECT_ATTRIBUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "customer.upserted": ("customer_id", ("name", "tier", "credit_limit", "terms_days",
                                          "region", "segment")),
    "product.upserted": ("sku", ("description", "family", "unit_cost", "list_price")),
    "node.upserted": ("node_id", ("name", "kind", "region")),
    "order.created": ("order_id", ("channel", "currency", "po_number", "promised_ship_date",
                                   "requested_delivery_date")),
    "order.updated": ("order_id", ("channel", "currency", "po_number", "promised_ship_date",
                                   "requested_delivery_date")),
    "shipment.created": ("shipment_id", ("carrier", "service", "promised_delivery_date")),
    "shipment.dispatched": ("shipment_id", ("tracking_number", "eta")),
    "shipment.delayed": ("shipment_id", ("eta",)),
    "invoice.issued": ("invoice_id", ("amount", "due_date")),
    "purchase_order.created": ("po_id", ("eta",)),
    "purchase_order.delayed": ("po_id", ("eta",)),
    "remittance.received": ("remittance_id", ("amount",)),
    "credit_memo.issued": ("memo_id", ("amount", "reason")),
}  # fmt: skip
"""Event type -> (the key of the object it defines, the fields that become attributes)."""

STATUS: dict[str, tuple[str, str]] = {
    "order.created": ("order_id", "open"),
    "order.cancelled": ("order_id", "cancelled"),
    "shipment.created": ("shipment_id", "created"),
    "shipment.dispatched": ("shipment_id", "dispatched"),
    "shipment.delivered": ("shipment_id", "delivered"),
    "shipment.failed": ("shipment_id", "failed"),
    "invoice.issued": ("invoice_id", "issued"),
    "invoice.disputed": ("invoice_id", "disputed"),
}
"""Event type -> (key, the ``status`` attribute its object takes)."""

CASE_REFS = {name: kind for name, kind in KEY_TYPES.items() if kind != "case"}


def ocel_type(value: Any) -> str:
    """The OCEL attribute type of a Python value."""
    return OCEL_TYPES.get(type(value), "string")


def unify(old: str | None, new: str) -> str:
    """One declared type for an attribute seen with several: numbers widen to float,
    anything else mixed to string."""
    if old is None or old == new:
        return new
    if {old, new} == {"integer", "float"}:
        return "float"
    return "string"


def norm_time(text: Any) -> str:
    """An event time as RFC 3339 UTC with ``Z`` (the usual case passes untouched)."""
    if isinstance(text, str) and len(text) == 20 and text[-1] == "Z" and text[10] == "T":
        return text
    moment = datetime.fromisoformat(str(text))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat().removesuffix("+00:00") + "Z"


@dataclass(slots=True)
class Obj:
    oid: str
    type: str
    key: str
    attrs: dict[str, list[tuple[str, Scalar]]] = field(default_factory=dict)
    rel: dict[tuple[str, str], None] = field(default_factory=dict)

    def set(self, name: str, when: str, value: Scalar) -> None:
        history = self.attrs.setdefault(name, [])
        if not history or history[-1][1] != value:
            history.append((when, value))


@dataclass(slots=True)
class Record:
    """One OCEL event, ready to write."""

    id: str
    type: str
    time: str
    attrs: list[tuple[str, Scalar]]
    rel: list[tuple[str, str]]


class Relations:
    """The qualified objects of one event, without repeats."""

    __slots__ = ("objects", "pairs")

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], None] = {}
        self.objects: list[Obj] = []

    def add(self, obj: Obj, qualifier: str) -> None:
        if (obj.oid, qualifier) not in self.pairs:
            self.pairs[(obj.oid, qualifier)] = None
            self.objects.append(obj)


class OcelBuilder:
    """Turns raw canonical events into OCEL records and collects the objects."""

    def __init__(self, cases: Iterable[dict[str, Any]] | None = None) -> None:
        self.objects: dict[tuple[str, str], Obj] = {}
        self.owner: dict[str, str] = {}  # object id -> type, to catch a key used twice
        self.event_types: dict[str, dict[str, str]] = {}
        self._classes: dict[str, dict[str, type]] = {}
        self.seen: set[str] = set()
        self.duplicates = 0
        self.skipped = 0
        self.shipment_of: dict[str, tuple[str, str | None]] = {}  # -> (order, carrier)
        self.invoice_of: dict[str, tuple[str, str | None]] = {}  # -> (order, customer)
        self.return_of: dict[str, str] = {}  # rma -> order
        self.case_marks: dict[tuple[str, str, str], list[tuple[Obj, str]]] = {}
        """(object type, key, second) -> the cases opened or closed then about it."""
        self.cases: list[dict[str, Any]] = []
        for case in cases or ():
            self._register_case(case)

    # --- objects -----------------------------------------------------------------------

    def obj(self, kind: str, key: Any) -> Obj:
        """The object of type ``kind`` with business key ``key`` (created on first use)."""
        text = key if type(key) is str else str(key)
        found = self.objects.get((kind, text))
        if found is None:
            oid = text if self.owner.setdefault(text, kind) == kind else f"{kind}:{text}"
            self.owner.setdefault(oid, kind)
            found = self.objects[(kind, text)] = Obj(oid, kind, text)
        return found

    def line(self, order_id: Any, line_id: Any) -> Obj:
        line = self.obj("line", f"{order_id}/{line_id}")
        if not line.rel:
            line.rel[(self.obj("order", order_id).oid, "order")] = None
        return line

    # --- events ------------------------------------------------------------------------

    def add(self, raw: Any) -> Record | None:
        """The OCEL record of one raw CloudEvent; None for a repeat or a non-event."""
        if not isinstance(raw, dict):
            self.skipped += 1
            return None
        get = raw.get
        source, event_id, kind, when = get("source"), get("id"), get("type"), get("time")
        if not (
            source and event_id and kind and when and type(source) is str
            and type(event_id) is str and type(kind) is str and type(when) is str
        ):  # fmt: skip
            self.skipped += 1
            return None
        ocel_id = f"{source}:{event_id}"
        if ocel_id in self.seen:
            self.duplicates += 1
            return None
        self.seen.add(ocel_id)
        try:
            time = norm_time(when)
        except ValueError:
            self.skipped += 1
            return None
        data = raw.get("data")
        data = data if isinstance(data, dict) else {}
        attrs = _envelope_attrs(raw)
        rel = Relations()
        keys = KEY_OVERRIDES.get(kind, KEY_TYPES)
        for name, value in data.items():
            if value is None:
                continue
            if type(value) in OCEL_TYPES:
                attrs.append((name, value))
                target = keys.get(name)
                if target is not None and value != "":
                    rel.add(self.obj(target, value), target)
            else:
                attrs.append((f"{name}:json", orjson.dumps(value).decode()))
        self._enrich(kind, data, time, rel)
        self._mark_cases(time, rel)
        self._declare(kind, attrs)
        return Record(ocel_id, kind, time, attrs, list(rel.pairs))

    def _declare(self, kind: str, attrs: list[tuple[str, Scalar]]) -> None:
        """Track each attribute's type; the common case (same Python type as the last
        event of this type) costs one dict lookup."""
        classes = self._classes.get(kind)
        if classes is None:
            classes = self._classes[kind] = {}
            self.event_types[kind] = {}
        for name, value in attrs:
            cls = type(value)
            if classes.get(name) is not cls:
                classes[name] = cls
                declared = self.event_types[kind]
                declared[name] = unify(declared.get(name), OCEL_TYPES.get(cls, "string"))

    def _enrich(self, kind: str, data: dict[str, Any], time: str, rel: Relations) -> None:
        if "line_id" in data and "order_id" in data:
            rel.add(self.line(data["order_id"], data["line_id"]), "line")
        defines = OBJECT_ATTRIBUTES.get(kind)
        if defines is not None and data.get(defines[0]) is not None:
            target = self.obj(KEY_TYPES[defines[0]], data[defines[0]])
            for name in defines[1]:
                value = data.get(name)
                if isinstance(value, SCALARS):
                    target.set(name, time, value)
        status = STATUS.get(kind)
        if status is not None and data.get(status[0]) is not None:
            self.obj(KEY_TYPES[status[0]], data[status[0]]).set("status", time, status[1])
        handler = HANDLERS.get(kind)
        if handler is not None:
            handler(self, data, time, rel)
        else:
            self._owners(data, rel)

    def _owners(self, data: dict[str, Any], rel: Relations) -> None:
        """An event about a shipment, invoice or return also concerns its order."""
        if "order_id" in data:
            return
        shipment = self.shipment_of.get(str(data.get("shipment_id")))
        if shipment is not None:
            rel.add(self.obj("order", shipment[0]), "order")
            if shipment[1]:
                rel.add(self.obj("carrier", shipment[1]), "carrier")
        invoice = self.invoice_of.get(str(data.get("invoice_id")))
        if invoice is not None:
            rel.add(self.obj("order", invoice[0]), "order")
            if invoice[1]:
                rel.add(self.obj("customer", invoice[1]), "customer")
        order = self.return_of.get(str(data.get("rma_id")))
        if order is not None:
            rel.add(self.obj("order", order), "order")

    # --- cases -------------------------------------------------------------------------

    def _register_case(self, case: dict[str, Any]) -> None:
        case_id = case.get("id")
        if not isinstance(case_id, str):
            return
        self.cases.append(case)
        obj = self.obj("case", case_id)
        keys = _case_keys(case.get("refs") or {})
        for at, qualifier in _case_moments(case):
            for kind, key in keys:
                self.case_marks.setdefault((kind, key, at), []).append((obj, qualifier))

    def _mark_cases(self, time: str, rel: Relations) -> None:
        """Relate the event to the cases opened or closed at its time about its objects."""
        if not self.case_marks:
            return
        second = time[:19] + "Z"
        for related in list(rel.objects):
            for obj, qualifier in self.case_marks.get((related.type, related.key, second), ()):
                rel.add(obj, qualifier)

    def finish_cases(self) -> None:
        """Give case objects their attributes and relate them to what their refs name."""
        for case in self.cases:
            obj = self.obj("case", case["id"])
            opened = norm_time(case.get("opened_at") or "1970-01-01T00:00:00Z")
            for name in ("type", "rule", "owner_team", "subject", "summary", "root_cause",
                         "priority", "revenue_at_risk", "policy_version"):  # fmt: skip
                value = case.get(name)
                if isinstance(value, SCALARS):
                    obj.set(name, opened, value)
            obj.set("status", opened, "open")
            closed = case.get("closed_at")
            if closed:
                obj.set("status", norm_time(closed), str(case.get("status") or "resolved"))
            self._case_refs(obj, case.get("refs") or {})

    def _case_refs(self, obj: Obj, refs: dict[str, Any]) -> None:
        for name, kind in CASE_REFS.items():
            for value in _listed(refs.get(name)):
                obj.rel[(self.obj(kind, value).oid, kind)] = None
        orders, lines = _listed(refs.get("order_id")), _listed(refs.get("line_id"))
        if len(orders) == 1:
            for line_id in lines:
                obj.rel[(self.line(orders[0], line_id).oid, "line")] = None

    # --- the whole log -----------------------------------------------------------------

    def object_types(self) -> dict[str, dict[str, str]]:
        classes: dict[str, dict[str, set[type]]] = {}
        for obj in self.objects.values():
            seen = classes.get(obj.type)
            if seen is None:
                seen = classes[obj.type] = {}
            for name, history in obj.attrs.items():
                found = seen.get(name)
                if found is None:
                    found = seen[name] = set()
                found.update(type(value) for _, value in history)
        declared: dict[str, dict[str, str]] = {}
        for kind, names in classes.items():
            declared[kind] = {}
            for name, found in names.items():
                unified: str | None = None
                for cls in found:
                    unified = unify(unified, OCEL_TYPES.get(cls, "string"))
                declared[kind][name] = unified or "string"
        return declared


def _envelope_attrs(raw: dict[str, Any]) -> list[tuple[str, Scalar]]:
    attrs: list[tuple[str, Scalar]] = []
    for name, value in raw.items():
        if name in ("specversion", "type", "time", "data") or value is None:
            continue
        if isinstance(value, SCALARS):
            attrs.append((f"ce:{name}", value))
        else:
            attrs.append((f"ce:{name}:json", orjson.dumps(value).decode()))
    return attrs


def _case_keys(refs: dict[str, Any]) -> list[tuple[str, str]]:
    """(object type, key) of every object a case's refs name."""
    keys = [
        (kind, str(value)) for name, kind in CASE_REFS.items() for value in _listed(refs.get(name))
    ]
    orders = _listed(refs.get("order_id"))
    if len(orders) == 1:
        keys += [("line", f"{orders[0]}/{line}") for line in _listed(refs.get("line_id"))]
    return keys


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _case_moments(case: dict[str, Any]) -> list[tuple[str, str]]:
    moments: list[tuple[str, str]] = []
    for entry in case.get("timeline") or []:
        at, what = entry.get("at"), entry.get("what")
        if isinstance(at, str) and isinstance(what, str):
            moments.append((norm_time(at)[:19] + "Z", f"{what} case"))
    if not moments and isinstance(case.get("opened_at"), str):
        moments.append((norm_time(case["opened_at"])[:19] + "Z", "opened case"))
    return moments


# --- per-type relations ------------------------------------------------------------------

Handler = Callable[[OcelBuilder, dict[str, Any], str, Relations], None]


def _rows(value: Any) -> list[dict[str, Any]]:
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def _order_lines(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    order_id = d.get("order_id")
    if order_id is None:
        return
    order = b.obj("order", order_id)
    if d.get("customer_id") is not None:
        order.rel[(b.obj("customer", d["customer_id"]).oid, "customer")] = None
    for row in _rows(d.get("lines")):
        if row.get("line_id") is None:
            continue
        line = b.line(order_id, row["line_id"])
        rel.add(line, "line")
        for name in ("line_id", "sku", "qty", "unit_price"):
            if isinstance(row.get(name), SCALARS):
                line.set(name, time, row[name])
        if row.get("sku") is not None:
            product = b.obj("product", row["sku"])
            line.rel[(product.oid, "product")] = None
            rel.add(product, "product")


def _shipment_created(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    shipment_id, order_id = d.get("shipment_id"), d.get("order_id")
    if shipment_id is None or order_id is None:
        return
    carrier = d.get("carrier")
    b.shipment_of[str(shipment_id)] = (str(order_id), str(carrier) if carrier else None)
    shipment = b.obj("shipment", shipment_id)
    shipment.rel[(b.obj("order", order_id).oid, "order")] = None
    for key in ("node_id", "carrier"):
        if d.get(key) is not None:
            kind = KEY_TYPES[key]
            shipment.rel[(b.obj(kind, d[key]).oid, kind)] = None
    for row in _rows(d.get("lines")):
        if row.get("line_id") is not None:
            line = b.line(order_id, row["line_id"])
            shipment.rel[(line.oid, "line")] = None
            rel.add(line, "line")


def _shipment_lines(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    b._owners(d, rel)
    shipment = b.shipment_of.get(str(d.get("shipment_id")))
    if shipment is not None:
        for row in _rows(d.get("discrepancies")):
            if row.get("line_id") is not None:
                rel.add(b.line(shipment[0], row["line_id"]), "line")


def _invoice_issued(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    invoice_id, order_id = d.get("invoice_id"), d.get("order_id")
    if invoice_id is None or order_id is None:
        return
    customer = d.get("customer_id")
    b.invoice_of[str(invoice_id)] = (str(order_id), str(customer) if customer else None)
    invoice = b.obj("invoice", invoice_id)
    invoice.rel[(b.obj("order", order_id).oid, "order")] = None
    if customer is not None:
        invoice.rel[(b.obj("customer", customer).oid, "customer")] = None
    for row in _rows(d.get("lines")):
        if row.get("line_id") is not None:
            rel.add(b.line(order_id, row["line_id"]), "line")


def _payment(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    b._owners(d, rel)
    if d.get("remittance_id") is not None and d.get("invoice_id") is not None:
        remittance = b.obj("remittance", d["remittance_id"])
        remittance.rel[(b.obj("invoice", d["invoice_id"]).oid, "invoice")] = None


def _remittance(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    if d.get("remittance_id") is not None and d.get("customer_id") is not None:
        remittance = b.obj("remittance", d["remittance_id"])
        remittance.rel[(b.obj("customer", d["customer_id"]).oid, "customer")] = None


def _credit_memo(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    b._owners(d, rel)
    if d.get("memo_id") is not None and d.get("invoice_id") is not None:
        memo = b.obj("credit_memo", d["memo_id"])
        memo.rel[(b.obj("invoice", d["invoice_id"]).oid, "invoice")] = None


def _return_requested(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    rma_id, order_id = d.get("rma_id"), d.get("order_id")
    if rma_id is None or order_id is None:
        return
    b.return_of[str(rma_id)] = str(order_id)
    rma = b.obj("return", rma_id)
    rma.rel[(b.obj("order", order_id).oid, "order")] = None
    for row in _rows(d.get("lines")):
        if row.get("line_id") is not None:
            line = b.line(order_id, row["line_id"])
            rma.rel[(line.oid, "line")] = None
            rel.add(line, "line")
        if row.get("sku") is not None:
            rel.add(b.obj("product", row["sku"]), "product")


def _sku_lines(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    b._owners(d, rel)
    po_key = d.get("po_id") or d.get("po_number")
    po = b.obj("purchase_order", po_key) if po_key is not None else None
    for row in _rows(d.get("lines")):
        if row.get("sku") is not None:
            product = b.obj("product", row["sku"])
            rel.add(product, "product")
            if po is not None:
                po.rel[(product.oid, "product")] = None
    if po is not None:
        for key in ("node_id", "supplier_id"):
            if d.get(key) is not None:
                kind = KEY_TYPES[key]
                po.rel[(b.obj(kind, d[key]).oid, kind)] = None
        if d.get("asn_id") is not None:
            b.obj("asn", d["asn_id"]).rel[(po.oid, "purchase_order")] = None


def _product(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    if d.get("sku") is None:
        return
    product = b.obj("product", d["sku"])
    for sku in d.get("substitutes") or []:
        if isinstance(sku, (str, int)) and sku != "":
            substitute = b.obj("product", sku)
            product.rel[(substitute.oid, "substitute")] = None
            rel.add(substitute, "substitute")


def _order_owned(b: OcelBuilder, d: dict[str, Any], time: str, rel: Relations) -> None:
    """carrier.rejected may name only the shipment; return.received only the RMA."""
    b._owners(d, rel)
    for row in _rows(d.get("lines")):
        if row.get("sku") is not None:
            rel.add(b.obj("product", row["sku"]), "product")


HANDLERS: dict[str, Handler] = {
    "order.created": _order_lines,
    "order.updated": _order_lines,
    "shipment.created": _shipment_created,
    "shipment.delivered": _shipment_lines,
    "invoice.issued": _invoice_issued,
    "payment.applied": _payment,
    "remittance.received": _remittance,
    "credit_memo.issued": _credit_memo,
    "return.requested": _return_requested,
    "return.received": _order_owned,
    "carrier.rejected": _order_owned,
    "purchase_order.created": _sku_lines,
    "receipt.posted": _sku_lines,
    "asn.received": _sku_lines,
    "product.upserted": _product,
}
