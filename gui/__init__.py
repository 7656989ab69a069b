"""Web GUI (FastAPI + Jinja2)."""
