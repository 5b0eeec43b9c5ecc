"""units: the jurisdictions where a unit is registered and its UDI (adverse-event reporting)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-12 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("equipment") as table:
        table.add_column(sa.Column("jurisdictions", JSON, nullable=False,
                                   server_default=sa.text("'[]'")))
        table.add_column(sa.Column("udi", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("equipment") as table:
        table.drop_column("udi")
        table.drop_column("jurisdictions")
