-- import: memory for this one transaction, on the server: sorts and hashes
-- over a big file's rows (duplicate ids, the join with posts, the insert's
-- order, the transition tables of the triggers) stay in memory instead of
-- spilling to temporary files. temp_buffers holds the staging tables; it can
-- only be set before the session's first temporary table, so this runs first.
-- A small statistics sample for the staging table (import_stage_analyze).
-- No JIT: the check's estimates (joins of a table analyzed a moment ago)
-- often cross the optimize threshold, and compiling took longer than it saved.
-- A dead client: a backend notices its client is gone only when it writes to
-- it, and the check and the insert write nothing for tens of seconds, holding
-- their locks. client_connection_check_interval has it look every second
-- while a statement runs (or waits for a lock), so a killed import ends its
-- backend at once; the keepalives find a vanished host on TCP in about a
-- minute (60 s idle, then 3 probes 10 s apart; no effect on a unix socket).
SELECT set_config('work_mem', '64MB', true), set_config('temp_buffers', '64MB', true),
       set_config('jit', 'off', true), set_config('default_statistics_target', '10', true),
       set_config('client_connection_check_interval', '1000', true),
       set_config('tcp_keepalives_idle', '60', true),
       set_config('tcp_keepalives_interval', '10', true),
       set_config('tcp_keepalives_count', '3', true)
