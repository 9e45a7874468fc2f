"""Table models (SQLModel). They define the schema Alembic migrates; rows never reach the wire."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from app.storage.retention import RESTRICTED

# Positions come from this sequence, drawn only while the append lock is held, so that
# position order is commit order (see storage/appender.py).
POSITION_SEQUENCE = Sequence("events_position_seq", start=1, metadata=SQLModel.metadata)


class ChronicleRow(SQLModel, table=True):
    __tablename__ = "chronicles"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class StreamRow(SQLModel, table=True):
    __tablename__ = "streams"
    __table_args__ = (
        UniqueConstraint("chronicle_id", "name", name="streams_chronicle_name_key"),
        # The target of events' composite key: an event's chronicle is its stream's.
        UniqueConstraint("id", "chronicle_id", name="streams_id_chronicle_key"),
        CheckConstraint("deletion IN ('soft', 'hard')", name="streams_deletion_check"),
        # The few streams that hide events, so a log read checks only theirs
        # (storage/retention.py, visible_unjoined). Appends never change these columns, so
        # their updates of version stay HOT.
        Index(
            "streams_restricted_idx",
            "chronicle_id",
            postgresql_where=text(RESTRICTED),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    chronicle_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("chronicles.id", ondelete="CASCADE"), nullable=False
        )
    )
    name: str = Field(sa_column=Column(Text, nullable=False))
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    # -1: exists, holds no event. Kept here so appends check it under one row lock.
    version: int = Field(
        default=-1, sa_column=Column(BigInteger, nullable=False, server_default=text("-1"))
    )
    first_recorded_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    last_recorded_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    # Retention metadata (domain/retention.py); NULL: no limit of that kind.
    max_count: int | None = Field(default=None, sa_column=Column(BigInteger))
    max_age: int | None = Field(default=None, sa_column=Column(BigInteger))
    truncate_before: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Set by a delete to version + 1: those events stay hidden after a recreate, whatever
    # the retention says, until the scavenger removes them.
    deleted_before: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    # NULL: live; 'soft': reads as not found until an append recreates it; 'hard': tombstone.
    deletion: str | None = Field(default=None, sa_column=Column(Text))


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
        # No foreign key to streams: its per-row check was a quarter of a batch append's
        # time under the append lock, and the appends keep the invariant (migration 0008).
        # Idempotency is enforced by the database for every event ever written.
        UniqueConstraint("event_id", name="events_event_id_key"),
        Index("events_chronicle_position_idx", "chronicle_id", "position"),
        Index("events_stream_recorded_at_idx", "stream_id", "recorded_at"),
        # Timeseries queries of a chronicle, ordered by either clock with position as the
        # tie-break, so a continue-after cursor is one index range (see storage/queries.py).
        Index("events_chronicle_recorded_at_idx", "chronicle_id", "recorded_at", "position"),
        Index(
            "events_chronicle_source_ts_idx",
            "chronicle_id",
            "source_timestamp",
            "position",
            postgresql_where=text("source_timestamp IS NOT NULL"),
        ),
        CheckConstraint("(data IS NULL) <> (data_bin IS NULL)", name="events_one_payload_check"),
    )

    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    chronicle_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    stream_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))
    data: Any | None = Field(default=None, sa_column=Column(JSONB))
    data_bin: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    content_type: str = Field(sa_column=Column(Text, nullable=False))
    metadata_: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    recorded_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    source_timestamp: int | None = Field(default=None, sa_column=Column(BigInteger))
    client_id: str | None = Field(default=None, sa_column=Column(Text))


class LatestEventRow(SQLModel, table=True):
    """The newest event of each type in each stream, kept by the appender in the same
    statement as the insert, so "latest per type" never scans the events table. Keyed by
    stream (not chronicle) so deleting a stream leaves the right answer behind."""

    __tablename__ = "latest_events"
    __table_args__ = (
        Index("latest_events_chronicle_type_idx", "chronicle_id", "type", "position"),
    )

    stream_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("streams.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    # Byte order ("C"), so a pattern's literal prefix is an index range (see patterns.py).
    type: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    chronicle_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("chronicles.id", ondelete="CASCADE"), nullable=False
        )
    )
    position: int = Field(sa_column=Column(BigInteger, nullable=False))


class PrincipalRow(SQLModel, table=True):
    """Someone or something that holds API keys (and, for humans, a password)."""

    __tablename__ = "principals"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    # argon2id, in its self-describing PHC string form; NULL: keys only.
    password_hash: str | None = Field(default=None, sa_column=Column(Text))
    server_admin: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class ApiKeyRow(SQLModel, table=True):
    """An API key: only its SHA-256 digest is kept; the key itself is shown once."""

    __tablename__ = "api_keys"

    # The public half of the key (chr_<id>_<secret>): finds the row without a scan.
    id: str = Field(sa_column=Column(Text, primary_key=True))
    principal_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
        )
    )
    digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    label: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class GrantRow(SQLModel, table=True):
    """A principal's role on one chronicle; goes with the chronicle when it is deleted."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("role IN ('read', 'write', 'admin')", name="grants_role_check"),
        Index("grants_chronicle_idx", "chronicle_id"),
    )

    principal_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
        )
    )
    chronicle_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("chronicles.id", ondelete="CASCADE"), primary_key=True
        )
    )
    role: str = Field(sa_column=Column(Text, nullable=False))


