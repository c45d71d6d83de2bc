"""Initial schema: event log, dead letters, cases with their refs, checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-05-10

Written out in full rather than importing ``unsnag.store.tables``: a migration is frozen
in time, while the tables module moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("time", WHEN, nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
    )
    op.create_index("ix_events_type", "events", ["type"])
    op.create_index("ix_events_subject", "events", ["subject"])
    op.create_table(
        "dead_letters",
        sa.Column("id", SEQ, primary_key=True, autoincrement=True),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(), nullable=True),
        sa.Column("replayed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    _create_cases()
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("policy_version", sa.String(), nullable=False),
        sa.Column("saved_at", WHEN, nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_checkpoints"),
    )


def _create_cases() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("owner_team", sa.String(), nullable=False),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index("ix_cases_status_priority", "cases", ["status", "priority"])
    op.create_index("ix_cases_type", "cases", ["type"])
    op.create_index("ix_cases_owner_team", "cases", ["owner_team"])
    op.create_index("ix_cases_subject", "cases", ["subject"])
    op.create_table(
        "case_refs",
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("ref_name", sa.String(), nullable=False),
        sa.Column("ref_value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "ref_name", "ref_value", name="pk_case_refs"),
    )
    op.create_index("ix_case_refs_ref_name_ref_value", "case_refs", ["ref_name", "ref_value"])


def downgrade() -> None:
    for table in ("case_refs", "cases", "checkpoints", "dead_letters", "events"):
        op.drop_table(table)
