"""cases: next due time and the commitments as the case page shows them

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 15:45:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("next_due_key", sa.String(length=64), nullable=True))
        table.add_column(sa.Column(
            "commitments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True))
    op.create_index("ix_cases_next_due_at", "cases", ["next_due_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_next_due_at", table_name="cases")
    with op.batch_alter_table("cases") as table:
        table.drop_column("commitments")
        table.drop_column("next_due_key")
        table.drop_column("next_due_at")
