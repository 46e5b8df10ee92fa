-- Sign-in attempts are reserved before the password is checked, and counted
-- per account and address pair, per address and per account. Attempts
-- refused while a lock holds are only counted, then summarised in the audit
-- log once; a pair remembers its last success, which makes the address known
-- to the account (not slowed when the account is under attack).
ALTER TABLE login_throttle ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_throttle ADD COLUMN last_success_at TIMESTAMP;
-- Old rows counted differently ("account:" rows locked outright): start afresh.
DELETE FROM login_throttle;
CREATE INDEX login_throttle_by_window ON login_throttle (window_start);
