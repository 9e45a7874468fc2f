"""initial schema: chronicles, streams, events

Revision ID: 0001
Revises:
Create Date: 2026-12-02 12:01:28.438440
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Drawn only under the append lock, so that position order is commit order.
    op.execute(sa.schema.CreateSequence(sa.Sequence("events_position_seq", start=1)))
    op.create_table(
        "chronicles",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "streams",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("chronicle_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("-1"), nullable=False),
        sa.Column("first_recorded_at", sa.BigInteger(), nullable=True),
        sa.Column("last_recorded_at", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["chronicle_id"], ["chronicles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chronicle_id", "name", name="streams_chronicle_name_key"),
    )
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("chronicle_id", sa.BigInteger(), nullable=False),
        sa.Column("stream_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("data_bin", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("source_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.CheckConstraint("(data IS NULL) <> (data_bin IS NULL)", name="events_one_payload_check"),
        sa.ForeignKeyConstraint(["chronicle_id"], ["chronicles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("event_id", name="events_event_id_key"),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
    )
    op.create_index(
        "events_chronicle_position_idx", "events", ["chronicle_id", "position"], unique=False
    )
    op.create_index(
        "events_stream_recorded_at_idx", "events", ["stream_id", "recorded_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("events_stream_recorded_at_idx", table_name="events")
    op.drop_index("events_chronicle_position_idx", table_name="events")
    op.drop_table("events")
    op.drop_table("streams")
    op.drop_table("chronicles")
    op.execute(sa.schema.DropSequence(sa.Sequence("events_position_seq")))
