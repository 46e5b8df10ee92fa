ALTER TABLE key_drafts DROP COLUMN application_id;
DROP INDEX api_keys_application;
ALTER TABLE api_keys DROP COLUMN application_id;
DROP TABLE applications;
