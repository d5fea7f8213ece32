-- The secure mailboxes, the rights to them, and the append-only audit log.
-- IF NOT EXISTS: databases from before numbered migrations have the tables
-- already (policy adds the columns they lack).
CREATE TABLE IF NOT EXISTS policy_mailbox (
	address TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL,
	identity TEXT NOT NULL, password TEXT NOT NULL, sent TEXT NOT NULL, inbox TEXT NOT NULL,
	contact_point TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS policy_right (
	"user" TEXT NOT NULL, mailbox TEXT NOT NULL REFERENCES policy_mailbox(address), "right" TEXT NOT NULL,
	PRIMARY KEY ("user", mailbox, "right"));
CREATE TABLE IF NOT EXISTS policy_audit (
	id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, actor TEXT NOT NULL, machine TEXT NOT NULL,
	action TEXT NOT NULL, mailbox TEXT NOT NULL, subject TEXT NOT NULL, "right" TEXT NOT NULL,
	message_id TEXT NOT NULL, receipt TEXT NOT NULL, hash TEXT);
CREATE INDEX IF NOT EXISTS policy_audit_message ON policy_audit (message_id) WHERE message_id != '';
-- Append-only: the database itself refuses to change or delete a line.
CREATE TRIGGER IF NOT EXISTS policy_audit_no_update BEFORE UPDATE ON policy_audit
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS policy_audit_no_delete BEFORE DELETE ON policy_audit
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
