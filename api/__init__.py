"""REST API (FastAPI) over the CDR database."""
