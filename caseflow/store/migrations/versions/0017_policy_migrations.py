"""policy migrations: a preview of moving open cases to another policy, and a result per case

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 17:20:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "policy_migrations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),  # previewed, running, done
        sa.Column("policy_text", sa.Text, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("in_force_version", sa.String(64), nullable=False),
        sa.Column("selection", JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("applied_by", sa.String(64)),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("per_minute", sa.Integer, nullable=False, server_default="600"),
    )
    op.create_table(
        "policy_migration_cases",
        sa.Column("migration_id", sa.String(40), sa.ForeignKey("policy_migrations.id"),
                  primary_key=True),
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("contract_code", sa.String(64)),
        sa.Column("from_version", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),  # the case's record at the preview
        sa.Column("preview", JSON, nullable=False),
        sa.Column("left_alone", sa.String(32)),  # at the preview
        # pending, migrated, left_alone (at the migration), refused (an error)
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("done_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_policy_migration_cases_result", "policy_migration_cases",
                    ["migration_id", "result", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_policy_migration_cases_result", table_name="policy_migration_cases")
    op.drop_table("policy_migration_cases")
    op.drop_table("policy_migrations")
