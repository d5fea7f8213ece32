-- The queue. IF NOT EXISTS: databases from before numbered migrations
-- have the tables already (outbox adds the columns they lack).
CREATE TABLE IF NOT EXISTS outbox (
	id INTEGER PRIMARY KEY,
	message_id TEXT NOT NULL UNIQUE,
	created INTEGER NOT NULL,
	user TEXT NOT NULL,
	mailbox TEXT NOT NULL,
	recipients TEXT NOT NULL,
	cc TEXT NOT NULL DEFAULT '[]',
	subject TEXT NOT NULL,
	content BLOB,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_try INTEGER NOT NULL,
	error TEXT,
	finished INTEGER,
	working INTEGER
);
CREATE TABLE IF NOT EXISTS outbox_last (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_step (
	mail INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
	step TEXT NOT NULL,
	time INTEGER NOT NULL,
	output BLOB,
	PRIMARY KEY (mail, step)
);
