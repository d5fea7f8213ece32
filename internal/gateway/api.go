package gateway

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
)

func (s *Server) routeAll() {
	s.route("GET /v1/me", false, s.me)
	s.route("POST /v1/check", false, s.check)
	s.route("GET /v1/suggest", false, s.suggest)
	s.route("POST /v1/mails", false, s.submit)
	s.route("GET /v1/sealing-certificate", false, s.sealingCertificate)
	s.route("GET /v1/drafts", false, s.drafts)
	s.route("GET /v1/drafts/{id}", false, s.draftGet)
	s.route("PUT /v1/drafts/{id}", false, s.draftPut)
	s.route("DELETE /v1/drafts/{id}", false, s.draftDelete)
	s.route("GET /v1/inbox/{mailbox}", false, s.inboxList)
	s.route("GET /v1/inbox/{mailbox}/{uid}", false, s.inboxOpen)
	s.route("PUT /v1/inbox/{mailbox}/{uid}/handled", false, s.inboxHandled)
	s.route("POST /v1/inbox/{mailbox}/{uid}/forward", false, s.inboxForward)
	s.route("GET /v1/inbox/{mailbox}/{uid}/reply", false, s.inboxReply)
	s.route("GET /v1/outbox", false, s.outboxList)
	s.route("GET /v1/outbox/{id}", false, s.outboxGet)
	s.route("POST /v1/outbox/{id}/retry", false, s.outboxRetry)
	s.route("DELETE /v1/outbox/{id}", false, s.outboxRemove)
	s.route("GET /v1/holders", true, s.holders)
	s.route("POST /v1/rights", true, s.grant)
	s.route("DELETE /v1/rights", true, s.revoke)
	s.route("GET /v1/audit", true, s.audit)
	s.route("GET /v1/audit/verify", true, s.auditVerify)
}

// MailboxView is a secure mailbox as a caller sees it: never where its
// key is.
type MailboxView struct {
	Address    string     `json:"address"`
	Name       string     `json:"name"`
	Department string     `json:"department"`
	CanSend    bool       `json:"can_send"`
	CanRead    bool       `json:"can_read"`
	Why        *ErrorView `json:"why,omitempty"`
}

