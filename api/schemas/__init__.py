"""Request and response models of the REST API (they make the OpenAPI document)."""
