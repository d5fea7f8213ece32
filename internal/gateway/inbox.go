package gateway

import (
	"net/http"
	"net/mail"
	"strconv"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
)

// The secure inboxes, read through the gateway by those with the read
// right: the gateway opens each message with the mailbox's key (or, for
// one its boundary delivered, the original as it came) and tells the
// reader what it holds and how securely it came. The reader's PC holds
// no key.

// InboxItemView is a message as the inbox lists it.
type InboxItemView struct {
	UID      uint32    `json:"uid"`
	From     string    `json:"from"`
	FromName string    `json:"from_name,omitempty"`
	Subject  string    `json:"subject"`
	Date     time.Time `json:"date"`
	Size     int64     `json:"size"`
	Badge    string    `json:"badge"`
	Handled  bool      `json:"handled"`
	Flags    []string  `json:"flags"`
}

// OpenedView is a message opened: its header, its content and the
// report of how securely it came.
type OpenedView struct {
	Mailbox   string       `json:"mailbox"`
	UID       uint32       `json:"uid"`
	From      []string     `json:"from"`
	Sender    []string     `json:"sender,omitempty"`
	To        []string     `json:"to"`
	Subject   string       `json:"subject"`
	Date      time.Time    `json:"date"`
	MessageID string       `json:"message_id,omitempty"`
	Content   *ContentView `json:"content,omitempty"`
	Report    ReportView   `json:"report"`
	// Summary and Details are the report in the caller's language.
	Summary string   `json:"summary"`
	Details []string `json:"details"`
}

// ContentView is what a message holds; nil when it could not be opened.
type ContentView struct {
	Text        string           `json:"text"`
	FromHTML    bool             `json:"from_html,omitempty"`
	Attachments []AttachmentView `json:"attachments"`
	Unreadable  []PartView       `json:"unreadable,omitempty"`
}

// PartView is a part that could not be read.
type PartView struct {
	Name  string    `json:"name,omitempty"`
	Error ErrorView `json:"error"`
}

// ReportView is core.Report with its errors as the API tells them.
type ReportView struct {
	Encrypted     bool         `json:"encrypted"`
	Cipher        string       `json:"cipher,omitempty"`
	KeyTransport  string       `json:"key_transport,omitempty"`
	Authenticated bool         `json:"authenticated,omitempty"`
	Signed        bool         `json:"signed"`
	Signers       []SignerView `json:"signers,omitempty"`
	FromMatches   bool         `json:"from_matches"`
	TwoFrom       bool         `json:"two_from,omitempty"`
	Sender        string       `json:"sender,omitempty"`
	HiddenFrom    [][2]string  `json:"hidden_from,omitempty"`
	SubjectSigned bool         `json:"subject_signed,omitempty"`
	OuterSubject  string       `json:"outer_subject,omitempty"`
	Bare          bool         `json:"bare,omitempty"`
	Hops          []HopView    `json:"hops,omitempty"`
	Scan          string       `json:"scan,omitempty"`
	Letter        *LetterView  `json:"letter,omitempty"`
	Error         *ErrorView   `json:"error,omitempty"`
	Secure        bool         `json:"secure"`
}

// LetterView is a letter that came through Digital Post: from whom (the
// number masked for a CPR number), and the number a reply goes to.
type LetterView struct {
	Number  string `json:"number"`
	Name    string `json:"name"`
	Label   string `json:"label"`
	ReplyTo string `json:"reply_to"`
}

// SignerView is one signer.
type SignerView struct {
	Subject      string     `json:"subject"`
	Issuer       string     `json:"issuer"`
	Emails       []string   `json:"emails,omitempty"`
	NotBefore    time.Time  `json:"not_before"`
	NotAfter     time.Time  `json:"not_after"`
	CVR          string     `json:"cvr,omitempty"`
	Trusted      bool       `json:"trusted"`
	SigningTime  time.Time  `json:"signing_time,omitzero"`
	ExpiredSince bool       `json:"expired_since,omitempty"`
	Revocation   *ErrorView `json:"revocation,omitempty"`
	NotRevoked   bool       `json:"not_revoked,omitempty"`
	Error        *ErrorView `json:"error,omitempty"`
}

