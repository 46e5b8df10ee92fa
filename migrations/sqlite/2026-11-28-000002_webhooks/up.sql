-- Webhooks: endpoints Administrators register, the events each wants, and an
-- outbox of deliveries written in the same transaction as the change they
-- report, sent and retried by a background worker on every instance.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    -- http or https, as parsed and normalised by the console; one endpoint per URL.
    url TEXT NOT NULL UNIQUE,
    -- The signing secret's bytes under AES-256-GCM (nonce || ciphertext), bound
    -- to the endpoint's id. The secret itself is shown once, at creation.
    secret_sealed BLOB NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL
);

-- Which events each endpoint wants: read by event when a change is recorded.
CREATE TABLE webhook_subscriptions (
    event_type TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    PRIMARY KEY (event_type, endpoint_id)
);
CREATE INDEX webhook_subscriptions_by_endpoint ON webhook_subscriptions (endpoint_id);

-- The outbox: one row per event and endpoint. Its id is the `webhook-id`
-- header, the same on every attempt. Times are UTC from the console's clock.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The JSON body, exactly as signed and sent.
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- pending, delivered or failed (given up).
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    -- When a pending row is due next; NULL once delivered or given up.
    next_attempt_at TIMESTAMP,
    -- A worker's lease on the row: no other worker takes it before then.
    claimed_until TIMESTAMP,
    -- Which worker pass holds the lease (random), so only it records the outcome.
    claimed_by TEXT,
    last_attempt_at TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    finished_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at)
    WHERE finished_at IS NOT NULL;

-- key.expiring reminders already enqueued: one per key and threshold, ever.
-- Inserting the row is what entitles a worker (on any instance) to enqueue it.
CREATE TABLE expiry_reminders (
    key_id TEXT NOT NULL,
    days INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (key_id, days)
);
