// Package mailstore is sikkermail's IMAP client, with
// github.com/emersion/go-imap/v2: it appends the sent message to a Sent
// folder (found by its SPECIAL-USE \Sent attribute, RFC 6154, else by a
// configured name) and the receipt to an INBOX, flagged \Seen; it lists,
// fetches, flags and moves the messages of a secure mailbox's inbox for
// its readers. It logs in with a password or XOAUTH2, and opens a shared
// mailbox with the user's own login. TLS is always on and verified
// (implicit on port 993, STARTTLS on 143).
//
// Appending is idempotent: a message whose Message-ID is already in the
// folder is not appended again, so a retry after a crash between APPEND
// and recording it leaves one copy.
package mailstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"sikkermail/internal/i18n"
	"sikkermail/internal/xoauth2"
)

// Security is how the connection is protected: "tls" (port 993) or
// "starttls" (port 143, refused when the server does not offer it).
type Security string

// The two ways; there is no plaintext way.
const (
	ImplicitTLS Security = "tls"
	StartTLS    Security = "starttls"
)

// Server is an IMAP server.
type Server struct {
	Addr     string
	Security Security
	// TLS holds the roots the server's certificate must chain to (nil:
	// the system's).
	TLS *tls.Config
	// Timeout bounds the whole session; 0 means one minute.
	Timeout time.Duration
	// Debug, when set, receives the protocol trace (give it a
	// *protolog.Writer: credentials and mail left out).
	Debug io.Writer
	// Pool, when set, keeps sessions logged in between uses.
	Pool *Pool
}

// Account is a login: a person's own, or a shared mailbox's (for
// example "mailbox*user" on Dovecot with master users, or
// "user\mailbox" on Exchange).
type Account struct {
	Username string
	// Secret is the password, or the OAuth 2.0 access token for XOAUTH2.
	Secret string
	// XOAuth2 logs in with AUTHENTICATE XOAUTH2 instead of LOGIN.
	XOAuth2 bool
	// Service: the token is the service's own (app-only), not a user's
	// sign-in, so its sessions may be kept like a password's.
	Service bool
}

// AppendSent stores msg in the account's Sent folder: the one marked
// \Sent, else fallback (created when missing). It returns the folder.
func (s Server) AppendSent(ctx context.Context, acc Account, fallback, messageID string, msg Message) (string, error) {
	var folder string
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		var err error
		if folder, err = sentFolder(c, fallback); err != nil {
			return err
		}
		return appendOnce(c, folder, messageID, msg)
	})
	return folder, s.wrap(err, acc, folder)
}

// AppendInbox stores msg in the account's INBOX.
func (s Server) AppendInbox(ctx context.Context, acc Account, messageID string, msg Message) error {
	err := s.session(ctx, acc, func(c *imapclient.Client) error { return appendOnce(c, "INBOX", messageID, msg) })
	return s.wrap(err, acc, "INBOX")
}

// Deliver stores msg in folder, unread unless seen, unless a message
// there already has the header name with value (a delivery done before a
// crash): what the gateway delivers at the boundary. A folder other than
// INBOX that is not there is made.
func (s Server) Deliver(ctx context.Context, acc Account, folder, name, value string, msg Message, seen bool) error {
	var flags []imap.Flag
	if seen {
		flags = []imap.Flag{imap.FlagSeen}
	}
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		if !strings.EqualFold(folder, "INBOX") {
			var err error
			if folder, err = ensureFolder(c, folder); err != nil {
				return err
			}
		}
		return appendUnless(c, folder, name, value, msg, flags)
	})
	return s.wrap(err, acc, folder)
}

// ensureFolder makes folder unless it is there, and returns its name on
// the server: a "/" in it is the server's own hierarchy delimiter.
func ensureFolder(c *imapclient.Client, folder string) (string, error) {
	root, err := c.List("", "", nil).Collect()
	if err != nil {
		return "", err
	}
	if len(root) > 0 && root[0].Delim != 0 && root[0].Delim != '/' {
		folder = strings.ReplaceAll(folder, "/", string(root[0].Delim))
	}
	there := func() (bool, error) {
		list, err := c.List("", folder, nil).Collect()
		return len(list) > 0, err
	}
	if ok, err := there(); ok || err != nil {
		return folder, err
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		// Another session (an instance beside this one) may have made it
		// since: then it is there, as wanted.
		if ok, lerr := there(); !ok || lerr != nil {
			return folder, err
		}
	}
	return folder, nil
}

