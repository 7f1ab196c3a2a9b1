"""Alembic migrations of the state store, applied automatically when a store is opened."""
