package core

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"

	"sikkermail/internal/i18n"
	"sikkermail/internal/scan"
)

// At the boundary the gateway opens each mail that arrives for a secure
// mailbox before any reader does: it decrypts it with the mailbox's key,
// verifies every signature as a reader's client would, scans what it
// decrypted for malware, and delivers the mail decrypted with the
// verdict where readers look (a first part in words, and headers the
// sikkermail inbox reads), or to quarantine when it may not be delivered
// as if fine.

// Scanner finds malware in content (clamd, in scan).
type Scanner interface {
	Scan(ctx context.Context, r io.Reader) (scan.Verdict, error)
}

// SpamChecker tells spam from mail (spamd, in scan).
type SpamChecker interface {
	Check(ctx context.Context, msg []byte) (scan.Spam, error)
}

// Verdict headers on a mail delivered at the boundary. Any header of
// these names a mail arrives with is removed first: only the gateway
// writes them.
const (
	HeaderVerdict = "Sikkermail-Verdict"
	HeaderCipher  = "Sikkermail-Encryption"
	HeaderSigner  = "Sikkermail-Signer"
	HeaderScan    = "Sikkermail-Scan"
	HeaderSpam    = "Sikkermail-Spam"
)

// The values of HeaderVerdict.
const (
	VerdictSecure     = "secure"
	VerdictNotSecure  = "not-secure"
	VerdictQuarantine = "quarantine"
	// VerdictWaiting is on the readers' notice of a mail that waits for
	// the scanner.
	VerdictWaiting = "waiting"
)

// Inspection is an inbound mail as the boundary found it.
type Inspection struct {
	// Mail is the mail opened, with its report.
	*OpenedMail
	// Entity is the decrypted content (the innermost MIME entity), nil
	// when it could not be opened.
	Entity []byte
	// Scanned is the scanner's verdict; ScanErr why there is none.
	Scanned scan.Verdict
	ScanErr error
	// Spam is what the spam check said, nil when it did not check;
	// SpamErr why it could not; SpamOff that the boundary checks no
	// spam (IT's setting).
	Spam    *scan.Spam
	SpamErr error
	SpamOff bool
	// SpamFolder, when set, is where a mail found to be spam goes.
	SpamFolder string
	// Key, when set, is written as HeaderInbound: the delivery is known
	// again by it.
	Key string
	raw []byte
}

// Quarantine reports whether the mail may not be delivered as if fine:
// it could not be opened (not for this mailbox, damaged, malformed), the
// scanner found malware, or it or the spam check could not check it.
func (in *Inspection) Quarantine() bool {
	return in.Entity == nil || in.ScanErr != nil || !in.Scanned.Clean || in.SpamErr != nil
}

// CheckErr is why a check could not be made, nil when every one was.
func (in *Inspection) CheckErr() error { return cmp.Or(in.ScanErr, in.SpamErr) }

// IsSpam reports whether the spam check found the mail to be spam.
func (in *Inspection) IsSpam() bool { return in.Spam != nil && in.Spam.Spam }

// CheckSpam asks s whether the opened mail is spam: its header as it
// came with the decrypted content, the mail a spam filter before the
// gateway could not read. No checker is IT's choice (SpamOff); a mail
// that did not open is not asked of (it is held anyway).
func (in *Inspection) CheckSpam(ctx context.Context, s SpamChecker) {
	switch {
	case s == nil:
		in.SpamOff = true
	case in.Entity != nil:
		head, _ := splitEntity(in.raw)
		var msg bytes.Buffer
		writeOuter(&msg, head)
		msg.WriteString("MIME-Version: 1.0\r\n")
		msg.Write(in.Entity)
		v, err := s.Check(ctx, msg.Bytes())
		if err != nil {
			in.SpamErr = err
			return
		}
		in.Spam = &v
	}
}

// writeOuter writes the fields of head, a header a mail came with,
// that are not its Content fields, nor Sikkermail fields, nor its
// subject (the signed one is the one told).
func writeOuter(out *bytes.Buffer, head []byte) {
	for _, f := range headerFields(head) {
		name := strings.ToLower(strings.TrimSpace(f[:strings.IndexByte(f+":", ':')]))
		if strings.HasPrefix(name, "content-") || name == "mime-version" || name == "subject" || strings.HasPrefix(name, "sikkermail-") {
			continue
		}
		out.WriteString(f)
		out.WriteString("\r\n")
	}
}

