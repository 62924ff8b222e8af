"""Storage: typed SQLAlchemy models, per-request sessions, repositories and Alembic migrations."""
