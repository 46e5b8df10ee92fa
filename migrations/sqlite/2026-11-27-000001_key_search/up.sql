-- Finding keys at any size. Every list order has its own index over the keys
-- that are listed (not deleted), so a page starts where the last one ended
-- instead of counting its way there; every filter has an index that can name
-- its keys when they are few.
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

-- Text search ("contains") over names and contact emails: a trigram index.
-- Its rows are numbered by key_search_rows.seq, an INTEGER PRIMARY KEY, which
-- (unlike the rowid of api_keys) no VACUUM renumbers.
CREATE TABLE key_search_rows (
    seq INTEGER PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE key_text USING fts5(
    text, tokenize = 'trigram', content = '', contentless_delete = 1,
    detail = 'none'
);
INSERT INTO key_search_rows (key_id) SELECT id FROM api_keys;
INSERT INTO key_text (rowid, text)
    SELECT s.seq, k.name || char(1) || k.contact_email
    FROM key_search_rows s JOIN api_keys k ON k.id = s.key_id;
CREATE TRIGGER key_text_on_insert AFTER INSERT ON api_keys BEGIN
    INSERT INTO key_search_rows (key_id) VALUES (new.id);
    INSERT INTO key_text (rowid, text)
        VALUES (last_insert_rowid(), new.name || char(1) || new.contact_email);
END;
CREATE TRIGGER key_text_on_update AFTER UPDATE OF name, contact_email ON api_keys BEGIN
    UPDATE key_text SET text = new.name || char(1) || new.contact_email
        WHERE rowid = (SELECT seq FROM key_search_rows WHERE key_id = old.id);
END;
CREATE TRIGGER key_text_on_delete AFTER DELETE ON api_keys BEGIN
    DELETE FROM key_text WHERE rowid = (SELECT seq FROM key_search_rows WHERE key_id = old.id);
    DELETE FROM key_search_rows WHERE key_id = old.id;
END;
