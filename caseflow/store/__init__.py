"""The business database: SQLAlchemy models, sessions, migrations and demo reference data."""
