-- The queues in the table (see the PostgreSQL migration).
ALTER TABLE outbox ADD COLUMN queue TEXT NOT NULL DEFAULT 'send';