// Me is the caller, with every mailbox and their rights to it.
type Me struct {
	User      string        `json:"user"`
	Name      string        `json:"name"`
	Helpdesk  bool          `json:"helpdesk"`
	Mailboxes []MailboxView `json:"mailboxes"`
	Limits    LimitsView    `json:"limits"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	choices, err := c.Mailboxes(r.Context())
	if err != nil {
		return err
	}
	hd, err := c.IsHelpdesk(r.Context())
	if err != nil {
		return err
	}
	out := Me{User: c.User(), Name: c.UserName(), Helpdesk: hd, Mailboxes: []MailboxView{}, Limits: limitsView(c)}
	for _, m := range choices {
		v := MailboxView{Address: m.Address, Name: m.Name, Department: m.Department, CanSend: m.CanSend, CanRead: m.CanRead}
		if m.Why != nil {
			e := errorView(lang(r), m.Why)
			v.Why = &e
		}
		out.Mailboxes = append(out.Mailboxes, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// CheckRequest is the recipients to check, as typed.
type CheckRequest struct {
	Recipients []string `json:"recipients"`
}

// VerdictView is one recipient's verdict: green with its channel, or red
// with the reason.
type VerdictView struct {
	Input   string `json:"input"`
	OK      bool   `json:"ok"`
	Channel string `json:"channel,omitempty"`
	Name    string `json:"name,omitempty"`
	Cipher  string `json:"cipher,omitempty"`
	Source  string `json:"source,omitempty"`
	// Certificates are the recipient's valid certificates, DER in
	// base64, for the caller to show.
	Certificates []string    `json:"certificates,omitempty"`
	Error        *ErrorView  `json:"error,omitempty"`
	Notes        []ErrorView `json:"notes,omitempty"`
}

func (s *Server) check(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	var req CheckRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if len(req.Recipients) > 500 {
		return &Error{Reason: BadRequest, Detail: "at most 500 recipients"}
	}
	l := lang(r)
	out := []VerdictView{}
	for _, v := range c.Check(r.Context(), req.Recipients) {
		out = append(out, verdictView(l, v))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// SuggestionView is a recipient offered as the user types.
type SuggestionView struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
}

// maxTyped bounds what is matched of a suggest's q.
const maxTyped = 200

func (s *Server) suggest(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	q := r.URL.Query()
	typed := q.Get("q")
	if len(typed) > maxTyped {
		return &Error{Reason: BadRequest, Detail: "q: at most 200 characters"}
	}
	found := c.Suggest
	if q.Get("directories") == "true" {
		found = c.SuggestFromDirectories
	}
	out := []SuggestionView{}
	for _, f := range found(r.Context(), typed) {
		out = append(out, SuggestionView{Address: f.Address, Name: f.Name})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func verdictView(l i18n.Lang, v directory.Verdict) VerdictView {
	out := VerdictView{Input: v.Input, OK: v.OK(), Channel: string(v.Channel), Name: v.Name, Source: v.Source}
	if v.OK() && v.Channel == directory.SMIME {
		out.Cipher = v.Cipher.String()
	}
	for _, c := range v.Certs {
		out.Certificates = append(out.Certificates, base64.StdEncoding.EncodeToString(c.Raw))
	}
	if v.Err != nil {
		e := errorView(l, v.Err)
		out.Error = &e
	}
	for _, n := range v.Notes() {
		out.Notes = append(out.Notes, ErrorView{Code: n.Key, Args: n.Args, Message: l.M(n)})
	}
	return out
}

// MailView is a mail in the outbox: never its content.
type MailView struct {
	ID         int64      `json:"id"`
	MessageID  string     `json:"message_id"`
	Created    time.Time  `json:"created"`
	User       string     `json:"user"`
	Mailbox    string     `json:"mailbox"`
	Recipients []string   `json:"recipients"`
	Cc         []string   `json:"cc"`
	Subject    string     `json:"subject"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	NextTry    time.Time  `json:"next_try"`
	Error      *ErrorView `json:"error,omitempty"`
	Finished   *time.Time `json:"finished,omitempty"`
	// Receipt is set when the mail is delivered.
	Receipt *core.Receipt `json:"receipt,omitempty"`
	// StepsDone of StepsTotal of the mail's steps are done.
	StepsDone  int `json:"steps_done"`
	StepsTotal int `json:"steps_total"`
}

func mailView(l i18n.Lang, c *core.Core, m *outbox.Mail) MailView {
	v := MailView{ID: m.ID, MessageID: m.MessageID, Created: m.Created, User: m.User, Mailbox: m.Mailbox,
		Recipients: m.Recipients, Cc: m.Cc, Subject: m.Subject, State: string(m.State), Attempts: m.Attempts, NextTry: m.NextTry}
	v.StepsDone, v.StepsTotal = c.Progress(m)
	if m.Err != nil {
		e := ErrorView{Code: m.Err.Message.Key, Args: m.Err.Message.Args, Message: l.M(m.Err.Message)}
		v.Error = &e
	}
	if !m.Finished.IsZero() {
		v.Finished = &m.Finished
	}
	return v
}

// own returns the caller's mail id: another's is not found, as if it
// were not there.
func own(r *http.Request, c *core.Core) (*outbox.Mail, *core.Receipt, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, nil, &Error{Reason: NotFound, Detail: r.PathValue("id")}
	}
	m, rc, err := c.ReceiptOf(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	if m.User != c.User() {
		return nil, nil, &outbox.NotFoundError{ID: id}
	}
	return m, rc, nil
}

