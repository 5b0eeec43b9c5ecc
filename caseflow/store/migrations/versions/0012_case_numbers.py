"""case numbers: one counter per kind and local day (consecutive), void numbers kept

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_numbers",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "day"),
    )
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
    # Go on from the highest number each kind has on each day (numbered from the row sequence
    # until now), so no new number can meet an old one.
    op.execute("""
        INSERT INTO case_numbers (kind, day, last)
        SELECT kind, substr(case_id, 4, 8), max(CAST(substr(case_id, 13) AS INTEGER))
        FROM cases WHERE case_id IS NOT NULL AND length(case_id) >= 18
        GROUP BY kind, substr(case_id, 4, 8)
    """)


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_column("void_reason")
    op.drop_table("case_numbers")