class SubscriptionGroupRow(SQLModel, table=True):
    """A persistent subscription (consumer group): its scope, settings and read cursor.

    Named per chronicle; a group with no chronicle follows everything, and those names are
    unique among themselves."""

    __tablename__ = "subscription_groups"
    __table_args__ = (
        UniqueConstraint("chronicle_id", "name", name="subscription_groups_chronicle_name_key"),
        Index(
            "subscription_groups_all_name_key",
            "name",
            unique=True,
            postgresql_where=text("chronicle_id IS NULL"),
        ),
        CheckConstraint(
            "strategy IN ('round_robin', 'dispatch_to_single')",
            name="subscription_groups_strategy_check",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    chronicle_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("chronicles.id", ondelete="CASCADE")),
    )
    stream: str | None = Field(default=None, sa_column=Column(Text))
    types: list[str] | None = Field(default=None, sa_column=Column(ARRAY(Text)))
    # As created: 'start', 'end' or a position; read_cursor is where reading goes on.
    start: str = Field(sa_column=Column(Text, nullable=False))
    read_cursor: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Index of the consumer (in join order) that round robin serves next.
    turn: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    ack_timeout: float = Field(sa_column=Column(Double, nullable=False))
    max_retries: int = Field(sa_column=Column(Integer, nullable=False))
    max_in_flight: int = Field(sa_column=Column(Integer, nullable=False))
    strategy: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class SubscriptionConsumerRow(SQLModel, table=True):
    """A consumer connected to a group, on any server process. Its process renews the lease;
    a consumer whose lease lapsed (its process died) is removed by the next dispatch."""

    __tablename__ = "subscription_consumers"

    group_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("subscription_groups.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    # What the consumer asked for; the group's own limit caps it. NULL: the group's.
    max_in_flight: int | None = Field(default=None, sa_column=Column(Integer))
    joined_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SubscriptionEntryRow(SQLModel, table=True):
    """An event a group has read but not finished: pending, in flight to one consumer, or
    parked. Acked and skipped events are deleted; the rows are the delivery state."""

    __tablename__ = "subscription_entries"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'inflight', 'parked')", name="subscription_entries_state_check"
        ),
        Index("subscription_entries_state_idx", "group_id", "state", "position"),
    )

    group_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("subscription_groups.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    state: str = Field(
        default="pending", sa_column=Column(Text, nullable=False, server_default="pending")
    )
    retries: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    consumer: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    deadline: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # Taken by its consumer's connection; until then it is assigned but not yet sent.
    sent: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    # Taken back from the parked list: below the checkpoint already, finished on its own.
    replayed: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    reason: str | None = Field(default=None, sa_column=Column(Text))
    parked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
