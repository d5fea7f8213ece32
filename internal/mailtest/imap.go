package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// IMAP is a real IMAP server on loopback (go-imap v2's imapserver over
// its in-memory store) with TLS, SPECIAL-USE and shared-mailbox logins:
// "mailbox*user" with the user's password opens the mailbox's account
// when MayUse allows it — the form Dovecot's master users take.
type IMAP struct {
	Addr string
	TLS  *TLS
	// MayUse says whether user may log in to a shared mailbox account.
	MayUse func(user, account string) bool
	// Tokens, when set, lets XOAUTH2 in: whose a bearer token is, and
	// whether it is active (Introspect). As at Exchange Online, user= is
	// the account to open: the token's owner's, or a shared mailbox
	// MayUse lets the owner open.
	Tokens func(token string) (user string, active bool)
	// NoKeywords makes the server keep no keyword of the client's own,
	// as Exchange Online: PERMANENTFLAGS has no \*, and STORE keeps
	// only the system flags.
	NoKeywords bool
	// AppendLimit, when set, is the largest message APPEND takes (go-imap's
	// server takes 100 MiB unless told).
	AppendLimit uint32
	// dropAppends is how many APPENDs still to cut off midway.
	dropAppends int

	lifecycle
	connections atomic.Int64
	mu          sync.Mutex
	accounts    map[string]*account
	appended    map[string][]string // account/folder → Message-IDs
}

type account struct {
	name     string
	password string
	user     *imapmemserver.User
	special  map[string][]imap.MailboxAttr
}

// NewIMAPS starts the server with implicit TLS (port 993 style); Close
// stops it.
func NewIMAPS() (*IMAP, error) { return newIMAP(true) }

// StartIMAP starts the server with STARTTLS (port 143 style) and stops it
// when the test ends.
func StartIMAP(t T) *IMAP { t.Helper(); s, err := newIMAP(false); return started(t, s, err) }

// StartIMAPS is NewIMAPS for a test, stopped when the test ends.
func StartIMAPS(t T) *IMAP { t.Helper(); s, err := newIMAP(true); return started(t, s, err) }

func newIMAP(implicit bool) (*IMAP, error) {
	s := &IMAP{accounts: map[string]*account{}, appended: map[string][]string{}}
	var err error
	if s.TLS, err = s.tempTLS(); err != nil {
		return nil, err
	}
	opts := &imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{srv: s, conn: c}, nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapSpecialUse: {}, imap.CapUIDPlus: {},
			imap.CapLiteralPlus: {}, imap.CapListExtended: {}},
		Logger: silent{},
	}
	if !implicit {
		opts.TLSConfig = s.TLS.Server
	}
	srv := imapserver.New(opts)
	l, err := listen(implicit, s.TLS)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Addr = s.serve(countingListener{l, &s.connections}, srv.Serve, func() { srv.Close() })
	return s, nil
}

type silent struct{}

func (silent) Printf(string, ...any) {}

// AddAccount adds an account with an INBOX and, when sent is not "", a
// Sent folder of that name announced as \Sent.
func (s *IMAP) AddAccount(name, password, sent string) {
	u := imapmemserver.NewUser(name, password)
	a := &account{name: name, password: password, user: u, special: map[string][]imap.MailboxAttr{}}
	for _, f := range []string{"INBOX", sent} {
		if _, dup := a.special[f]; f == "" || dup {
			continue
		}
		if err := u.Create(f, nil); err != nil {
			panic(err) // a new user's folders are two of distinct names
		}
		a.special[f] = nil
	}
	if sent != "" {
		a.special[sent] = []imap.MailboxAttr{imap.MailboxAttrSent}
	}
	s.mu.Lock()
	s.accounts[name] = a
	s.mu.Unlock()
}

// Deliver puts msg into an account's INBOX, as the mail server does
// with mail that arrives.
func (s *IMAP) Deliver(account string, msg []byte) error {
	a := s.account(account)
	if a == nil {
		return fmt.Errorf("mailtest: no account %s", account)
	}
	_, err := a.user.Append("INBOX", literal{bytes.NewReader(msg)}, &imap.AppendOptions{Time: time.Now()})
	return err
}

// literal is a message as imapmemserver takes it.
type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }

func (s *IMAP) account(name string) *account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[name]
}

// imapSession is imapmemserver's session with our login and a LIST that
// announces special uses (the in-memory store keeps none).
type imapSession struct {
	*imapmemserver.UserSession
	srv  *IMAP
	acc  *account
	conn *imapserver.Conn
}

// DropAppends makes the next n APPENDs fail midway: the connection is
// cut after part of the message has arrived, and nothing is stored.
func (s *IMAP) DropAppends(n int) {
	s.mu.Lock()
	s.dropAppends = n
	s.mu.Unlock()
}

