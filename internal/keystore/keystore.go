// Package keystore loads the identities sikkermail signs and decrypts with:
// each secure mailbox's certificate, private key and chain, from a PKCS #12
// file (RFC 7292) in either the modern format (PBES2 with AES, as OCES3
// files are) or the legacy one (3DES/RC2 with SHA-1).
//
// DER files are read with software.sslmate.com/src/go-pkcs12, which is well
// kept and reads every cipher PKCS #12 files use, RC2 included. It reads
// DER only (on encoding/asn1; its maintainer says so, and BER support
// would mean a new parser), and at most two safe contents, so the files
// Firefox and Thunderbird export through NSS (BER with indefinite lengths
// throughout, PBES2 with AES) were refused as "not a valid PKCS#12". No
// other well-kept Go reader takes them, so those files go to a reader of
// our own (pfx.go): the MAC checked over the authenticated safe as it was
// written, then PBES2 (PBKDF2, AES or 3DES) or PKCS #12's 3DES, any number
// of safe contents, nested bags.
//
// The password of a PKCS #12 file is never stored by sikkermail. It comes
// from the OS keyring (Windows Credential Manager, macOS Keychain, the
// Secret Service on Linux), or, for headless use, from a file or an
// environment variable named on the command line.
package keystore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/zalando/go-keyring"
	"software.sslmate.com/src/go-pkcs12"

	"sikkermail/internal/i18n"
	"sikkermail/internal/smime"
)

// KeyringService is the service name passwords are kept under in the OS
// keyring; the account is the PKCS #12 file's reference (its path, or the
// mailbox address).
const KeyringService = "sikkermail"

// Load reads the PKCS #12 file at path with password and returns its
// identity: the certificate whose key the file holds, the key, and the
// other certificates as the chain.
func Load(path string, password []byte) (*smime.Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Reason: FileUnreadable, File: path, Err: err}
	}
	key, cert, chain, err := pkcs12.DecodeChain(data, string(password))
	if err != nil && !errors.Is(err, pkcs12.ErrIncorrectPassword) {
		// BER (Firefox, Thunderbird) or more than two safe contents.
		var c *pfxContents
		if c, err = decodePFX(data, string(password)); err == nil {
			key, cert, chain, err = c.identity()
		}
	}
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, errPFXPassword) {
			return nil, &Error{Reason: WrongPassword, File: path, Err: err}
		}
		return nil, &Error{Reason: NotPKCS12, File: path, Err: err}
	}
	var signer crypto.Signer
	switch k := key.(type) {
	case *rsa.PrivateKey:
		signer = k
	case *ecdsa.PrivateKey:
		signer = k
	default:
		return nil, &Error{Reason: UnsupportedKey, File: path, Err: fmt.Errorf("%T", key)}
	}
	return &smime.Identity{Cert: cert, Key: signer, Chain: chain}, nil
}

// Secret reads the secret for ref (a PKCS #12 file, a login) from the
// password source spec (see ParsePassword).
func Secret(spec, ref string) ([]byte, error) {
	src, err := ParsePassword(spec)
	if err != nil {
		return nil, err
	}
	return src.Get(ref)
}

// Open loads the PKCS #12 file at path with its password from the source
// spec; the keyring knows the password by the file's path. A path that
// is a PKCS #11 URI (pkcs11:…) is an identity on a token (OpenToken),
// spec its PIN's source.
func Open(path, spec string) (*smime.Identity, error) {
	if IsPKCS11(path) {
		return OpenToken(path, spec)
	}
	pw, err := Secret(spec, path)
	if err != nil {
		return nil, err
	}
	return Load(path, pw)
}

// Password is where a PKCS #12 password comes from.
type Password interface {
	// Get returns the password for the file or mailbox named by ref.
	Get(ref string) ([]byte, error)
}

// ParsePassword reads a password source as given on a command line or in
// the settings file:
//
//	keyring          the OS keyring, service "sikkermail", account = ref
//	file:PATH        the first line of the file at PATH
//	env:NAME         the environment variable NAME
func ParsePassword(spec string) (Password, error) {
	switch {
	case spec == "keyring" || spec == "":
		return Keyring{}, nil
	case strings.HasPrefix(spec, "file:") && len(spec) > 5:
		return File(spec[5:]), nil
	case strings.HasPrefix(spec, "env:") && len(spec) > 4:
		return Env(spec[4:]), nil
	}
	return nil, &Error{Reason: BadPasswordSource, File: spec}
}

// Keyring takes passwords from the OS keyring.
type Keyring struct{}

// Get implements Password.
func (Keyring) Get(ref string) ([]byte, error) {
	p, err := keyring.Get(KeyringService, ref)
	if err != nil {
		return nil, &Error{Reason: NoPassword, File: ref, Err: err}
	}
	return []byte(p), nil
}

// Save stores the password for ref in the OS keyring.
func (Keyring) Save(ref string, password []byte) error {
	if err := keyring.Set(KeyringService, ref, string(password)); err != nil {
		return &Error{Reason: KeyringUnavailable, File: ref, Err: err}
	}
	return nil
}

// Delete removes the secret for ref from the OS keyring; one that is
// not there is gone already.
func (Keyring) Delete(ref string) error {
	if err := keyring.Delete(KeyringService, ref); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return &Error{Reason: KeyringUnavailable, File: ref, Err: err}
	}
	return nil
}

// File takes the password from the first line of a file, such as a
// secret mounted by the system that runs a headless sikkermail.
type File string

// Get implements Password.
func (f File) Get(string) ([]byte, error) {
	b, err := os.ReadFile(string(f))
	if err != nil {
		return nil, &Error{Reason: NoPassword, File: string(f), Err: err}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return []byte(strings.TrimSuffix(line, "\r")), nil
}

// Env takes the password from an environment variable.
type Env string

// Get implements Password.
func (e Env) Get(string) ([]byte, error) {
	v, ok := os.LookupEnv(string(e))
	if !ok {
		return nil, &Error{Reason: NoPassword, File: "$" + string(e)}
	}
	return []byte(v), nil
}

// Reason says why an identity could not be loaded.
type Reason string

// The reasons.
const (
	FileUnreadable     Reason = "file_unreadable"
	WrongPassword      Reason = "wrong_password"
	NotPKCS12          Reason = "not_pkcs12"
	UnsupportedKey     Reason = "unsupported_key"
	NoPassword         Reason = "no_password"
	BadPasswordSource  Reason = "bad_password_source"
	KeyringUnavailable Reason = "keyring_unavailable"
	BadToken           Reason = "bad_token"
	TokenUnreachable   Reason = "token_unreachable"
)

// Reasons lists every Reason, for the test that each has a sentence.
var Reasons = []Reason{FileUnreadable, WrongPassword, NotPKCS12, UnsupportedKey, NoPassword, BadPasswordSource, KeyringUnavailable, BadToken, TokenUnreachable}

// Error is an identity that could not be loaded.
type Error struct {
	Reason Reason
	// File names the PKCS #12 file, password file, variable or keyring
	// account concerned.
	File string
	Err  error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("keystore: %s: %s", e.File, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *Error) Localize() i18n.Message {
	return i18n.Message{Key: "keystore." + string(e.Reason), Args: map[string]any{"File": e.File}}
}
