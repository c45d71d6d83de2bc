"""Indexes that let the queue read one page in order instead of sorting every case, and
the integrations page count events by event time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Measured (bench/bench_queue.py, 10,000 open cases on SQLite): the first page of the
queue sorted all 10,000 rows with their documents, 32-59 ms in SQLite alone; walking
``(priority, id)`` in order reads 51 rows (0.17 ms once the planner has statistics,
which the store gathers with ``ANALYZE``: ``Store.optimize``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_cases_priority_id", "cases", ["priority", "id"]),
    ("ix_cases_due_at_id", "cases", ["due_at", "id"]),
    ("ix_events_time", "events", ["time"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
