"""Durable delivery of sensor records to the database: a batching writer with an on-disk
journal that holds records while the database is unreachable."""
