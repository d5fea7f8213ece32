package digitalpost

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The receipt states of a delivered message.
const (
	// StatusReceived: Digital Post has the message and will deliver it.
	StatusReceived = "RECEIVED"
	// StatusCompleted: delivered to the recipient's mailbox.
	StatusCompleted = "COMPLETED"
	// StatusInvalid: the message does not follow MeMo.
	StatusInvalid = "INVALID"
	// StatusNotAllowed: the sender may not send it, or the recipient may
	// not receive it.
	StatusNotAllowed = "NOT_ALLOWED"
	// StatusBadRequest is ours, not the service's: a 400, refused before
	// it was taken.
	StatusBadRequest = "BAD_REQUEST"
)

// Client speaks Digital Post's sender-system REST API (NgDP, as the
// OpenAPI document 1.68.0 publishes it) over mutual TLS: the institution
// is known by its certificate, the calling system by its key.
type Client struct {
	// BaseURL is the API's root, e.g. https://api.digitalpost.dk/apis/v1/
	// (production) or the test environment's.
	BaseURL string
	// HTTP carries the requests; its transport presents the institution's
	// certificate and verifies the server's.
	HTTP *http.Client
	// SystemKey is the sender system's API token as the administrative
	// portal shows it (authenticationToken: base64 of system id and
	// token), sent as Authorization: Basic beside the certificate. It
	// names which of the institution's systems calls; "" sends none.
	SystemKey string
}

// DefaultTimeout bounds one request.
const DefaultTimeout = 30 * time.Second

