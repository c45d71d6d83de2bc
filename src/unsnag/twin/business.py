"""Master data of the simulated distributor, built from the config and a seeded random.

Customers (tier, credit limit, terms, region, ship-tos, contract prices), SKUs in families
with substitutes, costs and list prices (popularity falls with rank), DCs and carriers.
Money is in whole cents.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from itertools import accumulate

from unsnag.twin.config import TwinConfig

FAMILIES = (
    ("BRG", "bearings", 2.0, 80.0),
    ("FLT", "filters", 3.0, 40.0),
    ("VLV", "valves", 15.0, 400.0),
    ("HSE", "hoses", 5.0, 120.0),
    ("FST", "fasteners", 0.2, 6.0),
    ("PMP", "pumps", 150.0, 2500.0),
    ("SEL", "seals", 1.0, 30.0),
    ("ELC", "electrical", 4.0, 200.0),
    ("MTR", "motors", 120.0, 1800.0),
    ("BLT", "belts", 5.0, 60.0),
)
CITIES = (
    ("Boston", "MA", "021"),
    ("Newark", "NJ", "071"),
    ("Seattle", "WA", "981"),
    ("Phoenix", "AZ", "850"),
    ("Chicago", "IL", "606"),
    ("Omaha", "NE", "681"),
    ("Dallas", "TX", "752"),
    ("Atlanta", "GA", "303"),
)
NAME_A = ("Apex", "Summit", "Keystone", "Harbor", "Prairie", "Granite", "Pioneer", "Atlas")
NAME_B = ("Industrial Supply", "Fluid Power", "Mechanical", "Motion", "Plant Services")
STREETS = ("Main St", "Industrial Pkwy", "Commerce Dr", "Depot Rd", "Mill St")
SEGMENTS = ("industrial", "contractor", "oem", "mro")


@dataclass(slots=True)
class Customer:
    id: str
    name: str
    tier: str
    credit_limit: int
    terms_days: int
    region: str
    segment: str
    node: str
    ship_tos: list[dict[str, str]]
    prices: dict[str, int] = field(default_factory=dict)
    """Contract prices in cents by SKU."""


@dataclass(slots=True)
class Product:
    sku: str
    family: str
    cost: int
    price: int
    substitutes: list[str] = field(default_factory=list)
    weight: float = 1.0
    """Share of demand (the weights of all products sum to 1)."""


@dataclass(slots=True)
class Business:
    customers: list[Customer]
    products: list[Product]
    by_sku: dict[str, Product]
    demand_cum: list[float]
    """Cumulative popularity weights over ``products`` (for weighted draws)."""


def _weighted(rng: random.Random, mix: dict[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def build_business(config: TwinConfig, rng: random.Random) -> Business:
    """Master data for ``config``, the same for the same random state."""
    regions = [dc.region for dc in config.dcs]
    customers = []
    for i in range(1, config.customers + 1):
        tier = _weighted(rng, config.tier_mix)
        dc = config.dcs[rng.randrange(len(config.dcs))]
        name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)}"
        limit = config.credit_limits.get(tier, 25_000)
        ship_tos = []
        for _ in range(rng.randint(1, 3)):
            city, state, zip3 = rng.choice(CITIES)
            ship_tos.append(
                {
                    "name": name,
                    "line1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
                    "city": city,
                    "region": state,
                    "postal_code": f"{zip3}{rng.randint(0, 99):02d}",
                    "country": "US",
                }
            )
        customers.append(
            Customer(
                id=f"C-{i:04d}",
                name=name,
                tier=tier,
                credit_limit=int(round(limit * (0.4 + 0.6 * rng.random()), -3)),
                terms_days=config.terms_days.get(tier, 30),
                region=dc.region if dc.region in regions else regions[0],
                segment=rng.choice(SEGMENTS),
                node=dc.id,
                ship_tos=ship_tos,
            )
        )
    products: list[Product] = []
    seen: set[str] = set()
    while len(products) < config.skus:
        code, family, lo, hi = FAMILIES[rng.randrange(len(FAMILIES))]
        sku = f"{code}-{rng.randint(1000, 9999)}"
        if sku in seen:
            continue
        seen.add(sku)
        cost = max(5, round(100 * math.exp(math.log(lo) + rng.random() * math.log(hi / lo))))
        products.append(Product(sku, family, cost, round(cost * (1.2 + 0.4 * rng.random()))))
    families: dict[str, list[str]] = {}
    for p in products:
        families.setdefault(p.family, []).append(p.sku)
    raw = [1.0 / (rank + 3) for rank in range(len(products))]
    total = sum(raw)
    for p, w in zip(products, raw, strict=True):
        others = [s for s in families[p.family] if s != p.sku]
        p.substitutes = rng.sample(others, min(len(others), rng.randint(0, 2)))
        p.weight = w / total
    top = products[: max(10, len(products) // 10)]
    for c in customers:
        for p in top:
            if rng.random() < config.contract_share:
                c.prices[p.sku] = round(p.price * (0.88 + 0.09 * rng.random()))
    return Business(
        customers=customers,
        products=products,
        by_sku={p.sku: p for p in products},
        demand_cum=list(accumulate(p.weight for p in products)),
    )
