-- The request log: each key's most recent verification attempts, so support
-- staff can say why a key was refused. Written in batches by the background
-- writer (times in UTC, microseconds, from the application) and pruned there:
-- per key the newest 100 attempts, none older than 7 days, so the table holds
-- at most keys x 100 rows whatever the traffic.
CREATE TABLE request_log (
    key_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    -- Random: tells apart attempts of one key in the same microsecond.
    seq BIGINT NOT NULL,
    -- An outcome code of the verification API (VALID, IP_NOT_ALLOWED, ...).
    outcome TEXT NOT NULL,
    client_ip TEXT,
    -- Why, in words; empty for a valid attempt.
    reason TEXT NOT NULL,
    -- Also the index on (key_id, at): a key's page reads its newest rows by it.
    PRIMARY KEY (key_id, at, seq)
);
-- For the sweep of rows older than 7 days, whatever their key.
CREATE INDEX request_log_by_time ON request_log (at);
