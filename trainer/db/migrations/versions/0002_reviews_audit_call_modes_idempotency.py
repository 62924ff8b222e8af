"""reviews, audit, call modes, idempotency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:41:33.312706
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('label_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], name=op.f('fk_label_corrections_turn_id_turns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_label_corrections_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_corrections'))
    )
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_corrections_turn_id'), ['turn_id'], unique=False)

    op.create_table('turn_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], name=op.f('fk_turn_comments_turn_id_turns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_turn_comments_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turn_comments'))
    )
    with op.batch_alter_table('turn_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_turn_comments_turn_id'), ['turn_id'], unique=False)

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=12), server_default='practice', nullable=False))
        batch_op.add_column(sa.Column('parent_call_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('branched_at', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_calls_parent_call_id_calls'), 'calls', ['parent_call_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('turns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_key', sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint('uq_turns_call_id_request_key', ['call_id', 'request_key'])



def downgrade() -> None:
    with op.batch_alter_table('turns', schema=None) as batch_op:
        batch_op.drop_constraint('uq_turns_call_id_request_key', type_='unique')
        batch_op.drop_column('request_key')

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_calls_parent_call_id_calls'), type_='foreignkey')
        batch_op.drop_column('branched_at')
        batch_op.drop_column('parent_call_id')
        batch_op.drop_column('mode')

    with op.batch_alter_table('turn_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_turn_comments_turn_id'))

    op.drop_table('turn_comments')
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_corrections_turn_id'))

    op.drop_table('label_corrections')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