// HopView is one transport hop.
type HopView struct {
	From string    `json:"from"`
	By   string    `json:"by"`
	With string    `json:"with"`
	TLS  bool      `json:"tls"`
	Time time.Time `json:"time,omitzero"`
}

// ForwardRequest forwards an opened message inside the institution.
type ForwardRequest struct {
	To   []string `json:"to"`
	Note string   `json:"note,omitempty"`
}

// HandledRequest marks a message handled, or not.
type HandledRequest struct {
	Handled bool `json:"handled"`
}

// ReplyView is what a secure reply starts from.
type ReplyView struct {
	Mailbox string `json:"mailbox"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

func (s *Server) inboxList(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	list, err := c.InboxList(r.Context(), r.PathValue("mailbox"))
	if err != nil {
		return err
	}
	out := []InboxItemView{}
	for _, m := range list {
		out = append(out, InboxItemView{UID: m.UID, From: m.From, FromName: m.FromName, Subject: m.Subject, Date: m.Date, Size: m.Size,
			Badge: string(m.Badge), Handled: m.Handled, Flags: m.Flags})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// uidOf is the message's UID the request names.
func uidOf(r *http.Request) (uint32, error) {
	uid, err := strconv.ParseUint(r.PathValue("uid"), 10, 32)
	if err != nil {
		return 0, &Error{Reason: NotFound, Detail: r.PathValue("uid")}
	}
	return uint32(uid), nil
}

// opened opens the message of the request.
func opened(r *http.Request, c *core.Core) (*core.OpenedMail, error) {
	uid, err := uidOf(r)
	if err != nil {
		return nil, err
	}
	return c.InboxOpen(r.Context(), r.PathValue("mailbox"), uid)
}

func (s *Server) inboxOpen(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	m, err := opened(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, openedView(lang(r), m))
	return nil
}

func (s *Server) inboxHandled(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	var req HandledRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	uid, err := uidOf(r)
	if err != nil {
		return err
	}
	if err := c.MarkHandled(r.Context(), r.PathValue("mailbox"), uid, req.Handled); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) inboxForward(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	var req ForwardRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	m, err := opened(r, c)
	if err != nil {
		return err
	}
	q, err := c.Forward(r.Context(), m, req.To, req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, Submitted{ID: q.ID, MessageID: q.MessageID})
	return nil
}

func (s *Server) inboxReply(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	m, err := opened(r, c)
	if err != nil {
		return err
	}
	rp, err := c.Reply(r.Context(), m)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ReplyView{Mailbox: rp.Mailbox, To: rp.To, Subject: rp.Draft.Subject, Body: rp.Draft.Body})
	return nil
}

func openedView(l i18n.Lang, m *core.OpenedMail) OpenedView {
	v := OpenedView{Mailbox: m.Mailbox, UID: m.UID, From: addresses(m.From), Sender: addresses(m.Sender), To: addresses(m.To),
		Subject: m.Subject, Date: m.Date, MessageID: m.MessageID, Summary: m.Report.Summary(l), Details: m.Report.Details(l)}
	if c := m.Content; c != nil {
		cv := &ContentView{Text: c.Text, FromHTML: c.FromHTML, Attachments: []AttachmentView{}}
		for _, a := range c.Attachments {
			cv.Attachments = append(cv.Attachments, AttachmentView{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
		}
		for _, u := range c.Unreadable {
			cv.Unreadable = append(cv.Unreadable, PartView{Name: u.Name, Error: errorView(l, u.Err)})
		}
		v.Content = cv
	}
	rp := m.Report
	v.Report = ReportView{Encrypted: rp.Encrypted, Cipher: rp.Cipher, KeyTransport: rp.KeyTransport, Authenticated: rp.Authenticated,
		Signed: rp.Signed, FromMatches: rp.FromMatches, TwoFrom: rp.TwoFrom, Sender: rp.Sender, HiddenFrom: rp.HiddenFrom,
		SubjectSigned: rp.SubjectSigned, OuterSubject: rp.OuterSubject, Bare: rp.Bare, Scan: rp.Scan, Error: optionalError(l, rp.Err), Secure: rp.Secure()}
	if lr := rp.Letter; lr != nil {
		v.Report.Letter = &LetterView{Number: lr.Number, Name: lr.Name, Label: lr.Label, ReplyTo: lr.ReplyTo}
	}
	for _, h := range rp.Hops {
		v.Report.Hops = append(v.Report.Hops, HopView{From: h.From, By: h.By, With: h.With, TLS: h.TLS, Time: h.Time})
	}
	for _, sg := range rp.Signers {
		v.Report.Signers = append(v.Report.Signers, SignerView{Subject: sg.Subject, Issuer: sg.Issuer, Emails: sg.Emails, NotBefore: sg.NotBefore,
			NotAfter: sg.NotAfter, CVR: sg.CVR, Trusted: sg.Trusted, SigningTime: sg.SigningTime, ExpiredSince: sg.ExpiredSince,
			Revocation: optionalError(l, sg.Revocation), NotRevoked: sg.NotRevoked, Error: optionalError(l, sg.Err)})
	}
	return v
}

func optionalError(l i18n.Lang, err error) *ErrorView {
	if err == nil {
		return nil
	}
	e := errorView(l, err)
	return &e
}

func addresses(as []*mail.Address) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// openedMail is an OpenedView as the client's core.OpenedMail: the
// report's errors are the gateway's, told in the client's language from
// their codes.
func openedMail(v OpenedView) *core.OpenedMail {
	m := &core.OpenedMail{Mailbox: v.Mailbox, UID: v.UID, From: parsed(v.From), Sender: parsed(v.Sender), To: parsed(v.To),
		Subject: v.Subject, Date: v.Date, MessageID: v.MessageID}
	if c := v.Content; c != nil {
		m.Content = &message.Received{Text: c.Text, FromHTML: c.FromHTML}
		for _, a := range c.Attachments {
			m.Content.Attachments = append(m.Content.Attachments, message.Attachment{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
		}
		for _, u := range c.Unreadable {
			m.Content.Unreadable = append(m.Content.Unreadable, message.PartError{Name: u.Name, Err: remote(&u.Error)})
		}
	}
	rp := v.Report
	m.Report = core.Report{Encrypted: rp.Encrypted, Cipher: rp.Cipher, KeyTransport: rp.KeyTransport, Authenticated: rp.Authenticated,
		Signed: rp.Signed, FromMatches: rp.FromMatches, TwoFrom: rp.TwoFrom, Sender: rp.Sender, HiddenFrom: rp.HiddenFrom,
		SubjectSigned: rp.SubjectSigned, OuterSubject: rp.OuterSubject, Bare: rp.Bare, Scan: rp.Scan, Err: remote(rp.Error)}
	if m.Content != nil {
		m.Report.Unreadable = m.Content.Unreadable
	}
	if lv := rp.Letter; lv != nil {
		m.Report.Letter = &core.LetterReport{Number: lv.Number, Name: lv.Name, Label: lv.Label, ReplyTo: lv.ReplyTo}
	}
	for _, h := range rp.Hops {
		m.Report.Hops = append(m.Report.Hops, message.Hop{From: h.From, By: h.By, With: h.With, TLS: h.TLS, Time: h.Time})
	}
	for _, sg := range rp.Signers {
		m.Report.Signers = append(m.Report.Signers, core.SignerReport{Subject: sg.Subject, Issuer: sg.Issuer, Emails: sg.Emails, NotBefore: sg.NotBefore,
			NotAfter: sg.NotAfter, CVR: sg.CVR, Trusted: sg.Trusted, SigningTime: sg.SigningTime, ExpiredSince: sg.ExpiredSince,
			Revocation: remote(sg.Revocation), NotRevoked: sg.NotRevoked, Err: remote(sg.Error)})
	}
	return m
}

// remote is an error the gateway told, nil for none.
func remote(v *ErrorView) error {
	if v == nil {
		return nil
	}
	return &RemoteError{Status: http.StatusOK, View: *v}
}

func parsed(as []string) []*mail.Address {
	var out []*mail.Address
	for _, s := range as {
		if a, err := mail.ParseAddress(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}
