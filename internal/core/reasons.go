package core

// The reasons the core's errors give, typed like the other packages':
// each names a sentence in the catalogues (key prefix + reason), and the
// lists let a test prove every one has its sentence in every language.

// SendReason is why a send cannot start (SendError; key send.*).
type SendReason string

// The send reasons.
const (
	NoRecipients      SendReason = "no_recipients"
	CPRInSubject      SendReason = "cpr_in_subject"
	CPRInInternalBody SendReason = "cpr_in_internal_body"
	NoIdentity        SendReason = "no_identity"
	NoSMTP            SendReason = "no_smtp"
	NoIMAP            SendReason = "no_imap"
	NoInstitutionCVR  SendReason = "no_institution_cvr"
	AttentionNotCVR   SendReason = "attention_not_cvr"
	AttentionPNumber  SendReason = "attention_pnumber"
	BadMessageID      SendReason = "bad_message_id"
)

// SendReasons are all the send reasons.
var SendReasons = []SendReason{NoRecipients, CPRInSubject, CPRInInternalBody, NoIdentity, NoSMTP, NoIMAP, NoInstitutionCVR, AttentionNotCVR, AttentionPNumber, BadMessageID}

// LimitReason is which limit a mail passes (LimitError; key limit.*).
type LimitReason string

// The limit reasons.
const (
	TooLargeEmail                 LimitReason = "too_large_email"
	TooLargeDigitalPost           LimitReason = "too_large_digitalpost"
	TooManyAttachmentsDigitalPost LimitReason = "too_many_attachments_digitalpost"
	TooManyRecipients             LimitReason = "too_many_recipients"
	TooLargeFile                  LimitReason = "too_large_file"
)

// LimitReasons are all the limit reasons.
var LimitReasons = []LimitReason{TooLargeEmail, TooLargeDigitalPost, TooManyAttachmentsDigitalPost, TooManyRecipients, TooLargeFile}

// SecretReason is why a password cannot be saved (SecretError; key
// secret.*).
type SecretReason string

// The secret reasons.
const (
	SecretEmpty      SecretReason = "empty"
	SecretNotKeyring SecretReason = "not_keyring"
)

// SecretReasons are all the secret reasons.
var SecretReasons = []SecretReason{SecretEmpty, SecretNotKeyring}

// DraftReason is why a draft cannot be kept or opened (DraftError; key
// draft.*).
type DraftReason string

// The draft reasons.
const (
	DraftNoKey      DraftReason = "no_key"
	DraftUnreadable DraftReason = "unreadable"
	// DraftTooMany: the user keeps MaxDrafts already.
	DraftTooMany DraftReason = "too_many"
)

// DraftReasons are all the draft reasons.
var DraftReasons = []DraftReason{DraftNoKey, DraftUnreadable, DraftTooMany}

// InboxReason is why an inbox action cannot be done (InboxError; key
// inbox.*).
type InboxReason string

// The inbox reasons.
const (
	ForwardExternal InboxReason = "forward_external"
	Unopened        InboxReason = "unopened"
	NoSender        InboxReason = "no_sender"
)

// InboxReasons are all the inbox reasons.
var InboxReasons = []InboxReason{ForwardExternal, Unopened, NoSender}
