"""stream retention metadata (max count, max age, truncate before) and soft/hard deletion

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("streams", sa.Column("max_count", sa.BigInteger(), nullable=True))
    op.add_column("streams", sa.Column("max_age", sa.BigInteger(), nullable=True))
    op.add_column("streams", sa.Column("truncate_before", sa.BigInteger(), nullable=True))
    op.add_column(
        "streams",
        sa.Column("deleted_before", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("streams", sa.Column("deletion", sa.Text(), nullable=True))
    op.create_check_constraint("streams_deletion_check", "streams", "deletion IN ('soft', 'hard')")


def downgrade() -> None:
    op.drop_constraint("streams_deletion_check", "streams", type_="check")
    for column in ("deletion", "deleted_before", "truncate_before", "max_age", "max_count"):
        op.drop_column("streams", column)
