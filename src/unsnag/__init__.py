"""unsnag — an exception control tower for distribution order-to-cash."""

from unsnag.errors import (
    Conflict,
    ConnectorError,
    ContractViolation,
    Forbidden,
    NotFound,
    PolicyError,
    StoreError,
    UnsnagError,
)

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "ConnectorError",
    "ContractViolation",
    "Forbidden",
    "NotFound",
    "PolicyError",
    "StoreError",
    "UnsnagError",
    "__version__",
]
