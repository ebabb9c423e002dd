"""ORM models. The schema is created and changed only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base; its metadata is Alembic's autogenerate target."""
