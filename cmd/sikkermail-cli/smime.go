package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/keystore"
	"sikkermail/internal/message"
	"sikkermail/internal/sealed"
	"sikkermail/internal/smime"
)

// smimeCmd runs `sikkermail-cli smime sign|encrypt|sign-encrypt|decrypt|verify`
// over MIME entities from a file or standard input to a file or standard
// output. Reports (who signed, how it was encrypted) go to standard error.
func (c *cli) smimeCmd(args []string) error {
	if len(args) == 0 {
		c.fail(c.lang.T("cli.smime.usage", nil))
		return errUsage
	}
	op := args[0]
	fs := flag.NewFlagSet("smime "+op, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in := fs.String("in", "-", "")
	out := fs.String("out", "-", "")
	identity := fs.String("identity", "", "")
	password := fs.String("password", "keyring", "")
	opaque := fs.Bool("opaque", false, "")
	cbc := fs.Bool("cbc", false, "")
	v15 := fs.Bool("pkcs1v15", false, "")
	keyID := fs.Bool("keyid", false, "")
	at := fs.String("at", "", "")
	offline := fs.Bool("offline", false, "")
	revocation := fs.String("revocation", "warn", "")
	var recips, cas, crls multiFlag
	fs.Var(&recips, "recipient", "")
	fs.Var(&cas, "ca", "")
	fs.Var(&crls, "crl", "")
	if err := fs.Parse(args[1:]); err != nil {
		c.usageError(err)
		return errUsage
	}
	// sign-encrypt streams, in memory that does not grow with the mail
	// (smime.SignEncrypt); decrypt and verify read the message as they
	// open it (smime.OpenReader).
	streaming := op == "sign-encrypt" && !*opaque
	reading := op == "decrypt" || op == "verify"
	var input []byte
	var err error
	if !streaming && !reading {
		if input, err = c.readInput(*in); err != nil {
			return err
		}
	}
	var id *smime.Identity
	needID := op == "sign" || op == "sign-encrypt" || op == "decrypt"
	if needID {
		if *identity == "" {
			c.fail(c.lang.T("cli.smime.need_identity", map[string]any{"Command": op}))
			return errUsage
		}
		if id, err = keystore.Open(*identity, *password); err != nil {
			return err
		}
	}
	recipients := func() ([]smime.Recipient, error) {
		var rs []smime.Recipient
		for _, f := range recips {
			certs, err := readCerts(f)
			if err != nil {
				return nil, err
			}
			for _, cert := range certs {
				r := smime.Recipient{Cert: cert, KeyID: *keyID}
				if *v15 {
					r.RSAPadding = smime.PKCS1v15
				}
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			return nil, &smime.Error{Reason: smime.NoRecipients}
		}
		return rs, nil
	}
	cipher := smime.AES256GCM
	if *cbc {
		cipher = smime.AES256CBC
	}
	var result []byte
	switch op {
	case "sign":
		result, err = smime.SignEntity(input, *id, smime.SignOptions{Detached: !*opaque})
	case "encrypt", "sign-encrypt":
		rs, rerr := recipients()
		if rerr != nil {
			return rerr
		}
		if streaming {
			rs = append(rs, smime.Recipient{Cert: id.Cert, KeyID: *keyID})
			return c.signEncrypt(*in, *out, *id, rs, cipher)
		}
		entity := input
		if op == "sign-encrypt" {
			if entity, err = smime.SignEntity(input, *id, smime.SignOptions{Detached: !*opaque}); err != nil {
				return err
			}
			// The sender's own certificate too, so the Sent copy stays readable.
			rs = append(rs, smime.Recipient{Cert: id.Cert, KeyID: *keyID})
		}
		result, err = smime.EncryptEntity(entity, rs, cipher)
	case "decrypt", "verify":
		p, perr := core.TrustFrom(cas, crls)
		if perr != nil {
			return perr
		}
		if p.At, p.Time, err = judgeAt(*at); err != nil {
			c.fail(c.lang.T("cli.smime.bad_at", map[string]any{"At": *at}))
			return errUsage
		}
		var known bool
		if p.Revocation, known = smime.ParseRevocationMode(*revocation); !known {
			c.fail(c.lang.T("cli.smime.bad_revocation", map[string]any{"Value": *revocation}))
			return errUsage
		}
		if !*offline {
			p.Online = core.Online("")
		}
		var ids []smime.Identity
		if id != nil {
			ids = append(ids, *id)
		}
		return c.open(op, *out, *in, ids, p)
	default:
		c.fail(c.lang.T("cli.unknown_command", map[string]any{"Command": "smime " + op}))
		return errUsage
	}
	if err != nil {
		return err
	}
	return c.writeOutput(*out, result)
}

// open decrypts and verifies the message in the file in ("-": standard
// input), tells on standard error what each
// layer was (also when opening fails part way), writes what could be
// opened, and exits 1 when the message is not valid, not encrypted
// (decrypt), not signed, or not signed by its From address.
func (c *cli) open(op, out, in string, ids []smime.Identity, p *smime.Trust) error {
	var o *smime.Opened
	var err error
	if in == "-" {
		o, err = smime.OpenReader(c.stdin, -1, ids, p)
	} else {
		// A file is read as a stream, more than once: what is decrypted
		// waits in a sealed spool until it is verified.
		if _, err := os.Stat(in); err != nil {
			return &core.FileError{File: in, Err: err}
		}
		var spool smime.Spool
		if len(ids) > 0 {
			s := &sealedSpool{keys: &sealed.Keys{Cert: ids[0].Cert, Key: ids[0].Key}}
			defer s.remove()
			spool = s
		}
		var opened error
		werr := c.writeTo(out, func(w io.Writer) error {
			o, opened = smime.OpenStream(smime.FileSource(in), ids, p, spool, w)
			if errors.Is(opened, smime.ErrChanged) {
				opened = &core.FileError{File: in, Err: opened} // changed while it was read
			}
			return opened
		})
		if err = opened; err == nil && werr != nil {
			return werr
		}
	}
	c.report(o)
	if err != nil {
		c.fail(c.lang.Error(err))
		return errRed{1}
	}
	if in == "-" {
		if err := c.writeOutput(out, o.Entity); err != nil {
			return err
		}
	}
	switch {
	case op == "decrypt" && !o.Encrypted():
		c.fail(c.lang.T("cli.smime.not_encrypted", nil))
	case !o.Signed() && len(o.Layers) > 0:
		c.fail(c.lang.T("cli.smime.not_signed", nil))
	case !o.Signed(), !o.Valid():
	case len(o.From) > 0 && !o.SignedByFrom():
	default:
		return nil
	}
	return errRed{1}
}

// judgeAt reads --at: "signing", "now", a date or an RFC 3339 time (the
// certificate judged then), or "" for the default (now, or the signing
// time for a certificate expired since).
func judgeAt(at string) (smime.Judge, time.Time, error) {
	switch at {
	case "":
		return smime.JudgeBoth, time.Time{}, nil
	case "signing":
		return smime.JudgeSigning, time.Time{}, nil
	case "now":
		return smime.JudgeNow, time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateTime, time.DateOnly} {
		if t, err := time.ParseInLocation(layout, at, time.Local); err == nil {
			return smime.JudgeNow, t, nil
		}
	}
	return 0, time.Time{}, fmt.Errorf("bad --at %q", at)
}

// signEncrypt streams the file (or standard input) in, signed and
// encrypted, to the file (or standard output) out.
func (c *cli) signEncrypt(in, out string, id smime.Identity, rs []smime.Recipient, cipher smime.Cipher) error {
	src := smime.FileSource(in)
	if in == "-" {
		// Standard input cannot be read twice: it is kept in memory.
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			return err
		}
		src = smime.BytesSource(b)
	} else if _, err := os.Stat(in); err != nil {
		return &core.FileError{File: in, Err: err}
	}
	err := c.writeTo(out, func(w io.Writer) error { return smime.SignEncrypt(w, src, id, rs, cipher) })
	if errors.Is(err, smime.ErrChanged) {
		err = &core.FileError{File: in, Err: err}
	}
	return err
}

// report tells, on standard error, what each layer was.
func (c *cli) report(o *smime.Opened) {
	l := c.lang
	if len(o.Layers) == 0 {
		fmt.Fprintln(c.stderr, l.T("cli.smime.plain", nil))
	}
	for _, layer := range o.Layers {
		switch {
		case layer.Decrypted != nil:
			d := layer.Decrypted
			fmt.Fprintln(c.stderr, l.T("cli.smime.encrypted", map[string]any{"Cipher": d.Cipher, "KeyTransport": d.KeyTransport}))
		case layer.Verified != nil:
			for _, s := range layer.Verified.Signers {
				who := "?"
				if s.Cert != nil {
					// A certificate's names come from outside: printable only.
					who = message.Printable(strings.Join(smime.Addresses(s.Cert), ", ")+" ("+s.Cert.Subject.CommonName+")", false)
				}
				args := map[string]any{"Signer": who, "Digest": s.Digest, "Signature": s.Signature, "Time": s.SigningTime.Local().Format(time.DateTime)}
				switch {
				case s.Err != nil:
					args["Reason"] = l.Error(s.Err)
					fmt.Fprintln(c.stderr, l.T("cli.smime.signed_bad", args))
				case s.Revocation != nil:
					fmt.Fprintln(c.stderr, l.T("cli.smime.signed_ok", args))
					fmt.Fprintln(c.stderr, l.T("cli.smime.warning", map[string]any{"Reason": l.Error(s.Revocation)}))
				case s.ExpiredSince != nil:
					args["Until"] = s.Cert.NotAfter.Local().Format(time.DateOnly)
					fmt.Fprintln(c.stderr, l.T("cli.smime.signed_expired_since", args))
				default:
					fmt.Fprintln(c.stderr, l.T("cli.smime.signed_ok", args))
				}
			}
		}
	}
	if from := message.Printable(strings.Join(o.From, ", "), false); from != "" && o.Signed() {
		key := "cli.smime.from_mismatch"
		if o.SignedByFrom() {
			key = "cli.smime.from_match"
		}
		fmt.Fprintln(c.stderr, l.T(key, map[string]any{"From": from}))
	}
	if len(o.Sender) > 0 && (len(o.From) != 1 || !strings.EqualFold(o.Sender[0], o.From[0])) {
		fmt.Fprintln(c.stderr, l.T("cli.smime.sender", map[string]any{"Sender": message.Printable(strings.Join(o.Sender, ", "), false)}))
	}
	if subj := o.Protected.Get("Subject"); subj != "" && o.Signed() {
		fmt.Fprintln(c.stderr, l.T("cli.smime.protected_subject", map[string]any{"Subject": message.Printable(subj, false)}))
	}
	if o.Bare {
		fmt.Fprintln(c.stderr, l.T("cli.smime.bare", nil))
	}
}

// readCerts reads every certificate in a PEM or DER file.
func readCerts(f string) ([]*x509.Certificate, error) {
	certs, err := smime.ReadCertificates(f)
	if err != nil {
		return nil, &core.FileError{File: f, Err: err}
	}
	return certs, nil
}

func (c *cli) readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(c.stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, &core.FileError{File: name, Err: err}
	}
	return b, nil
}

