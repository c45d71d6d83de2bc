"""Building the policy's named connectors (``resolution.connectors``) into senders."""

from __future__ import annotations

from collections.abc import Mapping

from unsnag.connectors.base import Connector
from unsnag.connectors.log import LogSender
from unsnag.connectors.smtp import SmtpSender
from unsnag.connectors.twin import TwinSender
from unsnag.connectors.webhook import WebhookSender
from unsnag.errors import ConnectorError
from unsnag.policy.resolution import (
    LogConnector,
    Resolution,
    SmtpConnector,
    TwinConnector,
    WebhookConnector,
)
from unsnag.twin.flow import Twin


def build_connectors(
    resolution: Resolution,
    twin: Twin | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Connector]:
    """One sender per named connector. Secrets and credentials are read from ``environ``
    (the process environment by default) now, so a missing one fails at start-up, not on
    the first action; so does a ``twin`` connector with no twin running in the process."""
    built: dict[str, Connector] = {}
    try:
        for name, config in resolution.connectors.items():
            built[name] = _build(name, config, twin, environ)
    except BaseException:
        close_connectors(built)
        raise
    return built


def _build(
    name: str,
    config: WebhookConnector | SmtpConnector | TwinConnector | LogConnector,
    twin: Twin | None,
    environ: Mapping[str, str] | None,
) -> Connector:
    match config:
        case WebhookConnector():
            return WebhookSender(config, environ=environ)
        case SmtpConnector():
            return SmtpSender(config, environ=environ)
        case TwinConnector():
            if twin is None:
                raise ConnectorError(f"connector {name!r} acts on the twin, and none runs here")
            return TwinSender(twin)
        case LogConnector():
            return LogSender()


def close_connectors(connectors: Mapping[str, Connector]) -> None:
    """Release what the senders hold (HTTP connection pools)."""
    for connector in connectors.values():
        close = getattr(connector, "close", None)
        if callable(close):
            close()
