"""Record states: the status each source record had when change capture last saw it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "record_states",
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("native_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(50), nullable=True),
        sa.Column("modified_at", TIME, nullable=True),
        sa.Column("seen_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("system", "entity", "native_id", name="pk_record_states"),
    )


def downgrade() -> None:
    op.drop_table("record_states")
