-- callsift schema, version 4: automatic sensor identity.
-- A sensor started without a configured id keeps a random identity of its own (a UUID stored
-- in its state directory) and claims the next free id for it here, atomically
-- (db.queries.sensors.claim_sensor_id). Rows of sensors with a configured id keep NULL.

ALTER TABLE sensors
    ADD COLUMN identity VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER id,
    ADD UNIQUE KEY uq_sensors_identity (identity);
