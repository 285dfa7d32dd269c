"""Business keys: one workflow at a time per opportunity, milestone or posting batch.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "business_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("workflow_id", sa.String(36), nullable=False),
        sa.Column("claimed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_business_keys"),
    )
    op.create_index("ix_business_keys_kind_claimed_at", "business_keys", ["kind", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_business_keys_kind_claimed_at", table_name="business_keys")
    op.drop_table("business_keys")