func (c *cli) writeOutput(name string, b []byte) error {
	return c.writeTo(name, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeTo runs write on the output name ("-": standard output). A file
// appears, readable by the user alone, only when write succeeded: half a
// message is no message, and a file that was there stays as it was.
func (c *cli) writeTo(name string, write func(io.Writer) error) error {
	w, err := c.outputFile(name)
	if err != nil {
		return err
	}
	if err := write(w); err != nil {
		w.discard()
		return err
	}
	if err := w.Close(); err != nil {
		w.discard()
		return &core.FileError{File: name, Err: err}
	}
	return nil
}

// multiFlag is a flag that may be given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// sealedSpool keeps decrypted content in a sealed temporary file while
// it is verified (smime.OpenStream).
type sealedSpool struct {
	keys *sealed.Keys
	path string
}

func (s *sealedSpool) Create() (io.WriteCloser, error) {
	f, err := os.CreateTemp("", "sikkermail-spool-*")
	if err != nil {
		return nil, err
	}
	f.Close()
	s.remove()
	s.path = f.Name()
	return s.keys.Create(s.path)
}

func (s *sealedSpool) Open() (io.ReadCloser, error) { return s.keys.Open(s.path) }

func (s *sealedSpool) remove() {
	if s.path != "" {
		os.Remove(s.path)
	}
}

// output is where an opened entity goes: standard output, or a file
// that appears only when it is whole (discard removes it).
type output struct {
	io.Writer
	f   *os.File
	dst string
}

func (c *cli) outputFile(name string) (*output, error) {
	if name == "-" {
		return &output{Writer: c.stdout}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".sikkermail-*")
	if err != nil {
		return nil, &core.FileError{File: name, Err: err}
	}
	return &output{Writer: f, f: f, dst: name}, nil
}

// Close puts the file in place.
func (o *output) Close() error {
	if o.f == nil {
		return nil
	}
	if err := o.f.Close(); err != nil {
		return err
	}
	return os.Rename(o.f.Name(), o.dst)
}

// discard removes what was written; a file there before stays.
func (o *output) discard() {
	if o.f != nil {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}
