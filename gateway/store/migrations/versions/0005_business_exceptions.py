"""Business exceptions: the conditions the visibility monitor finds in the sources.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "business_exceptions",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner_team", sa.String(20), nullable=False),
        sa.Column("subject_type", sa.String(50), nullable=True),
        sa.Column("subject_key", sa.String(255), nullable=True),
        sa.Column("source", sa.String(20), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("suggested_action", sa.Text(), nullable=True),
        sa.Column("amount_at_risk", sa.String(40), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("since", TIME, nullable=True),
        sa.Column("detected_at", TIME, nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_business_exceptions"),
    )
    op.create_index("ix_business_exceptions_status_kind", "business_exceptions", ["status", "kind"])


def downgrade() -> None:
    op.drop_index("ix_business_exceptions_status_kind", table_name="business_exceptions")
    op.drop_table("business_exceptions")
