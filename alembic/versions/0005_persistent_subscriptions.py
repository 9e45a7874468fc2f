"""persistent subscriptions: consumer groups, their consumers, and their delivery state

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscription_groups",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("chronicle_id", sa.BigInteger(), nullable=True),
        sa.Column("stream", sa.Text(), nullable=True),
        sa.Column("types", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("start", sa.Text(), nullable=False),
        sa.Column("read_cursor", sa.BigInteger(), nullable=False),
        sa.Column("turn", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ack_timeout", sa.Double(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("max_in_flight", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "strategy IN ('round_robin', 'dispatch_to_single')",
            name="subscription_groups_strategy_check",
        ),
        sa.ForeignKeyConstraint(["chronicle_id"], ["chronicles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chronicle_id", "name", name="subscription_groups_chronicle_name_key"),
    )
    op.create_index(
        "subscription_groups_all_name_key",
        "subscription_groups",
        ["name"],
        unique=True,
        postgresql_where=sa.text("chronicle_id IS NULL"),
    )
    op.create_table(
        "subscription_consumers",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("max_in_flight", sa.Integer(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["subscription_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "id"),
    )
    op.create_table(
        "subscription_entries",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("retries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("consumer", sa.Uuid(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("replayed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'inflight', 'parked')", name="subscription_entries_state_check"
        ),
        sa.ForeignKeyConstraint(["group_id"], ["subscription_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "position"),
    )
    op.create_index(
        "subscription_entries_state_idx",
        "subscription_entries",
        ["group_id", "state", "position"],
    )


def downgrade() -> None:
    op.drop_index("subscription_entries_state_idx", table_name="subscription_entries")
    op.drop_table("subscription_entries")
    op.drop_table("subscription_consumers")
    op.drop_index("subscription_groups_all_name_key", table_name="subscription_groups")
    op.drop_table("subscription_groups")
