-- Two-factor sign-in (TOTP, RFC 6238). The secret is sealed (AES-256-GCM,
-- bound to the user's id), never stored in the clear. `totp_pending` holds a
-- secret being enrolled until its first code confirms it. `totp_last_step`
-- is the time step of the last code accepted: a code is accepted only for a
-- later step, so a code cannot be used twice.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_pending BYTEA;
ALTER TABLE users ADD COLUMN totp_enrolled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- One-time recovery codes: only a keyed hash of each; a used code is deleted.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
