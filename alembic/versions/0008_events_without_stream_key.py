"""events: no foreign key to streams; the append statements keep the invariant

EXPLAIN ANALYZE of a 1,000-row batch append (storage/batch_append.py): 30 ms, of which
the composite key's per-row check was 7 ms, all of it spent under the append lock that
serializes batches. Every event row is written by an append statement that takes its
stream id and chronicle id from the stream row it holds FOR UPDATE, and streams are only
ever deleted with their chronicle, whose delete now removes the chronicle's events in the
same transaction (storage/deletion.py). The check could therefore never fail.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("events_stream_chronicle_fkey", "events", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "events_stream_chronicle_fkey",
        "events",
        "streams",
        ["stream_id", "chronicle_id"],
        ["id", "chronicle_id"],
        ondelete="CASCADE",
        postgresql_not_valid=True,
    )
    op.execute("ALTER TABLE events VALIDATE CONSTRAINT events_stream_chronicle_fkey")
