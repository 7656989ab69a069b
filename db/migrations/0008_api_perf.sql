-- callsift schema, version 8 (issue 9, API performance): call searches over a time range read
-- one index; the failing destinations of the hourly statistics are rows of their own.
--
-- A search walks the calls newest first and stops after a page; its criteria on the call's
-- worst MOS / loss, sensor, final code and state are checked in the index entry, so only the
-- page's rows are read from the table (the search selects keys first, then the page's rows:
-- db/read/calls.py). Before, "MOS < 3.5 over a week" read every call of the week it passed
-- to check its MOS (EXPLAIN in docs/BENCHMARKS.md).
ALTER TABLE cdr
    DROP INDEX idx_cdr_invite_ts,
    ADD INDEX idx_cdr_invite_ts (invite_ts, id, mos_min, loss_max, sensor_id, final_code, state);

-- The failing destinations of whole hours, kept as rows beside the hourly blobs (they were
-- inside them): the top of a month is one grouped read (db/queries/statfailing.py) instead of
-- merging every failing number of 720 blobs per request. The stored hours are computed again
-- (the refresher starts over when the watermark is gone).
-- Rows are grouped by called_key (64 bits of a hash of the number, made in Python): a month has
-- tens of thousands of numbers, and grouping by the text itself (512 bytes a key in the server's
-- in-memory temporary table) spilled to disk and took seconds.
CREATE TABLE IF NOT EXISTS cdr_stats_failing (
    hour DATETIME NOT NULL,
    called_key BIGINT NOT NULL,
    final_code SMALLINT NOT NULL,
    called VARCHAR(128) NOT NULL,
    failed INT UNSIGNED NOT NULL,
    calls INT UNSIGNED NOT NULL,
    PRIMARY KEY (hour, called_key, final_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DELETE FROM cdr_stats_hour;
DELETE FROM api_state WHERE name = 'stats_watermark';
