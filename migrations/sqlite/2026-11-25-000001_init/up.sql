-- Application-generated text ids, TIMESTAMP written by the application in UTC,
-- BOOLEAN, BIGINT and binary columns: types both backends share, so
-- migrations/postgres holds the same schema with only BLOB spelled BYTEA.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

-- One row per catalogue type that has ever been used; generating a key locks
-- its row, which is what makes per-type limits hold under concurrency.
CREATE TABLE key_types (
    code TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    -- The key's public identifier: safe to show, log and put in URLs.
    id TEXT PRIMARY KEY NOT NULL,
    type_code TEXT NOT NULL,
    scheme TEXT NOT NULL,
    name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    -- HMAC-SHA-256 of the secret under the server's pepper.
    secret_hash BLOB NOT NULL,
    -- For HMAC-signed types only: the secret under AES-256-GCM (nonce || ciphertext).
    secret_sealed BLOB,
    last_four TEXT NOT NULL,
    -- Canonical addresses and CIDR ranges, one per line; empty means any address.
    allowed_ips TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    -- Requests per minute; NULL means no limit.
    rate_limit INTEGER,
    deleted_at TIMESTAMP,
    deleted_by TEXT,
    -- Set on every change, so other instances can pick up changes quickly.
    changed_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    last_used_ip TEXT
);
CREATE INDEX api_keys_by_type ON api_keys (type_code, deleted_at);
CREATE INDEX api_keys_by_created ON api_keys (created_at);
CREATE INDEX api_keys_by_change ON api_keys (changed_at);

-- Verification outcomes per key and UTC day, written in batches.
CREATE TABLE key_usage (
    key_id TEXT NOT NULL,
    day TEXT NOT NULL,
    outcome TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key_id, day, outcome)
);

-- Step one of the generate flow, which step two consumes exactly once.
CREATE TABLE key_drafts (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    type_code TEXT NOT NULL,
    name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    -- Set when step two generated the key; a used draft never generates another.
    used_at TIMESTAMP
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    actor_email TEXT,
    action TEXT NOT NULL,
    key_id TEXT,
    client_ip TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_time ON audit_events (at);

-- Server-side sessions: the id is the SHA-256 of the cookie's value.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- The one-time first-run link; stored as a SHA-256, useless once a user exists.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Failed sign-ins per account and per client address, for slowing down and
-- locking out password guessing. Shared by every instance.
CREATE TABLE login_throttle (
    subject TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
