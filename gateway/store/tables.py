"""The store's schema as SQLAlchemy Core tables; migrations/versions must agree with it.

A test compares this metadata with a freshly migrated database, so a column added here
without a migration (or the other way round) fails the suite.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from gateway.store.types import BigId, JSONValue, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("phase", String(20), nullable=False),
    Column("idempotency_key", String(255), nullable=True, unique=True),
    Column("input_hash", String(64), nullable=False),
    Column("input", JSONValue, nullable=False),
    Column("result", JSONValue, nullable=True),
    Column("error", Text, nullable=True),
    Column("principal", String(255), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("next_run_at", UTCDateTime, nullable=True),
    Column("lease_owner", String(255), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Index(None, "status", "next_run_at"),
    Index(None, "kind", "created_at"),
)

workflow_steps = Table(
    "workflow_steps",
    metadata,
    Column(
        "workflow_id",
        String(36),
        ForeignKey("workflows.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(100), primary_key=True),
    Column("position", Integer, nullable=False),  # order in the definition, for display
    Column("system", String(20), nullable=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("output", JSONValue, nullable=True),
    Column("error", Text, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("workflow_id", String(36), nullable=True),
    Column("response", JSONValue, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("topic", String(100), nullable=False),
    Column("payload", JSONValue, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    # Only unpublished rows are ever scanned; keep that index tiny.
    Index(
        "ix_outbox_unpublished",
        "id",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
)

crosswalk = Table(
    "crosswalk",
    metadata,
    Column("entity", String(50), primary_key=True),
    Column("system", String(20), primary_key=True),
    Column("native_id", String(255), primary_key=True),
    Column("global_key", String(255), nullable=False),
    Column("created_by_workflow", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("entity", "global_key", "system"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("principal", String(255), nullable=False),
    Column("action", String(100), nullable=False),
    Column("system", String(20), nullable=True),
    Column("object_type", String(50), nullable=False),
    Column("object_id", String(255), nullable=False),
    Column("before", JSONValue, nullable=True),
    Column("after", JSONValue, nullable=True),
    Column("workflow_id", String(36), nullable=True),
    Index(None, "object_type", "object_id"),
    Index(None, "workflow_id"),
)

event_log = Table(
    "event_log",
    metadata,
    Column("cursor", BigId, primary_key=True, autoincrement=True),
    Column("type", String(100), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("source", String(20), nullable=True),
    Column("subject_id", String(255), nullable=True),
    Column("data", JSONValue, nullable=False),
    Column("dedup_key", String(255), nullable=True, unique=True),
    Index(None, "subject_id"),
    # AUTOINCREMENT: SQLite never hands out a cursor again, even after the newest row goes.
    sqlite_autoincrement=True,
)

webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("webhook_id", String(255), primary_key=True),
    Column("system", String(20), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

change_cursors = Table(
    "change_cursors",
    metadata,
    Column("source", String(20), primary_key=True),
    Column("entity", String(50), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(100), nullable=False),
    Column("payload", JSONValue, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("replayed_at", UTCDateTime, nullable=True),
    Index(None, "kind", "replayed_at"),
)

# What change capture last saw of each source record: the status to compare the next
# sighting with, and its modification time so an older read never overwrites a newer one.
record_states = Table(
    "record_states",
    metadata,
    Column("system", String(20), primary_key=True),
    Column("entity", String(50), primary_key=True),
    Column("native_id", String(255), primary_key=True),
    Column("status", String(50), nullable=True),
    Column("modified_at", UTCDateTime, nullable=True),
    Column("seen_at", UTCDateTime, nullable=False),
)

# Named, expiring leases: which process does a job only one may do at a time (change
# capture's pollers). A holder renews before `expires_at`; past it anyone may take it.
leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Which workflow owns a business key (an opportunity's project, a milestone's billing):
# one at a time, so a second start with any idempotency key joins the first.
business_keys = Table(
    "business_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("kind", String(100), nullable=False),
    Column("workflow_id", String(36), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Index(None, "kind", "claimed_at"),
)


# Business exceptions: one row per (kind, subject) condition found in the sources. A row is
# kept after its condition clears (status RESOLVED, resolved_at set) so the queue has a
# history; the same condition found again later opens the row again.
business_exceptions = Table(
    "business_exceptions",
    metadata,
    Column("id", String(255), primary_key=True),  # "<KIND>:<subject key>", stable
    Column("kind", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("owner_team", String(20), nullable=False),
    Column("subject_type", String(50), nullable=True),
    Column("subject_key", String(255), nullable=True),
    Column("source", String(20), nullable=True),
    Column("summary", Text, nullable=False),
    Column("suggested_action", Text, nullable=True),
    Column("amount_at_risk", String(40), nullable=True),  # a decimal, as text
    Column("currency", String(3), nullable=True),
    Column("since", UTCDateTime, nullable=True),  # when the condition began, where known
    Column("detected_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(255), nullable=True),
    Column("note", Text, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "status", "kind"),
)
