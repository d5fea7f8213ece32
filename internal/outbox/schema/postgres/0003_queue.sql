-- The queues in the table: "send", the mails being sent; "inbound", the
-- mails the gateway opens at the boundary. Each outbox works its own.
ALTER TABLE outbox ADD COLUMN queue TEXT NOT NULL DEFAULT 'send';
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (queue, next_try, id) WHERE state = 'queued';
