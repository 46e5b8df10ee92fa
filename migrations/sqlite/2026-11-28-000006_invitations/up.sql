-- When each user last signed in: shown on Settings > Users.
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMP;
