-- Digital Post letters and their receipts (see digitalpost.go).
CREATE TABLE dp_letter (
	uuid TEXT PRIMARY KEY,
	mail BIGINT NOT NULL,
	recipient TEXT NOT NULL,
	posted BIGINT,
	status TEXT NOT NULL DEFAULT '',
	transmission TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	error_message TEXT NOT NULL DEFAULT '',
	updated BIGINT NOT NULL DEFAULT 0,
	reported BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE dp_receipt (
	id TEXT PRIMARY KEY,
	uuid TEXT NOT NULL,
	status TEXT NOT NULL,
	transmission TEXT NOT NULL,
	error_code TEXT NOT NULL,
	error_message TEXT NOT NULL,
	time TEXT NOT NULL,
	fetched BIGINT NOT NULL
);