// Verdict is the HeaderVerdict value.
func (in *Inspection) Verdict() string {
	switch {
	case in.Quarantine():
		return VerdictQuarantine
	case in.Report.Secure():
		return VerdictSecure
	}
	return VerdictNotSecure
}

// Inspect opens raw, a mail that arrived for mailbox, with the mailbox's
// key, and scans what it holds with s: the decrypted content when it
// opens, else the mail as it came. An error is a mail that cannot be
// inspected now (no key, no identity); a mail that cannot be opened, or
// a scanner that fails, is in the inspection.
func (c *Core) Inspect(ctx context.Context, mailbox string, raw []byte, s Scanner) (*Inspection, error) {
	id, err := c.identity(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	m, entity := c.openEntity(raw, mailbox, 0, id)
	in := &Inspection{OpenedMail: m, raw: raw}
	if m.Report.Err == nil {
		in.Entity = entity
	}
	content := raw
	if in.Entity != nil {
		content = in.Entity
	}
	in.Scanned, in.ScanErr = scanWith(ctx, s, content)
	return in, nil
}

// scanWith scans content with s; no scanner is one that cannot be asked.
func scanWith(ctx context.Context, s Scanner, content []byte) (scan.Verdict, error) {
	if s == nil {
		return scan.Verdict{}, &scan.Error{Reason: scan.Unavailable, Scanner: "[boundary] scanner", Err: errors.New("none set up")}
	}
	return s.Scan(ctx, bytes.NewReader(content))
}

// Delivered is the mail to put in the mailbox (or its quarantine): the
// header it came with, less its own Content and Sikkermail fields, the
// subject the sender signed, the verdict headers; then a first part
// saying in l how it came and what the scanner found, and the decrypted
// content (or, when it could not be opened, the mail as it came, as an
// attachment).
func (in *Inspection) Delivered(l i18n.Lang) ([]byte, error) {
	head, _ := splitEntity(in.raw)
	var out bytes.Buffer
	writeOuter(&out, head)
	r := in.Report
	fmt.Fprintf(&out, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", in.Subject))
	if in.Key != "" {
		fmt.Fprintf(&out, "%s: %s\r\n", HeaderInbound, in.Key)
	}
	fmt.Fprintf(&out, "%s: %s\r\n", HeaderVerdict, in.Verdict())
	if r.Encrypted {
		fmt.Fprintf(&out, "%s: %s (%s)\r\n", HeaderCipher, r.Cipher, r.KeyTransport)
	}
	for _, s := range r.Signers {
		state := "valid"
		if s.Err != nil {
			state = "invalid"
		}
		signer := mime.QEncoding.Encode("utf-8", s.Subject)
		if len(s.Emails) > 0 {
			signer = (&mail.Address{Name: s.Subject, Address: s.Emails[0]}).String()
		}
		fmt.Fprintf(&out, "%s: %s; %s\r\n", HeaderSigner, signer, state)
	}
	if lr := r.Letter; lr != nil {
		fmt.Fprintf(&out, "%s: %s\r\n", HeaderDigitalPost, lr.ReplyTo)
	}
	fmt.Fprintf(&out, "%s: %s\r\n", HeaderScan, in.scanValue())
	if v := in.spamValue(); v != "" {
		fmt.Fprintf(&out, "%s: %s\r\n", HeaderSpam, v)
	}
	mw := multipart.NewWriter(&out)
	fmt.Fprintf(&out, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())

	words, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Disposition": {"inline"},
		"Content-Transfer-Encoding": {"quoted-printable"}})
	if err != nil {
		return nil, err
	}
	if err := writeQP(words, in.words(l)); err != nil {
		return nil, err
	}
	if in.Entity != nil {
		// The content as the sender wrote it, under its own Content
		// fields (a mail that came unencrypted is its own entity: its
		// transport header is the one above).
		fmt.Fprintf(&out, "\r\n--%s\r\n", mw.Boundary())
		head, body := splitEntity(in.Entity)
		for _, f := range headerFields(head) {
			if strings.HasPrefix(strings.ToLower(f), "content-") {
				out.WriteString(f + "\r\n")
			}
		}
		out.WriteString("\r\n")
		out.Write(body)
	} else {
		p, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"message/rfc822"}, "Content-Disposition": {`attachment; filename="original.eml"`}})
		if err != nil {
			return nil, err
		}
		p.Write(in.raw)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// scanValue is the HeaderScan value.
