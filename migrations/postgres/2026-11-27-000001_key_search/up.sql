-- Finding keys at any size. Every list order has its own index over the keys
-- that are listed (not deleted), so a page starts where the last one ended
-- instead of counting its way there; every filter has an index that can name
-- its keys when they are few.
-- Ids, names and contact emails compare byte by byte, as on SQLite, whatever
-- the database's collation: both backends list and match them the same way.
ALTER TABLE api_keys
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN name TYPE TEXT COLLATE "C",
    ALTER COLUMN contact_email TYPE TEXT COLLATE "C";
DROP INDEX api_keys_by_created;
-- No index holds deleted_at as a column: with statistics, SQLite would
-- skip-scan one to find listed keys rather than walk the right index.
DROP INDEX api_keys_by_type;
CREATE INDEX api_keys_listed_by_type ON api_keys (type_code) WHERE deleted_at IS NULL;
CREATE INDEX api_keys_listed_by_created ON api_keys (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX api_keys_listed_by_expiry ON api_keys (expires_at, id) WHERE deleted_at IS NULL;
CREATE INDEX api_keys_listed_by_last_use ON api_keys (last_used_at, id) WHERE deleted_at IS NULL;
CREATE INDEX api_keys_listed_by_name ON api_keys (name, id) WHERE deleted_at IS NULL;
CREATE INDEX api_keys_listed_by_creator ON api_keys (created_by) WHERE deleted_at IS NULL;
CREATE INDEX api_keys_listed_by_last_four ON api_keys (last_four) WHERE deleted_at IS NULL;

-- Text search ("contains") over names and contact emails: a trigram index
-- (pg_trgm ships with PostgreSQL and is a trusted extension: the database's
-- owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- Not partial (unlike the others), so that its lookup need not say
-- "deleted_at IS NULL", which any partial index would offer to answer.
CREATE INDEX api_keys_listed_text ON api_keys
    USING gin ((lower(name) || chr(1) || lower(contact_email)) gin_trgm_ops);
