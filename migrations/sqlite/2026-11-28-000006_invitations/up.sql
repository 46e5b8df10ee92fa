-- When each user last signed in: shown on Settings > Users.
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMP;

-- One open invitation per email; only the link's SHA-256 is kept.
CREATE TABLE invitations (
    email TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
