"""Route modules, one per resource; each validates, calls ``db/`` and returns a schema."""
