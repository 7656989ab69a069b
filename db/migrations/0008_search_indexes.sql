-- callsift schema, version 8: call searches over a time range read one index (issue 9, perf).
-- A search walks the calls newest first and stops after a page; its criteria on the call's
-- worst MOS / loss, sensor, final code and state are checked in the index entry, so only the
-- page's rows are read from the table (the search selects keys first, then the page's rows:
-- db/read/calls.py). Before, "MOS < 3.5 over a week" read every call of the week it passed
-- to check its MOS (EXPLAIN in docs/BENCHMARKS.md).
ALTER TABLE cdr
    DROP INDEX idx_cdr_invite_ts,
    ADD INDEX idx_cdr_invite_ts (invite_ts, id, mos_min, loss_max, sensor_id, final_code, state);
