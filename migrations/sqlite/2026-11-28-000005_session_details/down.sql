DROP INDEX sessions_by_user;
ALTER TABLE sessions DROP COLUMN ended;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN client_ip;
ALTER TABLE sessions DROP COLUMN last_seen_at;
ALTER TABLE sessions DROP COLUMN started_at;
ALTER TABLE sessions DROP COLUMN user_id;
ALTER TABLE sessions DROP COLUMN handle;
