"""ledger_posting: one (source_kind, source_id) index instead of three single-column ones

Nothing looks postings up by patient or by source kind alone; the bulk remittance path inserts
three postings per claim, and each index it need not keep up saves time there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_posting_patient_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_posting_source_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_posting_source_kind'))
        batch_op.create_index('ix_ledger_posting_source', ['source_kind', 'source_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_posting_source')
        batch_op.create_index(batch_op.f('ix_ledger_posting_source_kind'), ['source_kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_posting_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_posting_patient_id'), ['patient_id'], unique=False)
