-- Applications group keys (as Talon.One's do): every key belongs to one. A
-- "Default" Application exists from the start and holds every earlier key.
CREATE TABLE applications (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- Archived: its keys answer DISABLED, and no key is made in it.
    archived_at TIMESTAMP
);
-- Names are unique whatever their case.
CREATE UNIQUE INDEX applications_name ON applications (lower(name));
INSERT INTO applications (id, name, created_at) VALUES ('default', 'Default', CURRENT_TIMESTAMP);

ALTER TABLE api_keys ADD COLUMN application_id TEXT NOT NULL DEFAULT 'default';
-- Each Application's keys: counted (bounded) on Settings › Applications,
-- and the per-Application limits.
CREATE INDEX api_keys_application ON api_keys (application_id, type_code) WHERE deleted_at IS NULL;

-- Step one of the generate flow remembers the Application chosen.
ALTER TABLE key_drafts ADD COLUMN application_id TEXT NOT NULL DEFAULT 'default';
