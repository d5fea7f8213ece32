-- The secure mailboxes, the rights to them, and the append-only audit log.
CREATE TABLE policy_mailbox (
	address TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL,
	identity TEXT NOT NULL, password TEXT NOT NULL, sent TEXT NOT NULL, inbox TEXT NOT NULL,
	contact_point TEXT NOT NULL DEFAULT '');
CREATE TABLE policy_right (
	"user" TEXT NOT NULL, mailbox TEXT NOT NULL REFERENCES policy_mailbox(address), "right" TEXT NOT NULL,
	PRIMARY KEY ("user", mailbox, "right"));
-- Numbers are handed out by policy_audit_head, not by a sequence: a
-- sequence skips the numbers of transactions that roll back, and a
-- skipped number means a line removed.
CREATE TABLE policy_audit (
	id BIGINT PRIMARY KEY, time BIGINT NOT NULL, actor TEXT NOT NULL, machine TEXT NOT NULL,
	action TEXT NOT NULL, mailbox TEXT NOT NULL, subject TEXT NOT NULL, "right" TEXT NOT NULL,
	message_id TEXT NOT NULL, receipt TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX policy_audit_message ON policy_audit (message_id) WHERE message_id != '';
CREATE INDEX policy_audit_time ON policy_audit (time);
-- The newest line's number and hash, in one row: every instance that
-- appends locks it, so the lines of the chain follow one another, and a
-- line removed at the end shows.
CREATE TABLE policy_audit_head (
	one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), id BIGINT NOT NULL, hash TEXT NOT NULL);
INSERT INTO policy_audit_head (id, hash) VALUES (0, '');
-- Append-only: the database itself refuses to change, delete or empty it.
CREATE FUNCTION policy_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER policy_audit_no_change BEFORE UPDATE OR DELETE ON policy_audit
	FOR EACH ROW EXECUTE FUNCTION policy_audit_append_only();
CREATE TRIGGER policy_audit_no_truncate BEFORE TRUNCATE ON policy_audit
	FOR EACH STATEMENT EXECUTE FUNCTION policy_audit_append_only();
