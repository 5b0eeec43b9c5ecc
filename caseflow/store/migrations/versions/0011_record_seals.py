"""case_seals: scheme 2 seals the whole record (state, timeline, every history run)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_seals") as table:
        table.add_column(sa.Column("scheme", sa.Integer(), nullable=False, server_default="1"))
        table.add_column(sa.Column("record_sha256", sa.String(length=64), nullable=True))
        table.add_column(sa.Column(
            "parts", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True))
        table.add_column(sa.Column("record", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_seals") as table:
        table.drop_column("record")
        table.drop_column("parts")
        table.drop_column("record_sha256")
        table.drop_column("scheme")