func (s *Server) outboxList(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	all, err := c.OutboxList(r.Context())
	if err != nil {
		return err
	}
	out := []MailView{}
	for i := range all {
		if all[i].User == c.User() {
			out = append(out, mailView(lang(r), c, &all[i]))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) outboxGet(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	m, rc, err := own(r, c)
	if err != nil {
		return err
	}
	v := mailView(lang(r), c, m)
	v.Receipt = rc
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) outboxRetry(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	return onOwn(w, r, c, c.Retry)
}

func (s *Server) outboxRemove(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	return onOwn(w, r, c, c.Remove)
}

// onOwn does f to the caller's own mail of the request.
func onOwn(w http.ResponseWriter, r *http.Request, c *core.Core, f func(context.Context, int64) error) error {
	m, _, err := own(r, c)
	if err != nil {
		return err
	}
	if err := f(r.Context(), m.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// HoldersView is a mailbox with who holds which right, and its
// certificate's expiry.
type HoldersView struct {
	Mailbox    string              `json:"mailbox"`
	Name       string              `json:"name"`
	Department string              `json:"department"`
	Holders    map[string][]string `json:"holders"`
	// Certificate is the mailbox's certificate, DER in base64.
	Certificate string     `json:"certificate,omitempty"`
	Expires     *time.Time `json:"certificate_expires,omitempty"`
	CertError   *ErrorView `json:"certificate_error,omitempty"`
}

func (s *Server) holders(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	all, err := c.AllHolders(r.Context())
	if err != nil {
		return err
	}
	out := []HoldersView{}
	for _, h := range all {
		v := HoldersView{Mailbox: h.Mailbox.Address, Name: h.Mailbox.Name, Department: h.Mailbox.Department, Holders: map[string][]string{}}
		for _, p := range h.Holders {
			for _, right := range p.Rights {
				v.Holders[p.User] = append(v.Holders[p.User], string(right))
			}
		}
		if h.Certificate != nil {
			v.Certificate, v.Expires = base64.StdEncoding.EncodeToString(h.Certificate.Raw), &h.Certificate.NotAfter
		}
		if h.CertErr != nil {
			e := errorView(lang(r), h.CertErr)
			v.CertError = &e
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// RightRequest grants or revokes one right.
type RightRequest struct {
	User    string `json:"user"`
	Mailbox string `json:"mailbox"`
	Right   string `json:"right"`
}

func (s *Server) grant(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	return s.change(w, r, c.Grant)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	return s.change(w, r, c.Revoke)
}

func (s *Server) change(w http.ResponseWriter, r *http.Request, f func(context.Context, string, string, policy.Right) error) error {
	var req RightRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	right, err := policy.ParseRight(req.Right)
	if err != nil {
		return err
	}
	if err := f(r.Context(), req.User, req.Mailbox, right); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// EntryView is one line of the audit log.
type EntryView struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Machine   string    `json:"machine"`
	Action    string    `json:"action"`
	Mailbox   string    `json:"mailbox,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Right     string    `json:"right,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	Receipt   string    `json:"receipt,omitempty"`
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	var since time.Time
	if q := r.URL.Query().Get("since"); q != "" {
		t, err := time.Parse(time.RFC3339, q)
		if err != nil {
			return &Error{Reason: BadRequest, Detail: "since: " + err.Error()}
		}
		since = t
	}
	entries, err := c.AuditLog(r.Context(), since)
	if err != nil {
		return err
	}
	out := []EntryView{}
	for _, e := range entries {
		out = append(out, EntryView{ID: e.ID, Time: e.Time, Actor: e.Actor.User, Machine: e.Actor.Machine, Action: e.Action,
			Mailbox: e.Mailbox, Subject: e.Subject, Right: string(e.Right), MessageID: e.MessageID, Receipt: e.Receipt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// AuditCheckView is what checking the audit log's hash chain found.
type AuditCheckView struct {
	Entries int   `json:"entries"`
	Chained int   `json:"chained"`
	Broken  int64 `json:"broken,omitempty"`
	Missing bool  `json:"missing,omitempty"`
	OK      bool  `json:"ok"`
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	a, err := c.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, AuditCheckView{Entries: a.Entries, Chained: a.Chained, Broken: a.Broken, Missing: a.Missing, OK: a.OK()})
	return nil
}
