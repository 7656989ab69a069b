-- callsift schema, version 1. MySQL 8.0+ and MariaDB 10.11+, InnoDB, utf8mb4.
-- Every DATETIME is UTC. IP addresses are VARBINARY(16): 4 bytes (IPv4) or 16 bytes (IPv6),
-- the layout of INET6_ATON()/INET6_NTOA(). Statements end with ';' at the end of a line.
-- Time-partitioned tables start with the single catch-all partition p_future; daily
-- partitions pYYYYMMDD are added by db.retention.ensure_partitions (run by `migrate`).

CREATE TABLE IF NOT EXISTS sensors (
    id INT UNSIGNED NOT NULL,
    name VARCHAR(64) NOT NULL DEFAULT '',
    host VARCHAR(255) NOT NULL DEFAULT '',
    version VARCHAR(32) NOT NULL DEFAULT '',
    first_seen DATETIME(6) NULL,
    last_heartbeat DATETIME(6) NULL,
    packets_per_s DOUBLE NOT NULL DEFAULT 0,
    kernel_drops BIGINT UNSIGNED NOT NULL DEFAULT 0,
    queue_drops BIGINT UNSIGNED NOT NULL DEFAULT 0,
    active_calls INT UNSIGNED NOT NULL DEFAULT 0,
    parse_errors BIGINT UNSIGNED NOT NULL DEFAULT 0,
    journal_backlog BIGINT UNSIGNED NOT NULL DEFAULT 0,
    counters JSON NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS sip_reason (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    reason VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_sip_reason (reason)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_agent (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_agent VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_user_agent (user_agent)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS cdr (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    sensor_id INT UNSIGNED NOT NULL,
    uid VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    call_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    caller VARCHAR(128) NOT NULL,
    caller_domain VARCHAR(255) NOT NULL,
    caller_name VARCHAR(128) NOT NULL,
    called VARCHAR(128) NOT NULL,
    called_domain VARCHAR(255) NOT NULL,
    caller_ip VARBINARY(16) NULL,
    caller_port SMALLINT UNSIGNED NOT NULL,
    called_ip VARBINARY(16) NULL,
    called_port SMALLINT UNSIGNED NOT NULL,
    vlan SMALLINT UNSIGNED NULL,
    invite_ts DATETIME(6) NOT NULL,
    ringing_ts DATETIME(6) NULL,
    answer_ts DATETIME(6) NULL,
    end_ts DATETIME(6) NOT NULL,
    duration_s DOUBLE NOT NULL,
    connect_duration_s DOUBLE NOT NULL,
    final_code SMALLINT UNSIGNED NULL,
    final_reason_id INT UNSIGNED NULL,
    hangup_by VARCHAR(16) CHARACTER SET ascii NULL,
    state VARCHAR(16) CHARACTER SET ascii NOT NULL,
    codecs VARCHAR(255) NOT NULL,
    dtmf VARCHAR(255) NOT NULL,
    pcap VARCHAR(1024) NULL,
    caller_ua_id INT UNSIGNED NULL,
    called_ua_id INT UNSIGNED NULL,
    bye_code SMALLINT UNSIGNED NULL,
    challenged BOOL NOT NULL DEFAULT 0,
    sip_messages INT UNSIGNED NOT NULL DEFAULT 0,
    retransmissions INT UNSIGNED NOT NULL DEFAULT 0,
    transport VARCHAR(8) CHARACTER SET ascii NOT NULL DEFAULT 'udp',
    flags VARCHAR(255) CHARACTER SET ascii NOT NULL DEFAULT '',
    stored_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id, invite_ts),
    UNIQUE KEY uq_cdr_uid (sensor_id, uid, invite_ts),
    KEY idx_cdr_invite_ts (invite_ts),
    KEY idx_cdr_sensor (sensor_id, invite_ts),
    KEY idx_cdr_caller (caller, invite_ts),
    KEY idx_cdr_called (called, invite_ts),
    KEY idx_cdr_caller_ip (caller_ip, invite_ts),
    KEY idx_cdr_called_ip (called_ip, invite_ts),
    KEY idx_cdr_final_code (final_code, invite_ts),
    KEY idx_cdr_call_id (call_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (invite_ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS cdr_rtp (
    cdr_id BIGINT UNSIGNED NOT NULL,
    invite_ts DATETIME(6) NOT NULL,
    stream_idx SMALLINT UNSIGNED NOT NULL,
    src_ip VARBINARY(16) NULL,
    src_port SMALLINT UNSIGNED NOT NULL,
    dst_ip VARBINARY(16) NULL,
    dst_port SMALLINT UNSIGNED NOT NULL,
    ssrc INT UNSIGNED NOT NULL,
    payload_type TINYINT UNSIGNED NOT NULL,
    codec VARCHAR(64) NOT NULL,
    packets INT UNSIGNED NOT NULL,
    lost INT NOT NULL,
    loss_pct DOUBLE NOT NULL,
    duplicates INT UNSIGNED NOT NULL,
    out_of_order INT UNSIGNED NOT NULL,
    max_delta_ms DOUBLE NOT NULL,
    max_jitter_ms DOUBLE NOT NULL,
    mean_jitter_ms DOUBLE NOT NULL,
    mos DOUBLE NULL,
    first_ts DATETIME(6) NOT NULL,
    last_ts DATETIME(6) NOT NULL,
    direction VARCHAR(8) CHARACTER SET ascii NULL,
    telephone_events INT UNSIGNED NOT NULL DEFAULT 0,
    rtcp_sr_count INT UNSIGNED NULL,
    rtcp_rr_count INT UNSIGNED NULL,
    rtcp_fraction_lost_max DOUBLE NULL,
    rtcp_cumulative_lost INT NULL,
    rtcp_jitter_max_ms DOUBLE NULL,
    rtcp_rtt_avg_ms DOUBLE NULL,
    rtcp_rtt_max_ms DOUBLE NULL,
    rtcp_xr_mos_lq DOUBLE NULL,
    rtcp_xr_mos_cq DOUBLE NULL,
    rtcp_xr_r_factor SMALLINT UNSIGNED NULL,
    rtcp_xr_loss_rate DOUBLE NULL,
    rtcp_xr_discard_rate DOUBLE NULL,
    PRIMARY KEY (cdr_id, stream_idx, invite_ts),
    KEY idx_cdr_rtp_invite_ts (invite_ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (invite_ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS cdr_dtmf (
    cdr_id BIGINT UNSIGNED NOT NULL,
    invite_ts DATETIME(6) NOT NULL,
    seq SMALLINT UNSIGNED NOT NULL,
    digit CHAR(1) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    ts DATETIME(6) NULL,
    PRIMARY KEY (cdr_id, seq, invite_ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (invite_ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS rtp_orphan (
    sensor_id INT UNSIGNED NOT NULL,
    digest BINARY(16) NOT NULL,
    src_ip VARBINARY(16) NULL,
    src_port SMALLINT UNSIGNED NOT NULL,
    dst_ip VARBINARY(16) NULL,
    dst_port SMALLINT UNSIGNED NOT NULL,
    ssrc INT UNSIGNED NOT NULL,
    payload_type TINYINT UNSIGNED NOT NULL,
    codec VARCHAR(64) NOT NULL,
    packets INT UNSIGNED NOT NULL,
    lost INT NOT NULL,
    loss_pct DOUBLE NOT NULL,
    duplicates INT UNSIGNED NOT NULL,
    out_of_order INT UNSIGNED NOT NULL,
    max_delta_ms DOUBLE NOT NULL,
    max_jitter_ms DOUBLE NOT NULL,
    mean_jitter_ms DOUBLE NOT NULL,
    mos DOUBLE NULL,
    first_ts DATETIME(6) NOT NULL,
    last_ts DATETIME(6) NOT NULL,
    direction VARCHAR(8) CHARACTER SET ascii NULL,
    telephone_events INT UNSIGNED NOT NULL DEFAULT 0,
    rtcp_sr_count INT UNSIGNED NULL,
    rtcp_rr_count INT UNSIGNED NULL,
    rtcp_fraction_lost_max DOUBLE NULL,
    rtcp_cumulative_lost INT NULL,
    rtcp_jitter_max_ms DOUBLE NULL,
    rtcp_rtt_avg_ms DOUBLE NULL,
    rtcp_rtt_max_ms DOUBLE NULL,
    rtcp_xr_mos_lq DOUBLE NULL,
    rtcp_xr_mos_cq DOUBLE NULL,
    rtcp_xr_r_factor SMALLINT UNSIGNED NULL,
    rtcp_xr_loss_rate DOUBLE NULL,
    rtcp_xr_discard_rate DOUBLE NULL,
    PRIMARY KEY (sensor_id, digest, first_ts),
    KEY idx_rtp_orphan_first_ts (first_ts),
    KEY idx_rtp_orphan_src_ip (src_ip, first_ts),
    KEY idx_rtp_orphan_dst_ip (dst_ip, first_ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (first_ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS registration_state (
    sensor_id INT UNSIGNED NOT NULL,
    aor VARCHAR(384) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    user VARCHAR(128) NOT NULL,
    domain VARCHAR(255) NOT NULL,
    contact_ip VARBINARY(16) NULL,
    src_ip VARBINARY(16) NULL,
    src_port SMALLINT UNSIGNED NOT NULL,
    user_agent_id INT UNSIGNED NULL,
    call_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    result_code SMALLINT UNSIGNED NULL,
    expires INT UNSIGNED NULL,
    challenged BOOL NOT NULL,
    attempts INT UNSIGNED NOT NULL,
    registered_until DATETIME(6) NULL,
    last_success_ts DATETIME(6) NULL,
    last_ts DATETIME(6) NOT NULL,
    PRIMARY KEY (sensor_id, aor),
    KEY idx_registration_state_user (user, domain),
    KEY idx_registration_state_until (registered_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS registration_history (
    sensor_id INT UNSIGNED NOT NULL,
    digest BINARY(16) NOT NULL,
    ts DATETIME(6) NOT NULL,
    user VARCHAR(128) NOT NULL,
    domain VARCHAR(255) NOT NULL,
    contact_ip VARBINARY(16) NULL,
    src_ip VARBINARY(16) NULL,
    src_port SMALLINT UNSIGNED NOT NULL,
    user_agent_id INT UNSIGNED NULL,
    call_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    result_code SMALLINT UNSIGNED NULL,
    expires INT UNSIGNED NULL,
    challenged BOOL NOT NULL,
    attempts INT UNSIGNED NOT NULL,
    PRIMARY KEY (sensor_id, digest, ts),
    KEY idx_registration_history_ts (ts),
    KEY idx_registration_history_user (user, domain, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS registration_failure (
    sensor_id INT UNSIGNED NOT NULL,
    digest BINARY(16) NOT NULL,
    ts DATETIME(6) NOT NULL,
    user VARCHAR(128) NOT NULL,
    domain VARCHAR(255) NOT NULL,
    contact_ip VARBINARY(16) NULL,
    src_ip VARBINARY(16) NULL,
    src_port SMALLINT UNSIGNED NOT NULL,
    user_agent_id INT UNSIGNED NULL,
    call_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    result_code SMALLINT UNSIGNED NULL,
    expires INT UNSIGNED NULL,
    challenged BOOL NOT NULL,
    attempts INT UNSIGNED NOT NULL,
    PRIMARY KEY (sensor_id, digest, ts),
    KEY idx_registration_failure_ts (ts),
    KEY idx_registration_failure_user (user, domain, ts),
    KEY idx_registration_failure_src_ip (src_ip, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS sip_message (
    sensor_id INT UNSIGNED NOT NULL,
    digest BINARY(16) NOT NULL,
    ts DATETIME(6) NOT NULL,
    `from` VARCHAR(255) NOT NULL,
    `to` VARCHAR(255) NOT NULL,
    body MEDIUMTEXT NOT NULL,
    result_code SMALLINT UNSIGNED NULL,
    call_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    src_ip VARBINARY(16) NULL,
    dst_ip VARBINARY(16) NULL,
    truncated BOOL NOT NULL,
    PRIMARY KEY (sensor_id, digest, ts),
    KEY idx_sip_message_ts (ts),
    KEY idx_sip_message_from (`from`, ts),
    KEY idx_sip_message_to (`to`, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE COLUMNS (ts) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

CREATE TABLE IF NOT EXISTS active_calls (
    sensor_id INT UNSIGNED NOT NULL,
    call_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    caller VARCHAR(128) NOT NULL,
    called VARCHAR(128) NOT NULL,
    start DATETIME(6) NOT NULL,
    state VARCHAR(16) CHARACTER SET ascii NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (sensor_id, call_id),
    KEY idx_active_calls_start (start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
