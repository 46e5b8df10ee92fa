ALTER TABLE api_keys DROP COLUMN application_id;
DROP TABLE applications;
