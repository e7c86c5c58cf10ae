-- Scheduler: leases of rate-limit groups, and what each attempt drew on.

-- One lease per rate-limit group: the keys that share a user or account
-- bucket go together (named by the smallest key id), so one instance alone
-- spends a shared budget. Renewed by heartbeat; taken over when it lapses.
CREATE TABLE key_leases (
    group_id   bigint PRIMARY KEY REFERENCES provider_keys ON DELETE CASCADE,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT now()
);

-- What a request drew on, so a new owner rebuilds every window exactly.
ALTER TABLE attempts
    ADD COLUMN accounts integer NOT NULL DEFAULT 1 CHECK (accounts >= 0),
    ADD COLUMN posts integer NOT NULL DEFAULT 1 CHECK (posts >= 0);

-- Per key, the earliest scheduled target: the scheduler's "when is this key
-- next due" look-up.
CREATE INDEX post_targets_key_due ON post_targets (provider_key_id, next_attempt_at, id)
    WHERE status = 'scheduled';
