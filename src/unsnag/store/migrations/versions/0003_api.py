"""API keys, idempotency records, and indexes for case queries and event stats.

Revision ID: 0003
Revises: 0002
Create Date: 2026-05-14

Written out in full rather than importing ``unsnag.store.tables``: a migration is frozen
in time, while the tables module moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)

INDEXES = (
    ("ix_cases_status_owner_team_priority", "cases", ["status", "owner_team", "priority"]),
    ("ix_cases_due_at", "cases", ["due_at"]),
    ("ix_cases_opened_at", "cases", ["opened_at"]),
    ("ix_cases_updated_at", "cases", ["updated_at"]),
    ("ix_events_received_at", "events", ["received_at"]),
    ("ix_dead_letters_received_at", "dead_letters", ["received_at"]),
)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
    )
    op.create_table(
        "idempotency",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency"),
    )
    op.create_index("ix_idempotency_created_at", "idempotency", ["created_at"])
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_idempotency_created_at", table_name="idempotency")
    for table in ("idempotency", "api_keys"):
        op.drop_table(table)
