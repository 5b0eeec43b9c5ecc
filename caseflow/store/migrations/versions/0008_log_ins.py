"""people's log-ins (user name, password hash) and who issued each token

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as table:
        table.add_column(sa.Column("username", sa.String(64), nullable=True))
        table.add_column(sa.Column("password_hash", sa.String(200), nullable=True))
        table.create_unique_constraint("uq_people_username", ["username"])
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(sa.Column("created_by", sa.String(64), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.drop_column("created_by")
    with op.batch_alter_table("people") as table:
        table.drop_constraint("uq_people_username", type_="unique")
        table.drop_column("password_hash")
        table.drop_column("username")
