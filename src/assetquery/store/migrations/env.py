"""Alembic environment: migrations run on the connection assetquery hands over."""

from __future__ import annotations

from alembic import context

from assetquery.store._schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI directly
    raise RuntimeError("run migrations through assetquery (Store(...) migrates on open)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
