"""case text search: every text of a case and its one- and two-character pieces (GIN index)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from caseflow.domain.text_search import grams, searchable

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("cases", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.add_column("cases", sa.Column("search_grams", ARRAY(sa.Text()) if postgres else sa.JSON()))
    if postgres:
        op.create_index("ix_cases_search_grams", "cases", ["search_grams"], postgresql_using="gin")
    # Cases opened before: their number and title (the intake's text is in their workflow).
    cases = sa.table("cases", sa.column("seq", sa.Integer), sa.column("case_id", sa.String),
                     sa.column("title", sa.String), sa.column("search_text", sa.Text),
                     sa.column("search_grams", ARRAY(sa.Text()) if postgres else sa.JSON()))
    bind = op.get_bind()
    for seq, case_id, title in bind.execute(sa.select(cases.c.seq, cases.c.case_id,
                                                      cases.c.title)).all():
        text = searchable([case_id or "", title or ""])
        bind.execute(cases.update().where(cases.c.seq == seq).values(
            search_text=text, search_grams=grams(text)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_cases_search_grams", table_name="cases")
    op.drop_column("cases", "search_grams")
    op.drop_column("cases", "search_text")
