"""equipment status reason and time (installations, maintenance plans)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("equipment") as table:
        table.add_column(sa.Column("status_reason", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("equipment") as table:
        table.drop_column("status_changed_at")
        table.drop_column("status_reason")
