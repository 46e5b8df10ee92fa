-- Signatures of HMAC-signed requests already accepted, shared by every instance,
-- so a replay is refused everywhere and after a restart. A row is kept only
-- while its signature's Date could still be accepted; expired rows are swept.
CREATE TABLE signature_replay (
    -- SHA-256 of the presented signature (never the signature itself).
    digest BYTEA PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX signature_replay_by_expiry ON signature_replay (expires_at);
