DROP TABLE expiry_reminders;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
DROP TABLE webhook_endpoints;