// Fetch returns the messages in folder with the Message-ID, whole.
func (s Server) Fetch(ctx context.Context, acc Account, folder, messageID string) ([][]byte, error) {
	return s.FetchBy(ctx, acc, folder, "Message-ID", messageID)
}

// FetchBy returns the messages in folder whose header name is value,
// whole.
func (s Server) FetchBy(ctx context.Context, acc Account, folder, name, value string) ([][]byte, error) {
	var out [][]byte
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			return err
		}
		uids, err := find(c, name, value)
		if err != nil || len(uids) == 0 {
			return err
		}
		out, err = bodies(c, uids...)
		return err
	})
	return out, s.wrap(err, acc, folder)
}

// bodies fetches whole messages of the selected folder by UID, without
// marking them seen.
func bodies(c *imapclient.Client, uids ...imap.UID) ([][]byte, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	var out [][]byte
	for _, m := range msgs {
		out = append(out, m.FindBodySection(section))
	}
	return out, err
}

// session logs in, runs f, and logs out; the connection is closed when
// ctx ends or the timeout passes. With a Pool, a session kept for the
// account is used instead (when it still answers NOOP), and kept again
// after f unless f failed.
func (s Server) session(ctx context.Context, acc Account, f func(*imapclient.Client) error) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pooled := s.Pool != nil && (!acc.XOAuth2 || acc.Service)
	if pooled {
		if kept := s.Pool.take(s.key(acc)); kept != nil {
			stop := context.AfterFunc(ctx, func() { kept.conn.Close() })
			if kept.c.Noop().Wait() == nil {
				err := f(kept.c)
				stop()
				if err == nil {
					s.Pool.keep(s.key(acc), kept)
					return nil
				}
				kept.c.Close()
				return err
			}
			stop()
			kept.c.Close() // the server has let it go: a new one
		}
	}
	c, conn, err := s.login(ctx, acc)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := f(c); err != nil {
		c.Close()
		return err
	}
	if pooled && stop() {
		s.Pool.keep(s.key(acc), &keptSession{c: c, conn: conn})
		return nil
	}
	defer c.Close()
	return c.Logout().Wait()
}

// login connects, brings TLS up, and logs in.
func (s Server) login(ctx context.Context, acc Account) (*imapclient.Client, net.Conn, error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLS != nil {
		cfg = s.TLS.Clone()
		cfg.InsecureSkipVerify = false
	}
	cfg.ServerName = host
	var conn net.Conn
	if s.Security == StartTLS {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *imapclient.Client
	if s.Security == StartTLS {
		if c, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: cfg, DebugWriter: s.Debug}); err != nil {
			conn.Close()
			return nil, nil, err
		}
	} else {
		c = imapclient.New(conn, &imapclient.Options{DebugWriter: s.Debug})
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, nil, err
	}
	if acc.XOAuth2 {
		err = c.Authenticate(xoauth2.NewClient(acc.Username, acc.Secret))
	} else {
		err = c.Login(acc.Username, acc.Secret).Wait()
	}
	if err != nil {
		c.Close()
		return nil, nil, &loginError{err}
	}
	return c, conn, nil
}

type loginError struct{ error }

func (e *loginError) Unwrap() error { return e.error }

// sentFolder finds the Sent folder, creating fallback when there is none.
func sentFolder(c *imapclient.Client, fallback string) (string, error) {
	folder, err := findSent(c, fallback)
	if !errors.Is(err, errNoSent) {
		return folder, err
	}
	return ensureFolder(c, fallback)
}

var errNoSent = errors.New("no Sent folder")

func findSent(c *imapclient.Client, fallback string) (string, error) {
	opts := &imap.ListOptions{}
	if c.Caps().Has(imap.CapSpecialUse) {
		opts.ReturnSpecialUse = true
	}
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		return "", err
	}
	named := false
	for _, l := range list {
		for _, a := range l.Attrs {
			if a == imap.MailboxAttrSent {
				return l.Mailbox, nil
			}
		}
		named = named || l.Mailbox == fallback
	}
	if named {
		return fallback, nil
	}
	if fallback == "" {
		fallback = "Sent"
	}
	return fallback, errNoSent
}