// AppendLimit implements imapserver.SessionAppendLimit.
func (s *imapSession) AppendLimit() uint32 {
	if s.srv.AppendLimit > 0 {
		return s.srv.AppendLimit
	}
	return 100 << 20
}

func (s *imapSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	s.srv.mu.Lock()
	drop := s.srv.dropAppends > 0
	if drop {
		s.srv.dropAppends--
	}
	s.srv.mu.Unlock()
	if drop {
		io.CopyN(io.Discard, r, r.Size()/2)
		s.conn.NetConn().Close()
		return nil, errors.New("mailtest: connection cut during APPEND")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data, err := s.UserSession.Append(mailbox, literal{bytes.NewReader(b)}, options)
	if err == nil {
		id := ""
		if m, err := mail.ReadMessage(bytes.NewReader(b)); err == nil {
			id = m.Header.Get("Message-ID")
		}
		s.srv.mu.Lock()
		key := s.acc.name + "/" + mailbox
		s.srv.appended[key] = append(s.srv.appended[key], id)
		s.srv.mu.Unlock()
	}
	return data, err
}

// Connections is how many connections the server has taken.
func (s *IMAP) Connections() int64 { return s.connections.Load() }

// Appended returns the Message-IDs of the messages APPENDed to an
// account's folder, in order ("" for one without).
func (s *IMAP) Appended(account, folder string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.appended[account+"/"+folder])
}

func (s *imapSession) Login(username, password string) error {
	name, user := username, username
	if m, u, ok := strings.Cut(username, "*"); ok {
		name, user = m, u
	}
	owner := s.srv.account(user)
	if owner == nil || owner.password != password {
		return imapserver.ErrAuthFailed
	}
	if name != user && (s.srv.MayUse == nil || !s.srv.MayUse(user, name)) {
		return imapserver.ErrAuthFailed
	}
	if s.acc = s.srv.account(name); s.acc == nil {
		return imapserver.ErrAuthFailed
	}
	s.UserSession = imapmemserver.NewUserSession(s.acc.user)
	return nil
}

// AuthenticateMechanisms implements imapserver.SessionSASL.
func (s *imapSession) AuthenticateMechanisms() []string {
	if s.srv.Tokens != nil {
		return []string{sasl.Plain, XOAuth2}
	}
	return []string{sasl.Plain}
}

// Authenticate implements imapserver.SessionSASL.
func (s *imapSession) Authenticate(mech string) (sasl.Server, error) {
	switch {
	case mech == sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return imapserver.ErrAuthFailed
			}
			return s.Login(username, password)
		}), nil
	case mech == XOAuth2 && s.srv.Tokens != nil:
		return &xoauth2Server{check: func(name, token string) error {
			owner, active := s.srv.Tokens(token)
			name = strings.ToLower(name)
			if !active || name != strings.ToLower(owner) && (s.srv.MayUse == nil || !s.srv.MayUse(strings.ToLower(owner), name)) {
				return imapserver.ErrAuthFailed
			}
			if s.acc = s.srv.account(name); s.acc == nil {
				return imapserver.ErrAuthFailed
			}
			s.UserSession = imapmemserver.NewUserSession(s.acc.user)
			return nil
		}}, nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

// Select implements imapserver.Session, without \* in PERMANENTFLAGS
// when the server keeps no keywords.
func (s *imapSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := s.UserSession.Select(mailbox, options)
	if err == nil && s.srv.NoKeywords {
		data.PermanentFlags = slices.DeleteFunc(slices.Clone(data.PermanentFlags), func(f imap.Flag) bool { return !strings.HasPrefix(string(f), `\`) || f == imap.FlagWildcard })
	}
	return data, err
}

// Store implements imapserver.Session, dropping keywords when the server
// keeps none (as Exchange Online answers OK and keeps nothing).
func (s *imapSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if s.srv.NoKeywords {
		f := *flags
		f.Flags = slices.DeleteFunc(slices.Clone(f.Flags), func(f imap.Flag) bool { return !strings.HasPrefix(string(f), `\`) })
		flags = &f
	}
	return s.UserSession.Store(w, numSet, flags, options)
}

func (s *imapSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

func (s *imapSession) Create(name string, options *imap.CreateOptions) error {
	if err := s.UserSession.Create(name, options); err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.acc.special[name] = nil
	s.srv.mu.Unlock()
	return nil
}

func (s *imapSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'})
	}
	s.srv.mu.Lock()
	special := maps.Clone(s.acc.special)
	s.srv.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(special)) {
		match := slices.ContainsFunc(patterns, func(p string) bool { return imapserver.MatchList(name, '/', ref, p) })
		attrs := special[name]
		if !match || (options.SelectSpecialUse && len(attrs) == 0) {
			continue
		}
		data := imap.ListData{Mailbox: name, Delim: '/'}
		if options.ReturnSpecialUse || options.SelectSpecialUse {
			data.Attrs = attrs
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}
