DROP TABLE setup_tokens;
DROP TABLE sessions;
DROP TABLE audit_events;
DROP TABLE key_drafts;
DROP TABLE key_usage;
DROP TABLE api_keys;
DROP TABLE key_types;
DROP TABLE users;
