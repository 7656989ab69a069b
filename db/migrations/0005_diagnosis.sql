-- 0005 (issue 8): the call diagnosis and the legs of a call (docs/DIAGNOSIS.md).
-- cdr gets the post-dial delay, the problem codes (comma-joined, for lists) and the leg group
-- (the uid of the group's first leg on the same sensor). Each problem with its evidence is a
-- cdr_problem row (indexed by code so calls can be searched by problem); the correlation keys
-- of a call (correlation header values, Session-ID uuids, icid-values, SDP media endpoints,
-- SSRCs) are cdr_leg_key rows (indexed by key so legs are found across sensors); the links the
-- sensor made are cdr_leg_link rows. Children are partitioned like cdr and written once with
-- it. Re-runnable: columns, indexes and tables are added only if missing.

ALTER TABLE cdr
    ADD COLUMN IF NOT EXISTS pdd_ms INT UNSIGNED NULL AFTER flags,
    ADD COLUMN IF NOT EXISTS problems VARCHAR(512) CHARACTER SET ascii NOT NULL DEFAULT ''
        AFTER pdd_ms,
    ADD COLUMN IF NOT EXISTS leg_group VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL
        AFTER problems;

ALTER TABLE cdr ADD INDEX IF NOT EXISTS idx_cdr_leg_group (leg_group, sensor_id);

CREATE TABLE IF NOT EXISTS cdr_problem (
    cdr_id BIGINT UNSIGNED NOT NULL,
    invite_ts DATETIME(6) NOT NULL,
    seq SMALLINT UNSIGNED NOT NULL,
    code VARCHAR(32) CHARACTER SET ascii NOT NULL,
    detail VARCHAR(255) NOT NULL,
    PRIMARY KEY (cdr_id, seq, invite_ts),
    KEY idx_cdr_problem_code (code, invite_ts, cdr_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (invite_ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS cdr_leg_key (
    cdr_id BIGINT UNSIGNED NOT NULL,
    invite_ts DATETIME(6) NOT NULL,
    seq SMALLINT UNSIGNED NOT NULL,
    kind VARCHAR(16) CHARACTER SET ascii NOT NULL,
    value VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (cdr_id, seq, invite_ts),
    KEY idx_cdr_leg_key (kind, value, invite_ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (invite_ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS cdr_leg_link (
    cdr_id BIGINT UNSIGNED NOT NULL,
    invite_ts DATETIME(6) NOT NULL,
    other_uid VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    other_call_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    seq SMALLINT UNSIGNED NOT NULL,
    reason VARCHAR(16) CHARACTER SET ascii NOT NULL,
    PRIMARY KEY (cdr_id, seq, invite_ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (invite_ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));
