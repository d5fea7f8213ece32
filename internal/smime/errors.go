package smime

import (
	"errors"
	"fmt"

	"sikkermail/internal/i18n"
)

// errMalformed is wrapped by every error about input that is not valid CMS.
var errMalformed = errors.New("smime: malformed CMS")

// Reason says what went wrong; its value is a stable code and the last
// part of the message key ("smime.<reason>").
type Reason string

// The reasons an S/MIME operation can fail.
const (
	Malformed           Reason = "malformed"           // not valid CMS / S/MIME
	NotForUs            Reason = "not_for_us"          // no recipient info matches our certificate
	DecryptFailed       Reason = "decrypt_failed"      // wrong key, or the content was changed
	Unsupported         Reason = "unsupported"         // an algorithm we do not implement
	UnsupportedKey      Reason = "unsupported_key"     // a recipient or signer key type we cannot use
	NoRecipients        Reason = "no_recipients"       // Encrypt called without recipients
	BadSignature        Reason = "bad_signature"       // the signature does not verify
	ContentChanged      Reason = "content_changed"     // the message digest does not match
	NoSignature         Reason = "no_signature"        // signed data without signer infos
	SignerCertMissing   Reason = "signer_cert_missing" // the signer's certificate is not in the message
	CertExpired         Reason = "cert_expired"
	CertNotYetValid     Reason = "cert_not_yet_valid"
	CertUntrusted       Reason = "cert_untrusted"
	CertWrongUsage      Reason = "cert_wrong_usage"
	CertShortKey        Reason = "cert_short_key"
	CertRevoked         Reason = "cert_revoked"
	CertNoEmail         Reason = "cert_no_email"
	CertAddressMismatch Reason = "cert_address_mismatch" // the certificate is not for the address
	// EmbeddedContent: a multipart/signed whose signature carries content
	// of its own, so the text shown is not what was signed.
	EmbeddedContent Reason = "embedded_content"
	// WeakAlgorithm: a signature made with an algorithm that no longer
	// proves anything (SHA-1, MD5).
	WeakAlgorithm Reason = "weak_algorithm"
	// RevocationUnknown: no valid, current revocation list or OCSP answer
	// could be had for a certificate of the chain.
	RevocationUnknown Reason = "revocation_unknown"
)

// Reasons lists every Reason, for the test that each has a sentence.
var Reasons = []Reason{Malformed, NotForUs, DecryptFailed, Unsupported, UnsupportedKey,
	NoRecipients, BadSignature, ContentChanged, NoSignature, SignerCertMissing,
	CertExpired, CertNotYetValid, CertUntrusted, CertWrongUsage, CertShortKey,
	CertRevoked, CertNoEmail, CertAddressMismatch, EmbeddedContent, WeakAlgorithm, RevocationUnknown}

// Error is a failed S/MIME operation.
type Error struct {
	Reason Reason
	// Subject names what the error is about: a certificate ("CN, e-mail"),
	// a recipient, or a file, as the caller knows it.
	Subject string
	// Detail completes the reason: an algorithm name, a date, a key size.
	Detail string
	Err    error
}

func (e *Error) Error() string {
	s := "smime: " + string(e.Reason)
	if e.Subject != "" {
		s += ": " + e.Subject
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *Error) Localize() i18n.Message {
	return i18n.Message{Key: "smime." + string(e.Reason), Args: map[string]any{"Subject": e.Subject, "Detail": e.Detail}}
}

func malformed(format string, args ...any) error {
	return &Error{Reason: Malformed, Detail: fmt.Sprintf(format, args...), Err: fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)}
}
