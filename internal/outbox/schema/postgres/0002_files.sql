-- The mails' sealed files (attachments, built messages), in chunks, so
-- that every instance reads what another wrote: no shared folder. A
-- file's chunks are written in one transaction: whole, or not at all.
CREATE TABLE outbox_file (
	message_id TEXT NOT NULL,
	name TEXT NOT NULL,
	seq INTEGER NOT NULL,
	data BYTEA NOT NULL,
	PRIMARY KEY (message_id, name, seq)
);
-- Sealed data does not compress: not tried.
ALTER TABLE outbox_file ALTER COLUMN data SET STORAGE EXTERNAL;
