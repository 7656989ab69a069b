"""Database schema, migrations and every SQL statement callsift runs."""