// NewClient returns a client of the API at base, presenting cert and
// verifying the server against roots (nil: the system's). Only https is
// spoken.
func NewClient(base string, cert tls.Certificate, roots *x509.CertPool, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("digitalpost: the service address %q must be an https:// URL", base)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, Certificates: []tls.Certificate{cert}}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	return &Client{BaseURL: base, HTTP: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// Name names the service for a user: its host.
func (c *Client) Name() string {
	if u, err := url.Parse(c.BaseURL); err == nil {
		return u.Host
	}
	return c.BaseURL
}

// Contact is what Digital Post knows of a number.
type Contact struct {
	Kind   Kind
	Number string
	// Status is the public registration status, the one a sender
	// decides on: only Registered can receive.
	Status Status
	// Registration is the detailed registrationStatus (e.g.
	// EXEMPT_LEFT_THE_COUNTRY, UNCONFIRMED_REGISTRATION), "" when the
	// service gives none.
	Registration string
	// Name is the organisation's name for a CVR number (from
	// organisation-lookup), "" when not known. The service gives no name
	// for a CPR number.
	Name string
	// Pending: the service knows the number, but it has no mailbox yet
	// (a citizen about to be registered).
	Pending bool
}

// The contacts API's JSON, as published: every field optional, unknown
// fields ignored.
type contactsJSON struct {
	Contacts []struct {
		Type         string `json:"type"`
		CPR          string `json:"cprNumber"`
		CVR          string `json:"cvrNumber"`
		Subscription *struct {
			Registration string `json:"registrationStatus"`
			Public       Status `json:"publicRegistrationStatus"`
		} `json:"mailboxSubscription"`
	} `json:"contacts"`
}

// Lookup asks whether number can receive Digital Post (GET contacts/),
// and for a CVR number the organisation's name (organisation-lookup/).
// display is how the recipient is named in errors (e.g. DDMMYY-SSSS).
func (c *Client) Lookup(ctx context.Context, kind Kind, number, display string) (Contact, error) {
	q := url.Values{}
	if kind == CPR {
		q.Set("cprNumber", number)
	} else {
		q.Set("cvrNumber", number)
	}
	body, code, err := c.get(ctx, "contacts/?"+q.Encode())
	if err != nil {
		return Contact{}, &UnavailableError{Recipient: display, Service: c.Name(), Err: err}
	}
	if code != http.StatusOK {
		return Contact{}, httpError(c.Name(), display, code, body)
	}
	ct, err := parseContacts(c.Name(), display, kind, number, body)
	if err == nil && kind == CVR && ct.Status == Registered {
		if org, err := c.Organisation(ctx, number); err == nil {
			ct.Name = org.Name
		}
	}
	return ct, err
}

// parseContacts reads the contacts API's answer for one number: it can
// receive only when a contact with exactly that number has a mailbox
// subscription whose public status is REGISTERED.
func parseContacts(service, display string, kind Kind, number string, body []byte) (Contact, error) {
	var res contactsJSON
	if err := json.Unmarshal(body, &res); err != nil {
		return Contact{}, &UnavailableError{Recipient: display, Service: service, Err: fmt.Errorf("unreadable answer: %w", err)}
	}
	out := Contact{Kind: kind, Number: number, Status: Unknown}
	for _, ct := range res.Contacts {
		n := ct.CVR
		if kind == CPR {
			n = ct.CPR
		}
		if n != number {
			continue
		}
		if ct.Subscription == nil {
			out.Pending = true
			continue
		}
		out.Registration = ct.Subscription.Registration
		switch s := ct.Subscription.Public; s {
		case Registered, Exempt, Closed:
			out.Status = s
		}
	}
	return out, nil
}

// Organisation is what organisation-lookup/ tells of a CVR number.
type Organisation struct {
	ID, Name, Status string
}

// Organisation looks up the organisation with the CVR number.
func (c *Client) Organisation(ctx context.Context, cvr string) (Organisation, error) {
	var o struct {
		ID     string `json:"organisationId"`
		Name   string `json:"organisationName"`
		Status string `json:"status"`
	}
	if err := c.getJSON(ctx, "organisation-lookup/"+url.PathEscape(cvr), cvr, &o, http.StatusOK); err != nil {
		return Organisation{}, err
	}
	return Organisation{ID: o.ID, Name: o.Name, Status: o.Status}, nil
}

// ContactPoint is a sender's contact point as registered in the
// administrative portal, with the limits it sets on a letter.
type ContactPoint struct {
	ID, Name string
	// MaxSize is the largest letter (memoSizeThresholdMB), 0 when not
	// set; MaxAttachments the most attachments, 0 when not set.
	MaxSize        int64
	MaxAttachments int
}

// ContactPoint fetches the contact point id of the organisation orgID
// (organisations/{organisationId}/contact-points/{id}).
func (c *Client) ContactPoint(ctx context.Context, orgID, id string) (ContactPoint, error) {
	var cp struct {
		ID             string  `json:"id"`
		Name           string  `json:"name"`
		ThresholdMB    float64 `json:"memoSizeThresholdMB"`
		MaxAttachments int     `json:"allowedNumberOfAttachments"`
	}
	path := "organisations/" + url.PathEscape(orgID) + "/contact-points/" + url.PathEscape(id)
	if err := c.getJSON(ctx, path, id, &cp, http.StatusOK); err != nil {
		return ContactPoint{}, err
	}
	return ContactPoint{ID: cp.ID, Name: cp.Name, MaxSize: int64(cp.ThresholdMB * 1e6), MaxAttachments: cp.MaxAttachments}, nil
}

// Receipt is the service's receipt for one message, with the fields as
// the API names them.
type Receipt struct {
	TransmissionID string `json:"transmissionId,omitempty"`
	MessageUUID    string `json:"messageUUID,omitempty"`
	MessageID      string `json:"messageId,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	ErrorMessage   string `json:"errorMessage,omitempty"`
	TimeStamp      string `json:"timeStamp,omitempty"`
	ReceiptStatus  string `json:"receiptStatus,omitempty"`
}

// Accepted reports whether the service took the message: RECEIVED (for
// delivery) or COMPLETED (delivered).
func (r Receipt) Accepted() bool {
	return r.ReceiptStatus == StatusReceived || r.ReceiptStatus == StatusCompleted
}

// Final reports whether the receipt ends the message's way: delivered,
// or refused.
func (r Receipt) Final() bool { return r.ReceiptStatus != "" && r.ReceiptStatus != StatusReceived }

// Time is when the service issued the receipt (zero when not said).
func (r Receipt) Time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.TimeStamp)
	return t
}

// Refusal is the receipt's refusal as an error for the recipient, the
// service's words made safe to show (redact); nil when it is no refusal.
func (r Receipt) Refusal(display string, memo []byte) error {
	if r.Accepted() {
		return nil
	}
	detail := r.ErrorMessage
	if detail == "" {
		detail = r.ErrorCode
	}
	return &RejectedError{Recipient: display, Status: r.ReceiptStatus, Code: r.ErrorCode, Detail: Redact(detail, memo)}
}

// Send delivers one MeMo (POST memos/), the system key beside the
// certificate. Only a 201 with RECEIVED or COMPLETED is an acceptance;
// INVALID, NOT_ALLOWED and 400 are a *RejectedError, 401 and 403 an
// *AccessError, 503 and other server failures an *UnavailableError (try
// again, the same UUID). An answer lost after the letter went is a
// *LostAnswerError: whether the service has it cannot be known from
// here, and the published API promises nothing for a second POST of the
// same UUID, so the caller asks the receipts before posting again.
func (c *Client) Send(ctx context.Context, uuid string, memo []byte, display string) (Receipt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"memos/?memo-message-uuid="+url.QueryEscape(uuid), bytes.NewReader(memo))
	if err != nil {
		return Receipt{}, err
	}
	req.Header.Set("Content-Type", "application/xml")
	body, code, err := c.do(req)
	if err != nil {
		if notSent(err) {
			return Receipt{}, &UnavailableError{Recipient: display, Service: c.Name(), Err: err}
		}
		return Receipt{}, &LostAnswerError{Recipient: display, Service: c.Name(), UUID: uuid, Err: err}
	}
	return parseReceipt(c.Name(), display, uuid, code, body, memo)
}

// notSent reports whether a request's failure came before anything of
// it reached the service: no connection, or no TLS session.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var cv *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	return errors.As(err, &cv) || errors.As(err, &rec)
}

// parseReceipt reads the memos API's answer (status code and body) to
// the message uuid: the status code first, the body only as far as it
// is needed.
func parseReceipt(service, display, uuid string, code int, body []byte, memo []byte) (Receipt, error) {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Receipt{}, &AccessError{Service: service, Recipient: display, Code: code}
	case code == http.StatusBadRequest:
		return Receipt{}, &RejectedError{Recipient: display, Status: StatusBadRequest, Code: errorCode(body), Detail: Redact(errorText(body), memo)}
	case code/100 != 2:
		return Receipt{}, httpError(service, display, code, nil)
	}
	var r Receipt
	if err := json.Unmarshal(body, &r); err != nil {
		// Taken (2xx), but the receipt cannot be read: the letter may be
		// on its way, so it is not posted again unasked.
		return Receipt{}, &LostAnswerError{Recipient: display, Service: service, UUID: uuid, Err: fmt.Errorf("HTTP %d, unreadable receipt: %w", code, err)}
	}
	if r.MessageUUID == "" {
		r.MessageUUID = uuid
	}
	if r.MessageUUID != uuid {
		return Receipt{}, &LostAnswerError{Recipient: display, Service: service, UUID: uuid, Err: fmt.Errorf("receipt for %s, not %s", r.MessageUUID, uuid)}
	}
	if !r.Accepted() {
		if r.ReceiptStatus == "" {
			return Receipt{}, &LostAnswerError{Recipient: display, Service: service, UUID: uuid, Err: fmt.Errorf("HTTP %d, a receipt without receiptStatus", code)}
		}
		return r, r.Refusal(display, memo)
	}
	return r, nil
}

// errorMessageJSON is the API's ErrorMessage.
type errorMessageJSON struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	FieldErrors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fieldErrors"`
}

// errorText is an ErrorMessage's words: its message and each field's.
func errorText(body []byte) string {
	var e errorMessageJSON
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	parts := []string{e.Message}
	for _, f := range e.FieldErrors {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.TrimSpace(strings.Join(parts, "; "))
}

func errorCode(body []byte) string {
	var e errorMessageJSON
	json.Unmarshal(body, &e)
	return e.Code
}

// httpError classifies an answer that is not what was asked for: 401
// and 403 the system not being let in, 5xx, 408 and 429 temporary,
// other codes a refusal. The body is not shown: it may quote what was
// sent.
func httpError(service, display string, code int, body []byte) error {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return &AccessError{Service: service, Recipient: display, Code: code}
	case code/100 == 5 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		return &UnavailableError{Recipient: display, Service: service, Err: fmt.Errorf("HTTP %d", code)}
	}
	return &RejectedError{Recipient: display, Status: httpStatus(code), Code: errorCode(body)}
}

// httpStatus is an HTTP status as a RejectedError's Status.
func httpStatus(code int) string { return fmt.Sprintf("HTTP %d", code) }

// ReceiptIDs lists the ids of the receipts waiting at the service
// (GET receipts/): receipt ids, not message UUIDs.
func (c *Client) ReceiptIDs(ctx context.Context) ([]string, error) {
	return c.firstPage(ctx, "receipts")
}

// firstPage lists the first 100 ids of the collection (a
// PagingResultUUID).
func (c *Client) firstPage(ctx context.Context, collection string) ([]string, error) {
	var page struct {
		Content []string `json:"content"`
	}
	if err := c.getJSON(ctx, collection+"/?page=0&size=100", collection, &page, http.StatusOK); err != nil {
		return nil, err
	}
	return page.Content, nil
}

// ErrReceiptGone is a receipt listed a moment ago that the service no
// longer has: another worker fetched and deleted it.
var ErrReceiptGone = errors.New("digitalpost: receipt already taken")

// FetchReceipt fetches one waiting receipt without deleting it
// (GET receipts/{id}?delete=false): the caller keeps it, then deletes it
// at the service (DeleteReceipt), so that no receipt is lost between.
// One deleted meanwhile is ErrReceiptGone.
func (c *Client) FetchReceipt(ctx context.Context, id string) (Receipt, error) {
	var r Receipt
	err := c.getJSON(ctx, "receipts/"+url.PathEscape(id)+"?delete=false", id, &r, http.StatusOK, http.StatusCreated)
	var rej *RejectedError
	if errors.As(err, &rej) && rej.Status == httpStatus(http.StatusNotFound) {
		return Receipt{}, ErrReceiptGone
	}
	if err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// DeleteReceipt deletes a receipt kept (DELETE receipts/{id}); one the
// service no longer has counts as deleted.
func (c *Client) DeleteReceipt(ctx context.Context, id string) error {
	return c.deleteAt(ctx, "receipts/", id)
}

// deleteAt deletes id below the collection at path.
func (c *Client) deleteAt(ctx context.Context, path, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.BaseURL+path+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	_, code, err := c.do(req)
	switch {
	case err != nil:
		return &UnavailableError{Recipient: id, Service: c.Name(), Err: err}
	case code/100 == 2 || code == http.StatusNotFound:
		return nil
	}
	return httpError(c.Name(), id, code, nil)
}

// The institution's inbox at the service: letters sent to its contact
// points (a citizen writing from their Digital Post), which a receiving
// system lists (GET memos/), fetches as MeMo XML (GET memos/{id}) and
// deletes once it has them (DELETE memos/{id}).

// MaxLetter bounds a letter fetched: MeMo's documents in base64.
const MaxLetter = 200 << 20

// LetterIDs lists the ids of the letters waiting for the institution.
func (c *Client) LetterIDs(ctx context.Context) ([]string, error) { return c.firstPage(ctx, "memos") }

// ErrLetterGone is a letter listed a moment ago that the service no
// longer has: another instance fetched and deleted it.
var ErrLetterGone = errors.New("digitalpost: letter already taken")

// FetchLetter fetches a waiting letter's MeMo without deleting it: the
// caller keeps it, then deletes it (DeleteLetter), so that none is lost
// between.
func (c *Client) FetchLetter(ctx context.Context, id string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"memos/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/xml")
	body, code, err := c.doUpTo(req, MaxLetter)
	switch {
	case err != nil:
		return nil, &UnavailableError{Recipient: id, Service: c.Name(), Err: err}
	case code == http.StatusNotFound:
		return nil, ErrLetterGone
	case code != http.StatusOK && code != http.StatusPartialContent:
		return nil, httpError(c.Name(), id, code, body)
	}
	return body, nil
}

// DeleteLetter deletes a letter kept; one the service no longer has
// counts as deleted.
func (c *Client) DeleteLetter(ctx context.Context, id string) error {
	return c.deleteAt(ctx, "memos/", id)
}

// get asks for path below the API's root.
func (c *Client) get(ctx context.Context, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return nil, 0, err
	}
	return c.do(req)
}

// getJSON asks for path and reads the answer into v when its status is
// one of ok; display names what was asked for in errors. Nothing of ours
// is sent on a GET, so the service's error code is kept from the body.
func (c *Client) getJSON(ctx context.Context, path, display string, v any, ok ...int) error {
	body, code, err := c.get(ctx, path)
	if err != nil {
		return &UnavailableError{Recipient: display, Service: c.Name(), Err: err}
	}
	if !slices.Contains(ok, code) {
		return httpError(c.Name(), display, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &UnavailableError{Recipient: display, Service: c.Name(), Err: fmt.Errorf("unreadable answer: %w", err)}
	}
	return nil
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 1 << 20

// do sends req with the system key and reads the answer.
func (c *Client) do(req *http.Request) ([]byte, int, error) { return c.doUpTo(req, maxAnswer) }

// doUpTo is do for an answer of up to limit bytes; one larger is an
// error, never cut short.
func (c *Client) doUpTo(req *http.Request, limit int64) ([]byte, int, error) {
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if c.SystemKey != "" {
		req.Header.Set("Authorization", "Basic "+c.SystemKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(body)) > limit {
		return nil, 0, fmt.Errorf("an answer larger than %d bytes", limit)
	}
	return body, resp.StatusCode, nil
}
