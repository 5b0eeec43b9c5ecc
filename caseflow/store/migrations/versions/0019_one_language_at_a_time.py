"""one language at a time: each person's time zone, a hospital's optional English name

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("time_zone", sa.String(64), nullable=False,
                                      server_default="Asia/Shanghai"))
    op.add_column("hospitals", sa.Column("name_en", sa.String(200), nullable=False,
                                         server_default=""))


def downgrade() -> None:
    op.drop_column("hospitals", "name_en")
    op.drop_column("people", "time_zone")
