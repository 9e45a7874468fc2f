"""latest events per stream and type; timeseries indexes per chronicle

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 12:21:01.000340
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "latest_events",
        sa.Column("stream_id", sa.BigInteger(), nullable=False),
        # Byte order, so a pattern's literal prefix is an index range on this column.
        sa.Column("type", sa.Text(collation="C"), nullable=False),
        sa.Column("chronicle_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["chronicle_id"], ["chronicles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("stream_id", "type"),
    )
    # Events written before this revision: the appender maintains the table from now on.
    op.execute(
        "INSERT INTO latest_events (stream_id, type, chronicle_id, position) "
        "SELECT DISTINCT ON (stream_id, type) stream_id, type, chronicle_id, position "
        "FROM events ORDER BY stream_id, type, position DESC"
    )
    op.create_index(
        "latest_events_chronicle_type_idx",
        "latest_events",
        ["chronicle_id", "type", "position"],
        unique=False,
    )
    op.create_index(
        "events_chronicle_recorded_at_idx",
        "events",
        ["chronicle_id", "recorded_at", "position"],
        unique=False,
    )
    op.create_index(
        "events_chronicle_source_ts_idx",
        "events",
        ["chronicle_id", "source_timestamp", "position"],
        unique=False,
        postgresql_where=sa.text("source_timestamp IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "events_chronicle_source_ts_idx",
        table_name="events",
        postgresql_where=sa.text("source_timestamp IS NOT NULL"),
    )
    op.drop_index("events_chronicle_recorded_at_idx", table_name="events")
    op.drop_index("latest_events_chronicle_type_idx", table_name="latest_events")
    op.drop_table("latest_events")
