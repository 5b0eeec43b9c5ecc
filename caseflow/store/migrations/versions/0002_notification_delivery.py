"""notification delivery: people's channels and working calendar, per-channel delivery state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:28:17
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered", JSON, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=False, server_default=""))

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channels", JSON, nullable=False,
                                      server_default='["log"]'))
        batch_op.add_column(sa.Column("webhook_url", sa.String(length=500), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("work_calendar", sa.String(length=64), nullable=False,
                                      server_default="business"))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("work_calendar")
        batch_op.drop_column("webhook_url")
        batch_op.drop_column("channels")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("not_before")
        batch_op.drop_column("delivered")
