-- The queue, shared by the gateway's instances. Times are Unix
-- milliseconds, as in SQLite.
CREATE TABLE outbox (
	id BIGINT PRIMARY KEY,
	message_id TEXT NOT NULL UNIQUE,
	created BIGINT NOT NULL,
	"user" TEXT NOT NULL,
	mailbox TEXT NOT NULL,
	recipients TEXT NOT NULL,
	cc TEXT NOT NULL DEFAULT '[]',
	subject TEXT NOT NULL,
	content BYTEA,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_try BIGINT NOT NULL,
	error TEXT,
	finished BIGINT,
	-- The instance working the mail, and until when its claim holds
	-- unless renewed: an instance that dies lets it lapse.
	lease_owner TEXT,
	lease_until BIGINT
);
CREATE INDEX outbox_due ON outbox (next_try, id) WHERE state = 'queued';
-- The newest number given, so that none is given twice.
CREATE TABLE outbox_last (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	last BIGINT NOT NULL
);
CREATE TABLE outbox_step (
	mail BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
	step TEXT NOT NULL,
	time BIGINT NOT NULL,
	output BYTEA,
	PRIMARY KEY (mail, step)
);
