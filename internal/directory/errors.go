package directory

import (
	"fmt"

	"sikkermail/internal/i18n"
)

// NoSourceError means no certificate source is configured, so no
// certificate can be found for an external address.
type NoSourceError struct {
	Recipient string
}

func (e *NoSourceError) Error() string {
	return fmt.Sprintf("directory: %s: no certificate source configured", e.Recipient)
}

// Localize names the sentence for a user.
func (e *NoSourceError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.no_source", Args: map[string]any{"Input": e.Recipient}}
}

// NoCertificateError means no source has a certificate for the address.
type NoCertificateError struct {
	Address string
}

func (e *NoCertificateError) Error() string {
	return fmt.Sprintf("directory: %s: no certificate found", e.Address)
}

// Localize names the sentence for a user.
func (e *NoCertificateError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.no_certificate", Args: map[string]any{"Input": e.Address}}
}

// InvalidCertificatesError means certificates were found for the address,
// but none is valid. Problems holds one *smime.Error per certificate.
type InvalidCertificatesError struct {
	Address  string
	Problems []error
}

func (e *InvalidCertificatesError) Error() string {
	return fmt.Sprintf("directory: %s: no valid certificate among %d: %v", e.Address, len(e.Problems), e.Problems[0])
}

// Unwrap returns every problem.
func (e *InvalidCertificatesError) Unwrap() []error { return e.Problems }

// Localize tells the first problem: its sentence names the address and
// what is wrong with the certificate (expired when, untrusted, …).
func (e *InvalidCertificatesError) Localize() i18n.Message {
	if l, ok := e.Problems[0].(i18n.Localizer); ok {
		return l.Localize()
	}
	return i18n.Message{Key: "directory.no_certificate", Args: map[string]any{"Input": e.Address}}
}

// UnreachableError means a certificate source could not be asked.
type UnreachableError struct {
	Address, Source string
	Err             error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("directory: %s: %s: %v", e.Address, e.Source, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsTemporary reports that asking again later may succeed.
func (e *UnreachableError) IsTemporary() bool { return true }

// Localize names the sentence for a user.
func (e *UnreachableError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.unreachable", Args: map[string]any{"Input": e.Address, "Source": e.Source}}
}

// TimeoutError means a certificate source did not answer in time.
type TimeoutError struct {
	Address, Source string
	Seconds         int
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("directory: %s: %s did not answer in %d s", e.Address, e.Source, e.Seconds)
}

// IsTemporary reports that asking again later may succeed.
func (e *TimeoutError) IsTemporary() bool { return true }

// Localize names the sentence for a user.
func (e *TimeoutError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.timeout", Args: map[string]any{"Input": e.Address, "Source": e.Source, "Seconds": e.Seconds}}
}

// DigitalPostUnavailableError means a CPR or CVR recipient was given but no
// Digital Post channel is configured.
type DigitalPostUnavailableError struct {
	Recipient string
}

func (e *DigitalPostUnavailableError) Error() string {
	return fmt.Sprintf("directory: %s: Digital Post is not configured", e.Recipient)
}

// Localize names the sentence for a user.
func (e *DigitalPostUnavailableError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.digitalpost_unavailable", Args: map[string]any{"Input": e.Recipient}}
}

// StoreError is a local certificate store that cannot be used.
type StoreError struct {
	Dir string
	Err error
}

func (e *StoreError) Error() string { return fmt.Sprintf("directory: store %s: %v", e.Dir, e.Err) }
func (e *StoreError) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *StoreError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.store", Args: map[string]any{"Dir": e.Dir, "Err": e.Err.Error()}}
}
