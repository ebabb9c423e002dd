"""Persistence: SQLAlchemy 2.x engine and sessions; the schema is created only by Alembic."""
