-- 0002 (issues 6 and 8): RTP figures that were not computed are NULL, not 0.0 (0.0 reads as
-- perfect): max delta, max and mean jitter. The MOS was nullable already. The playout-buffer
-- discard share that went into the MOS is stored beside it, so a low MOS is explainable.
-- Rows written before keep their values (a 0.0 there may mean "not computed").
-- Re-runnable: MODIFY is idempotent and the column is added only if missing.

ALTER TABLE cdr_rtp
    MODIFY max_delta_ms DOUBLE NULL,
    MODIFY max_jitter_ms DOUBLE NULL,
    MODIFY mean_jitter_ms DOUBLE NULL,
    ADD COLUMN IF NOT EXISTS playout_discard_pct DOUBLE NULL AFTER telephone_events;

ALTER TABLE rtp_orphan
    MODIFY max_delta_ms DOUBLE NULL,
    MODIFY max_jitter_ms DOUBLE NULL,
    MODIFY mean_jitter_ms DOUBLE NULL,
    ADD COLUMN IF NOT EXISTS playout_discard_pct DOUBLE NULL AFTER telephone_events;
