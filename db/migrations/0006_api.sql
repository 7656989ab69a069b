-- callsift schema, version 6: the REST API's own tables (issue 9).
-- Users and their roles, machine API tokens (stored hashed), revoked sessions, the audit log,
-- share links (stored hashed), and per-IP alias names. None of these is written by a sensor.

CREATE TABLE IF NOT EXISTS api_user (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    username VARCHAR(64) NOT NULL,
    password_hash VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    role VARCHAR(16) CHARACTER SET ascii NOT NULL,
    disabled BOOL NOT NULL DEFAULT 0,
    sensor_scope VARCHAR(1024) CHARACTER SET ascii NULL,
    session_epoch INT UNSIGNED NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    last_login_at DATETIME(6) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_user_name (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS api_token (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    name VARCHAR(64) NOT NULL,
    token_hash BINARY(32) NOT NULL,
    prefix VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    role VARCHAR(16) CHARACTER SET ascii NOT NULL,
    sensor_scope VARCHAR(1024) CHARACTER SET ascii NULL,
    created_by VARCHAR(64) NOT NULL DEFAULT '',
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NULL,
    revoked_at DATETIME(6) NULL,
    last_used_at DATETIME(6) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_token_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS api_session_revoked (
    jti BINARY(16) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    PRIMARY KEY (jti),
    KEY idx_api_session_revoked_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS audit_log (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    ts DATETIME(6) NOT NULL,
    actor VARCHAR(128) NOT NULL,
    actor_kind VARCHAR(8) CHARACTER SET ascii NOT NULL,
    action VARCHAR(32) CHARACTER SET ascii NOT NULL,
    target VARCHAR(255) NOT NULL DEFAULT '',
    ip VARBINARY(16) NULL,
    detail VARCHAR(1024) NOT NULL DEFAULT '',
    PRIMARY KEY (id),
    KEY idx_audit_ts (ts),
    KEY idx_audit_action_actor (action, actor, ts),
    KEY idx_audit_action_ip (action, ip, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS share_link (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    token_hash BINARY(32) NOT NULL,
    cdr_id BIGINT UNSIGNED NOT NULL,
    invite_ts DATETIME(6) NOT NULL,
    created_by VARCHAR(128) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    max_downloads INT UNSIGNED NOT NULL,
    downloads INT UNSIGNED NOT NULL DEFAULT 0,
    revoked_at DATETIME(6) NULL,
    redact_ips VARCHAR(2048) CHARACTER SET ascii NOT NULL DEFAULT '',
    mask_numbers BOOL NOT NULL DEFAULT 0,
    keep_digits TINYINT UNSIGNED NOT NULL DEFAULT 0,
    note VARCHAR(255) NOT NULL DEFAULT '',
    PRIMARY KEY (id),
    UNIQUE KEY uq_share_link_hash (token_hash),
    KEY idx_share_link_cdr (cdr_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS ip_alias (
    ip VARBINARY(16) NOT NULL,
    alias VARCHAR(64) NOT NULL,
    note VARCHAR(255) NOT NULL DEFAULT '',
    updated_by VARCHAR(128) NOT NULL DEFAULT '',
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (ip)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Search indexes end with the row id: lists are ordered by (invite_ts, id) (keyset paging with
-- a tie-breaker), and on a partitioned table only an index holding both columns explicitly
-- gives that order without sorting every matching row (EXPLAIN in docs/BENCHMARKS.md).
ALTER TABLE cdr
    DROP INDEX idx_cdr_invite_ts, ADD INDEX idx_cdr_invite_ts (invite_ts, id),
    DROP INDEX idx_cdr_sensor, ADD INDEX idx_cdr_sensor (sensor_id, invite_ts, id),
    DROP INDEX idx_cdr_caller, ADD INDEX idx_cdr_caller (caller, invite_ts, id),
    DROP INDEX idx_cdr_called, ADD INDEX idx_cdr_called (called, invite_ts, id),
    DROP INDEX idx_cdr_caller_ip, ADD INDEX idx_cdr_caller_ip (caller_ip, invite_ts, id),
    DROP INDEX idx_cdr_called_ip, ADD INDEX idx_cdr_called_ip (called_ip, invite_ts, id),
    DROP INDEX idx_cdr_final_code, ADD INDEX idx_cdr_final_code (final_code, invite_ts, id);

-- The worst MOS and loss % of a call's streams, written with the call (NULL: no stream), so
-- that "MOS below" searches and the statistics read cdr alone; existing rows are filled in.
ALTER TABLE cdr ADD COLUMN mos_min DOUBLE NULL, ADD COLUMN loss_max DOUBLE NULL;
UPDATE cdr c JOIN (
    SELECT cdr_id, invite_ts, MIN(mos) AS m, MAX(loss_pct) AS l FROM cdr_rtp
    GROUP BY cdr_id, invite_ts
) r ON r.cdr_id = c.id AND r.invite_ts = c.invite_ts SET c.mos_min = r.m, c.loss_max = r.l;

-- Statistics over a day read this index alone (no row lookups): every column /stats uses.
ALTER TABLE cdr ADD INDEX idx_cdr_stats (invite_ts, sensor_id, state, final_code, answer_ts,
    ringing_ts, end_ts, connect_duration_s, mos_min, loss_max, caller_ua_id, called_ua_id,
    called, caller);

-- Hourly statistics of closed hours, kept by the API (db/queries/statsummary.py): a stats
-- request over days reads one row per hour instead of every call. Rows whose calls changed
-- after they were computed (found through stored_at) are computed again.
ALTER TABLE cdr ADD INDEX idx_cdr_stored (stored_at);
CREATE TABLE IF NOT EXISTS cdr_stats_hour (
    hour DATETIME NOT NULL,
    computed_at DATETIME(6) NOT NULL,
    data MEDIUMBLOB NOT NULL,
    PRIMARY KEY (hour)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS api_state (
    name VARCHAR(64) CHARACTER SET ascii NOT NULL,
    ts DATETIME(6) NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
