"""partial index of the streams that hide events (retention or deletion), for log reads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As storage/retention.py RESTRICTED was when this revision was written.
RESTRICTED = (
    "(deletion IS NOT NULL OR deleted_before > 0 OR truncate_before IS NOT NULL "
    "OR max_count IS NOT NULL OR max_age IS NOT NULL)"
)


def upgrade() -> None:
    op.create_index(
        "streams_restricted_idx",
        "streams",
        ["chronicle_id"],
        postgresql_where=sa.text(RESTRICTED),
    )


def downgrade() -> None:
    op.drop_index("streams_restricted_idx", table_name="streams")
