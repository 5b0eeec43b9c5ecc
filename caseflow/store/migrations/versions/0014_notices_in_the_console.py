"""notices in the console: read marks, template and parameters, each person's language

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("read_at", sa.DateTime(timezone=True)))
    op.add_column("notifications", sa.Column("template", sa.String(64)))
    op.add_column("notifications", sa.Column(
        "params", sa.JSON().with_variant(JSONB(), "postgresql")))
    op.add_column("people", sa.Column("language", sa.String(8), nullable=False,
                                      server_default="zh-CN"))
    op.create_index("ix_notifications_person_id", "notifications", ["person_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_person_id", table_name="notifications")
    op.drop_column("people", "language")
    op.drop_column("notifications", "params")
    op.drop_column("notifications", "template")
    op.drop_column("notifications", "read_at")
