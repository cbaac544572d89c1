"""instance ids of device edits

Each edit a device sends (OpenRosa meta/instanceID, with meta/deprecatedID naming the
revision it replaces) records its instance id on its revision, so that an edit of an edit
finds its household and a resent edit is recognised. Unique: an id names one revision.

Revision ID: 5e0a7c4d2b91
Revises: 86c8bcffb220
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e0a7c4d2b91'
down_revision: str | Sequence[str] | None = '86c8bcffb220'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('response_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_response_revisions_instance_id'), ['instance_id']
        )


def downgrade() -> None:
    with op.batch_alter_table('response_revisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_response_revisions_instance_id'), type_='unique')
        batch_op.drop_column('instance_id')
