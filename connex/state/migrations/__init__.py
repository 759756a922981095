"""Alembic migrations of the state store, shipped inside the package so an installed Connex migrates its database
when it opens it (``connex.state.schema.upgrade``). Revisions are numbered in order; never edit a released one."""
