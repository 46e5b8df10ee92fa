DROP INDEX api_keys_listed_text;
DROP INDEX api_keys_listed_by_last_four;
DROP INDEX api_keys_listed_by_creator;
DROP INDEX api_keys_listed_by_name;
DROP INDEX api_keys_listed_by_last_use;
DROP INDEX api_keys_listed_by_expiry;
DROP INDEX api_keys_listed_by_created;
CREATE INDEX api_keys_by_created ON api_keys (created_at);
DROP INDEX api_keys_listed_by_type;
CREATE INDEX api_keys_by_type ON api_keys (type_code, deleted_at);
ALTER TABLE api_keys
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN name TYPE TEXT COLLATE "default",
    ALTER COLUMN contact_email TYPE TEXT COLLATE "default";
