-- import: memory for this one transaction, on the server: sorts and hashes
-- over a big file's rows (duplicate ids, the join with posts, the insert's
-- order, the transition tables of the triggers) stay in memory instead of
-- spilling to temporary files. temp_buffers holds the staging tables; it can
-- only be set before the session's first temporary table, so this runs first.
-- No JIT: the check's estimates (joins of a table analyzed a moment ago)
-- often cross the optimize threshold, and compiling took longer than it saved.
SELECT set_config('work_mem', '64MB', true), set_config('temp_buffers', '64MB', true),
       set_config('jit', 'off', true)
