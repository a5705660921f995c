"""remittance_line: what applying it did; routine postings derived from the line

A 100,000-claim remittance stored 300,000 ledger_posting rows that only repeated what its lines
say (cash applied, contractual write-off, patient share). The line now records its outcome, rule,
score, explanation, cash applied and routine write-off; ledger_posting keeps the postings a
person must look at (held write-offs, overpayments, takebacks, unapplied cash, PLBs).
Lines applied before this revision keep all their postings as rows (their prefix is empty).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.types


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('remittance_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=30), server_default='', nullable=False))
        batch_op.add_column(sa.Column('rule', sa.String(length=30), server_default='', nullable=False))
        batch_op.add_column(sa.Column('score', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('explanation', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('posting_prefix', sa.String(length=60), server_default='', nullable=False))
        batch_op.add_column(sa.Column('cash_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('written_off_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('applied_at', app.db.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_approval', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('needs_review', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    # Lines applied since this revision keep their routine postings only as these columns: dropping
    # them would lose money records, so refuse while there are any (restore the backup made before
    # the upgrade instead). Lines kept their service lines in remittance.json only: give them "[]".
    bind = op.get_bind()
    derived = bind.execute(sa.text("SELECT COUNT(*) FROM remittance_line WHERE posting_prefix <> ''")).scalar()
    if derived:
        raise RuntimeError(
            f"Cannot downgrade below 0005: {derived} remittance line(s) hold postings that exist nowhere else. "
            "Restore the database backup made before the upgrade instead."
        )
    op.execute("UPDATE remittance_line SET services_json = '[]' WHERE services_json = ''")
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.drop_column('needs_review')
        batch_op.drop_column('needs_approval')
    with op.batch_alter_table('remittance_line', schema=None) as batch_op:
        for name in ('applied_at', 'written_off_minor', 'cash_minor', 'posting_prefix', 'explanation', 'score',
                     'rule', 'outcome'):
            batch_op.drop_column(name)