func (in *Inspection) scanValue() string {
	switch {
	case in.ScanErr != nil:
		return "not-scanned"
	case in.Scanned.Clean:
		return "clean"
	}
	return "found=" + in.Scanned.Found
}

// spamValue is the HeaderSpam value: "yes" or "no" with spamd's score,
// threshold and rules; "not-checked"; "off"; "" where the boundary does
// not check (a letter).
func (in *Inspection) spamValue() string {
	switch {
	case in.SpamErr != nil:
		return "not-checked"
	case in.SpamOff:
		return "off"
	case in.Spam == nil:
		return ""
	}
	v := fmt.Sprintf("no; score=%.1f; threshold=%.1f", in.Spam.Score, in.Spam.Threshold)
	if in.Spam.Spam {
		v = "yes" + v[2:]
	}
	if len(in.Spam.Rules) > 0 {
		v += "; rules=" + strings.Join(in.Spam.Rules, ",")
	}
	return v
}

// words is the first part: the report's summary and details, and the
// scanner's verdict, in l.
func (in *Inspection) words(l i18n.Lang) string {
	var b strings.Builder
	b.WriteString(in.Report.Summary(l))
	b.WriteString("\n\n")
	switch {
	case in.ScanErr != nil:
		b.WriteString(l.T("boundary.not_scanned", map[string]any{"Reason": l.Error(in.ScanErr)}))
	case in.Scanned.Clean:
		b.WriteString(l.T("boundary.clean", nil))
	default:
		b.WriteString(l.T("boundary.malware", map[string]any{"Found": in.Scanned.Found}))
	}
	b.WriteString(in.spamWords(l))
	if in.Entity == nil {
		b.WriteString("\n" + l.T("boundary.not_opened", nil))
	}
	b.WriteString("\n\n")
	for _, d := range in.Report.Details(l) {
		b.WriteString(d + "\n")
	}
	return b.String()
}

// spamWords is what the spam check said, as a line of the first part
// ("" where the boundary does not check).
func (in *Inspection) spamWords(l i18n.Lang) string {
	switch {
	case in.SpamErr != nil:
		return "\n" + l.T("boundary.spam_not_checked", map[string]any{"Reason": l.Error(in.SpamErr)})
	case in.SpamOff:
		return "\n" + l.T("boundary.spam_off", nil)
	case in.Spam == nil:
		return ""
	}
	args := map[string]any{"Score": l.Decimal(in.Spam.Score), "Threshold": l.Decimal(in.Spam.Threshold), "Folder": in.SpamFolder}
	if in.Spam.Spam {
		return "\n" + l.T("boundary.spam", args)
	}
	return "\n" + l.T("boundary.not_spam", args)
}

// writeQP writes text quoted-printable, its lines ended by CRLF.
func writeQP(w io.Writer, text string) error {
	qw := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qw, strings.ReplaceAll(text, "\n", "\r\n")); err != nil {
		return err
	}
	return qw.Close()
}

// splitEntity splits an entity into its header and its body.
func splitEntity(e []byte) (head, body []byte) {
	if h, b, ok := bytes.Cut(e, []byte("\r\n\r\n")); ok {
		if i := bytes.Index(e, []byte("\n\n")); i < 0 || i > len(h) {
			return h, b
		}
	}
	if h, b, ok := bytes.Cut(e, []byte("\n\n")); ok {
		return h, b
	}
	return e, nil
}

// headerFields splits a header into its fields, each with its folded
// lines joined by CRLF.
func headerFields(head []byte) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += "\r\n" + line
			continue
		}
		out = append(out, line)
	}
	return out
}