// Message is a message to store: read once, of a known size (IMAP's
// APPEND says it first). *bytes.Reader is one; so is a sealed file of
// the outbox.
type Message interface {
	io.Reader
	Size() int64
}

// ReadError is a message that could not be read to its end: the APPEND
// was cut off with the connection, so the server stored nothing.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "mailstore: reading the message: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// countingReader keeps the error of the reader it wraps apart from the
// connection's, and counts what it gave.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// appendOnce appends msg to folder, flagged \Seen, unless a message with
// the same Message-ID is there already.
func appendOnce(c *imapclient.Client, folder, messageID string, msg Message) error {
	return appendUnless(c, folder, "Message-ID", messageID, msg, []imap.Flag{imap.FlagSeen})
}

// appendUnless appends msg to folder with flags unless a message there
// has the header name with value.
func appendUnless(c *imapclient.Client, folder, name, value string, msg Message, flags []imap.Flag) error {
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		return err
	}
	uids, err := find(c, name, value)
	if err != nil || len(uids) > 0 {
		return err
	}
	cmd := c.Append(folder, msg.Size(), &imap.AppendOptions{Flags: flags, Time: time.Now()})
	r := &countingReader{r: msg}
	_, err = io.Copy(cmd, r)
	if r.err == nil && err == nil && r.n != msg.Size() {
		r.err = io.ErrUnexpectedEOF
	}
	if r.err != nil {
		// Half a literal must never be ended: the rest of the session
		// would be read as the message's bytes.
		c.Close()
		return &ReadError{Err: r.err}
	}
	if err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err = cmd.Wait()
	return err
}

// find returns the UIDs of the selected folder's messages whose header
// name is value. IMAP's HEADER search matches substrings, so each hit's
// header is compared exactly.
func find(c *imapclient.Client, name, value string) ([]imap.UID, error) {
	if value == "" {
		return nil, nil
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: name, Value: value}}}, nil).Wait()
	if err != nil {
		return nil, err
	}
	uids := data.AllUIDs()
	if len(uids) == 0 {
		return nil, nil
	}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{name}, Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, err
	}
	var out []imap.UID
	for _, m := range msgs {
		h := bytes.TrimSpace(m.FindBodySection(section))
		_, v, _ := bytes.Cut(h, []byte(":"))
		if string(bytes.TrimSpace(v)) == value {
			out = append(out, m.UID)
		}
	}
	return out, nil
}

// Error is a failed IMAP operation on an account's folder.
type Error struct {
	Server, Account, Folder string
	// Temporary is true when trying again later may succeed.
	Temporary bool
	// Login is true when the server refused the login.
	Login bool
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("mailstore: %s, %s, %q: %v", e.Server, e.Account, e.Folder, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether the outbox should try again by itself.
func (e *Error) IsTemporary() bool { return e.Temporary }

func (s Server) wrap(err error, acc Account, folder string) error {
	var re *ReadError
	if err == nil || errors.As(err, &re) {
		return err // our own message, not the server, failed
	}
	e := &Error{Server: s.Addr, Account: acc.Username, Folder: folder, Err: err}
	var ierr *imap.Error
	var lerr *loginError
	var verr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &lerr):
		e.Login = true
	case errors.As(err, &verr):
	case errors.As(err, &ierr):
		// NO and BAD are the server's answer; only a few codes say
		// that waiting helps.
		switch ierr.Code {
		case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse, imap.ResponseCodeLimit, imap.ResponseCodeServerBug:
			e.Temporary = true
		}
	default:
		e.Temporary = true
	}
	return e
}

// Localize names the sentence for a user.
func (e *Error) Localize() i18n.Message {
	key := "mailstore.failed"
	switch {
	case e.Login:
		key = "mailstore.login"
	case e.Temporary:
		key = "mailstore.temporary"
	}
	return i18n.Message{Key: key, Args: map[string]any{"Server": e.Server, "Account": e.Account, "Folder": e.Folder, "Detail": e.Err.Error()}}
}
