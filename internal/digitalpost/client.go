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
	"net/http"
	"net/url"
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
)

// Client speaks Digital Post's sender-system REST API over mutual TLS:
// the institution is known by its certificate.
type Client struct {
	// BaseURL is the API's root, e.g. https://api.digitalpost.dk/apis/v1/
	// (production) or the test environment's.
	BaseURL string
	// HTTP carries the requests; its transport presents the institution's
	// certificate and verifies the server's.
	HTTP *http.Client
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
	Status Status
	// Name is the registered name, when the service gives it, so that the
	// user can see it is the right person or company.
	Name string
}

// The contacts API's JSON.
type contactsJSON struct {
	Contacts []contactJSON `json:"contacts"`
}

type contactJSON struct {
	Type         string `json:"type,omitempty"`
	CPR          string `json:"cprNumber,omitempty"`
	CVR          string `json:"cvrNumber,omitempty"`
	Name         string `json:"name,omitempty"`
	Subscription struct {
		Status Status `json:"publicRegistrationStatus"`
	} `json:"mailboxSubscription"`
}

// ContactsResponse builds the contacts API's answer (for the simulator).
func ContactsResponse(cs ...Contact) ([]byte, error) {
	out := contactsJSON{Contacts: []contactJSON{}}
	for _, c := range cs {
		j := contactJSON{Name: c.Name}
		if c.Kind == CPR {
			j.Type, j.CPR = "PERSON", c.Number
		} else {
			j.Type, j.CVR = "COMPANY", c.Number
		}
		j.Subscription.Status = c.Status
		out.Contacts = append(out.Contacts, j)
	}
	return json.Marshal(out)
}

// Lookup asks whether number can receive Digital Post (GET contacts).
// display is how the recipient is named in errors (e.g. DDMMYY-SSSS).
func (c *Client) Lookup(ctx context.Context, kind Kind, number, display string) (Contact, error) {
	q := url.Values{}
	if kind == CPR {
		q.Set("cprNumber", number)
	} else {
		q.Set("cvrNumber", number)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"contacts/?"+q.Encode(), nil)
	if err != nil {
		return Contact{}, err
	}
	req.Header.Set("Accept", "application/json")
	body, code, err := c.do(req)
	if err != nil {
		return Contact{}, &UnavailableError{Recipient: display, Service: c.Name(), Err: err}
	}
	if code != http.StatusOK {
		return Contact{}, httpError(c.Name(), display, code, body)
	}
	return parseContacts(c.Name(), display, kind, number, body)
}

// parseContacts reads the contacts API's answer for one number.
func parseContacts(service, display string, kind Kind, number string, body []byte) (Contact, error) {
	var res contactsJSON
	if err := json.Unmarshal(body, &res); err != nil {
		return Contact{}, &UnavailableError{Recipient: display, Service: service, Err: fmt.Errorf("unreadable answer: %w", err)}
	}
	out := Contact{Kind: kind, Number: number, Status: Unknown}
	for _, ct := range res.Contacts {
		if n := ct.CPR + ct.CVR; n != number {
			continue
		}
		out.Name = ct.Name
		switch s := ct.Subscription.Status; s {
		case Registered, Exempt, Closed:
			out.Status = s
		}
	}
	return out, nil
}

// Receipt is Digital Post's answer to a delivered message.
type Receipt struct {
	UUID   string `json:"messageUUID"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Send delivers one MeMo (POST memos). Sending the same UUID again —
// after a timeout, say — is answered with the first delivery's receipt,
// never a second letter. A refusal is a *RejectedError; a service that
// cannot be reached or fails is an *UnavailableError (try again).
func (c *Client) Send(ctx context.Context, uuid string, memo []byte, display string) (Receipt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"memos/?memo-message-uuid="+url.QueryEscape(uuid), bytes.NewReader(memo))
	if err != nil {
		return Receipt{}, err
	}
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Accept", "application/json")
	body, code, err := c.do(req)
	if err != nil {
		return Receipt{}, &UnavailableError{Recipient: display, Service: c.Name(), Err: err}
	}
	r, err := parseReceipt(c.Name(), display, uuid, code, body)
	var rej *RejectedError
	if errors.As(err, &rej) {
		rej.Detail = redact(rej.Detail, memo)
	}
	return r, err
}

// parseReceipt reads the memos API's answer (status code and body) to
// the message uuid.
func parseReceipt(service, display, uuid string, code int, body []byte) (Receipt, error) {
	var r Receipt
	jsonErr := json.Unmarshal(body, &r)
	switch {
	case jsonErr == nil && (r.Status == StatusReceived || r.Status == StatusCompleted) && code/100 == 2:
		if r.UUID == "" {
			r.UUID = uuid
		}
		if r.UUID != uuid {
			return Receipt{}, &UnavailableError{Recipient: display, Service: service, Err: fmt.Errorf("receipt for %s, not %s", r.UUID, uuid)}
		}
		return r, nil
	case jsonErr == nil && r.Status != "" && code/100 != 5:
		return Receipt{}, &RejectedError{Recipient: display, Status: r.Status, Detail: r.Detail}
	}
	return Receipt{}, httpError(service, display, code, body)
}

// httpError classifies an answer that is not what was asked for: 5xx and
// 429 are temporary, other codes a refusal.
func httpError(service, display string, code int, body []byte) error {
	detail := strings.TrimSpace(string(body))
	if len(detail) > 200 {
		detail = detail[:200]
	}
	if code/100 == 5 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout {
		return &UnavailableError{Recipient: display, Service: service, Err: fmt.Errorf("HTTP %d %s", code, detail)}
	}
	return &RejectedError{Recipient: display, Status: fmt.Sprintf("HTTP %d", code), Detail: detail}
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 1 << 20

func (c *Client) do(req *http.Request) ([]byte, int, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, 0, err
	}
	return body, resp.StatusCode, nil
}
