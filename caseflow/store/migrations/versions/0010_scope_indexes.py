"""indexes for an engineer's read scope (notifications by person) and lists by last change

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 20:00:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_person_case", "notifications", ["person_id", "case_id"])
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_updated_at", table_name="cases")
    op.drop_index("ix_notifications_person_case", table_name="notifications")
