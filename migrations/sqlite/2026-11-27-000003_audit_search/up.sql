-- The audit log is read newest first, a page at a time, from a position
-- (at, id) rather than an offset. Every filter has an index that ends in
-- (at, id), so a page is one index range read in order: no sort, however
-- many events there are.
DROP INDEX audit_events_by_time;
CREATE INDEX audit_events_by_time ON audit_events (at, id);
CREATE INDEX audit_events_by_action ON audit_events (action, at, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_email, at, id);
-- An actor and an action together (one user's deletions, say) are rare even
-- when each alone is common: read them from their own range too.
CREATE INDEX audit_events_by_actor_action ON audit_events (actor_email, action, at, id);
-- Key IDs are looked up from their first characters, in any case.
CREATE INDEX audit_events_by_key ON audit_events (lower(key_id), at, id);

-- Every address that has acted, once. A partial actor filter ("admin")
-- searches this short list, then reads each matching actor's events through
-- audit_events_by_actor.
CREATE TABLE audit_actors (
    email TEXT PRIMARY KEY NOT NULL
);
INSERT INTO audit_actors (email)
    SELECT DISTINCT actor_email FROM audit_events WHERE actor_email IS NOT NULL;
