-- The life of a key between generating and deleting: switched off and on,
-- rolled to a replacement that takes over after a grace period, and reported
-- as leaked. Each state has a partial index over the few keys in it, so the
-- key list finds them by lookup however many keys there are.
ALTER TABLE api_keys ADD COLUMN disabled_at TIMESTAMP;
-- Who switched it off, as the list shows it (an email, or the leak report).
ALTER TABLE api_keys ADD COLUMN disabled_by TEXT;
-- A rolled key names its replacement, and the replacement names it.
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
ALTER TABLE api_keys ADD COLUMN replaces TEXT;
-- When a rolled key stops working: the end of its grace period, never past its expiry.
ALTER TABLE api_keys ADD COLUMN stops_at TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN leaked_at TIMESTAMP;
-- Where a scanner found it (a URL or a short description).
ALTER TABLE api_keys ADD COLUMN leaked_where TEXT;

CREATE INDEX api_keys_listed_disabled ON api_keys (disabled_at)
    WHERE deleted_at IS NULL AND disabled_at IS NOT NULL;
CREATE INDEX api_keys_listed_rolled ON api_keys (stops_at)
    WHERE deleted_at IS NULL AND replaced_by IS NOT NULL;
CREATE INDEX api_keys_listed_leaked ON api_keys (leaked_at)
    WHERE deleted_at IS NULL AND leaked_at IS NOT NULL;
-- However many tabs or instances roll a key at once, it gets one replacement.
CREATE UNIQUE INDEX api_keys_one_replacement ON api_keys (replaces) WHERE replaces IS NOT NULL;
