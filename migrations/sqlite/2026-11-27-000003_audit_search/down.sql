DROP TABLE audit_actors;
DROP INDEX audit_events_by_key;
DROP INDEX audit_events_by_actor_action;
DROP INDEX audit_events_by_actor;
DROP INDEX audit_events_by_action;
DROP INDEX audit_events_by_time;
CREATE INDEX audit_events_by_time ON audit_events (at);
