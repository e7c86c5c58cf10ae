-- import: the staging table one import streams its rows into with COPY
-- (import_stage_copy, binary: src/import/row.c writes each value in its
-- type's send format, so the server parses no text), one row per record
-- read. TEMP: no WAL, invisible to other sessions, and dropped with the
-- transaction, so an import that dies leaves nothing behind.
CREATE TEMP TABLE import_stage (
    line         bigint NOT NULL,   -- physical line the record starts on (header = 1)
    broken       boolean NOT NULL,  -- the record could not be read; only its errors count
    bad          integer NOT NULL,  -- bit (1 << column) per column the reader refused
    errors       text,              -- the reader's "column<TAB>reason" entries, one per line
    external_id  text,
    provider_key text,
    account_ids  text[],            -- built by the reader
    content      text,
    media        jsonb,             -- compact JSON written by the reader
    sched_local  timestamp,         -- scheduled_at's wall time, as the reader parsed it
    sched_offset interval,          -- its offset, or NULL for a local time in time_zone
    time_zone    text,
    accounts_twice boolean NOT NULL, -- an account id may repeat (the reader's hint; the check decides)
    twin_of      bigint,            -- the line this row's external_id was first on, if the reader saw it
    -- With media (else NULL), what the check holds against the provider's limits
    -- before it reads the files one by one (src/import/row.c, media_summary):
    media_look   boolean,           -- a file breaks a structural rule
    media_bytes  bigint,            -- the largest size_bytes (NULL: no file)
    media_types  text[]             -- the files' mime types
) ON COMMIT DROP
