"""Alembic's entry point: Connex always runs it programmatically on the connection the store opened (inside the
store's own transaction, so a migration is all or nothing and two processes opening one database take turns)."""

from alembic import context

from connex.state.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
