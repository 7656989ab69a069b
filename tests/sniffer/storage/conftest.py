from tests.db.mariadb import conn, db_url, fresh_db, sensor_id

__all__ = ["conn", "db_url", "fresh_db", "sensor_id"]
