-- Who a session belongs to and where it came from, so people can see their
-- sessions and end them. Written by the session store from the session's own
-- state; rows still expire and are swept as before.
ALTER TABLE sessions ADD COLUMN handle TEXT;
ALTER TABLE sessions ADD COLUMN user_id TEXT;
ALTER TABLE sessions ADD COLUMN started_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN client_ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
-- Set (to why) when the session was ended from elsewhere: its browser is
-- told so on its next request. Ended rows still expire and are swept.
ALTER TABLE sessions ADD COLUMN ended TEXT;
CREATE INDEX sessions_by_user ON sessions (user_id);
