package core

import (
	"context"
	"crypto/x509"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
	"sikkermail/internal/msauth"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/recipient"
)

// API is the front-ends' view of the core: everything the GUI and the
// CLI do, they do through it. *Core is it, on one PC; the institution's
// gateway client will be too, so that a front-end runs the same against
// either. Each method is documented on *Core.
type API interface {
	// Who and how
	User() string
	UserName() string
	Config() *config.Config
	Lang() i18n.Lang
	SetLanguage(l i18n.Lang)
	Limits() Limits
	Close() error
	Run(ctx context.Context) error
	SwitchDemoUser(address string) error

	// Recipients
	Parse(input string) (*recipient.Recipient, error)
	Check(ctx context.Context, inputs []string) []directory.Verdict
	Suggest(ctx context.Context, typed string) []directory.Suggestion
	SuggestFromDirectories(ctx context.Context, typed string) []directory.Suggestion

	// Writing and sending
	ReadAttachment(path string) (message.Attachment, error)
	CheckDraft(ctx context.Context, d message.Draft, mailbox string, vs []directory.Verdict) error
	SendTo(ctx context.Context, d message.Draft, mailbox string, rs Recipients) (*Queued, error)
	Send(ctx context.Context, d message.Draft, mailbox string, to, cc []string) (*Queued, error)
	SaveDraft(ctx context.Context, id string, d message.Draft) (string, error)
	OpenDraft(ctx context.Context, id string) (message.Draft, error)
	Drafts(ctx context.Context) ([]DraftInfo, error)
	DeleteDraft(id string) error

	// The outbox
	OutboxList(ctx context.Context) ([]outbox.Mail, error)
	ReceiptOf(ctx context.Context, id int64) (*outbox.Mail, *Receipt, error)
	Await(ctx context.Context, id int64, progress func(done, total int)) (*outbox.Mail, *Receipt, error)
	Progress(m *outbox.Mail) (done, total int)
	Retry(ctx context.Context, id int64) error
	Remove(ctx context.Context, id int64) error
	Process(ctx context.Context) (int, error)

	// The secure inboxes
	Mailboxes(ctx context.Context) ([]MailboxChoice, error)
	Readable(ctx context.Context) ([]MailboxChoice, error)
	InboxList(ctx context.Context, mailbox string) ([]InboxMessage, error)
	InboxOpen(ctx context.Context, mailbox string, uid uint32) (*OpenedMail, error)
	MarkHandled(ctx context.Context, mailbox string, uid uint32, handled bool) error
	HandledMark() i18n.Message
	Forward(ctx context.Context, m *OpenedMail, to []string, note string) (*Queued, error)
	Reply(ctx context.Context, m *OpenedMail) (*Reply, error)

	// Mailboxes, rights and the audit log
	IsHelpdesk(ctx context.Context) (bool, error)
	ListMailboxes(ctx context.Context) ([]policy.Mailbox, error)
	Mailbox(ctx context.Context, address string) (*policy.Mailbox, error)
	MailboxCertificate(ctx context.Context, mailbox string) (*x509.Certificate, error)
	AddMailbox(ctx context.Context, m policy.Mailbox) error
	Grant(ctx context.Context, user, mailbox string, r policy.Right) error
	Revoke(ctx context.Context, user, mailbox string, r policy.Right) error
	Rights(ctx context.Context, user string) (map[string][]policy.Right, error)
	Holders(ctx context.Context, mailbox string) (map[string][]policy.Right, error)
	AllHolders(ctx context.Context) ([]MailboxHolders, error)
	MailboxOverview(ctx context.Context, address string) (MailboxHolders, error)
	AuditLog(ctx context.Context, since time.Time) ([]policy.Entry, error)
	VerifyAudit(ctx context.Context) (*policy.AuditCheck, error)

	// Signing in
	SavePassword(secret []byte) error
	Microsoft(ctx context.Context) (enabled bool, account string)
	SignIn(ctx context.Context, openURL func(string) error) (string, error)
	StartDeviceCode(ctx context.Context) (*msauth.DeviceCode, error)
	WaitDeviceCode(ctx context.Context, dc *msauth.DeviceCode) (string, error)
	SignOut(ctx context.Context) error
}

var _ API = (*Core)(nil)
