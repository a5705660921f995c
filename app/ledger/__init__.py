"""Cash application and accounting journals: pure engines, no database, no network."""
