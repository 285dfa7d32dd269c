"""The first schema: workflows and their steps, idempotency, outbox, crosswalk, audit,
event log, webhook receipts, change cursors, dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types as they were at this revision.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("input", JSON, nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("principal", sa.String(255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("next_run_at", TIME, nullable=True),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflows"),
        sa.UniqueConstraint("idempotency_key", name="uq_workflows_idempotency_key"),
    )
    op.create_index("ix_workflows_status_next_run_at", "workflows", ["status", "next_run_at"])
    op.create_index("ix_workflows_kind_created_at", "workflows", ["kind", "created_at"])

    op.create_table(
        "workflow_steps",
        sa.Column("workflow_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(20), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("output", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name="fk_workflow_steps_workflow_id_workflows",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "name", name="pk_workflow_steps"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(36), nullable=True),
        sa.Column("response", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
    )

    op.create_table(
        "outbox",
        sa.Column("id", ID64, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("published_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )

    op.create_table(
        "crosswalk",
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("native_id", sa.String(255), nullable=False),
        sa.Column("global_key", sa.String(255), nullable=False),
        sa.Column("created_by_workflow", sa.String(36), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("entity", "system", "native_id", name="pk_crosswalk"),
        sa.UniqueConstraint(
            "entity", "global_key", "system", name="uq_crosswalk_entity_global_key_system"
        ),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", ID64, autoincrement=True, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("principal", sa.String(255), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("system", sa.String(20), nullable=True),
        sa.Column("object_type", sa.String(50), nullable=False),
        sa.Column("object_id", sa.String(255), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("workflow_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_object_type_object_id", "audit_log", ["object_type", "object_id"])
    op.create_index("ix_audit_log_workflow_id", "audit_log", ["workflow_id"])

    op.create_table(
        "event_log",
        sa.Column("cursor", ID64, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("source", sa.String(20), nullable=True),
        sa.Column("subject_id", sa.String(255), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("cursor", name="pk_event_log"),
        sa.UniqueConstraint("dedup_key", name="uq_event_log_dedup_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_log_subject_id", "event_log", ["subject_id"])

    op.create_table(
        "webhook_receipts",
        sa.Column("webhook_id", sa.String(255), nullable=False),
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_webhook_receipts"),
    )

    op.create_table(
        "change_cursors",
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("source", "entity", name="pk_change_cursors"),
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", ID64, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("replayed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_kind_replayed_at", "dead_letters", ["kind", "replayed_at"])


def downgrade() -> None:
    for table in (
        "dead_letters",
        "change_cursors",
        "webhook_receipts",
        "event_log",
        "audit_log",
        "crosswalk",
        "outbox",
        "idempotency_keys",
        "workflow_steps",
        "workflows",
    ):
        op.drop_table(table)
