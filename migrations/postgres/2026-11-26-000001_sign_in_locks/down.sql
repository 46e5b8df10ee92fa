DROP INDEX login_throttle_by_window;
ALTER TABLE login_throttle DROP COLUMN last_success_at;
ALTER TABLE login_throttle DROP COLUMN refused;
