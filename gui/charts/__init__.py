"""Server-rendered SVG charts (no JS library)."""
