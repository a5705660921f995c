"""Database: typed SQLAlchemy 2 models, engine factory, units of work. Schema changes only via Alembic."""
