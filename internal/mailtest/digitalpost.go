package mailtest

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"sikkermail/internal/memoxsd"
)

// DigitalPost is a Digital Post (NgDP) simulator on loopback, built from
// the published sender-system API (OpenAPI 1.68.0, as the project's
// reference digests it) and from nothing of the client's: its own JSON,
// with the API's field names. It serves GET contacts/, POST memos/, the
// receipts (GET receipts/, GET and DELETE receipts/{id}),
// organisation-lookup/{cvr} and an organisation's contact-points/{id},
// over TLS taking only clients that present the institution's
// certificate, and — when a system key is set — only requests that
// carry it as Authorization: Basic.
//
// A MeMo it accepts is checked against the official schemas; it answers
// 201 with a RECEIVED receipt, and puts the final receipt (COMPLETED,
// unless told otherwise) among the receipts to be fetched — at once, or
// when the test releases it. As the published API promises nothing for
// a second POST of the same messageUUID, it delivers that letter again:
// a client must not count on it to drop duplicates.
type DigitalPost struct {
	// URL is the API's base, e.g. https://127.0.0.1:PORT/apis/v1/.
	URL string
	TLS *TLS
	// ClientCert is the institution's certificate and key, the only
	// client the simulator takes; Identity is the same as a PKCS #12 file
	// whose password comes from Password (keystore syntax).
	ClientCert         tls.Certificate
	Identity, Password string

	lifecycle
	mu        sync.Mutex
	senderCVR string
	systemKey string
	faultFn   func(op, arg string) error
	numbers   map[string]DPNumber
	points    map[string]DPContactPoint
	received  []ReceivedMemo
	// letters are the MeMos sent to the institution, waiting for its
	// receiving system to fetch them (GET memos/), oldest first.
	letters  []dpLetter
	receipts []dpReceipt // waiting to be fetched, oldest first
	held     []dpReceipt // final receipts the test has not released
	hold     bool
	final    map[string]string // recipient number → final receiptStatus
	stall    chan struct{}
}

// DPNumber is a CPR or CVR number the simulator knows, as its contacts
// and organisation-lookup answers give it.
type DPNumber struct {
	// Kind is "CPR" or "CVR"; Number has no separators.
	Kind, Number string
	// Public is the publicRegistrationStatus (REGISTERED, EXEMPT,
	// CLOSED, UNKNOWN); "" means the contact has no mailbox
	// subscription (a citizen about to be registered).
	Public string
	// Registration is the detailed registrationStatus, "" for none.
	Registration string
	// Name is an organisation's name (organisation-lookup); a citizen's
	// is never given.
	Name string
}

// DPContactPoint is a contact point of the institution, as the
// administrative portal registers it.
type DPContactPoint struct {
	ID, Name       string
	MaxMB          float64
	MaxAttachments int
}

// DPOrganisationID is the institution's id in the simulator, as
// organisation-lookup/{its CVR} gives it.
const DPOrganisationID = "7a1d3f5b-9c2e-4b8a-8d6f-1e3a5c7b9d0f"

// HTTPStatus is a fault answered with that HTTP status code.
type HTTPStatus int

func (s HTTPStatus) Error() string { return fmt.Sprintf("mailtest: HTTP %d", int(s)) }

// ReceivedMemo is a letter the simulator delivered.
type ReceivedMemo struct {
	// UUID is the MeMo's messageUUID, Recipient its recipientID.
	UUID, Recipient string
	XML             []byte
}

// dpLetter is a MeMo sent to the institution, under its id.
type dpLetter struct {
	id  string
	xml []byte
}

// dpReceipt is a receipt waiting at the service, under its own id.
type dpReceipt struct {
	id   string
	body map[string]any
}

// StartDigitalPost is NewDigitalPost for a test, stopped when the test
// ends.
func StartDigitalPost(t T) *DigitalPost {
	t.Helper()
	d, err := NewDigitalPost()
	return started(t, d, err)
}

// NewDigitalPost starts the simulator; Close stops it. It knows no
// numbers until Register adds them.
func NewDigitalPost() (*DigitalPost, error) {
	os.Setenv(PasswordEnv, Password)
	d := &DigitalPost{numbers: map[string]DPNumber{}, points: map[string]DPContactPoint{}, final: map[string]string{},
		stall: make(chan struct{}), Password: "env:" + PasswordEnv}
	l, err := d.listen()
	if err != nil {
		d.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apis/v1/contacts/", d.authorized(d.contacts))
	mux.HandleFunc("POST /apis/v1/memos/", d.authorized(d.memos))
	mux.HandleFunc("GET /apis/v1/memos/", d.authorized(d.letterList))
	mux.HandleFunc("GET /apis/v1/memos/{id}", d.authorized(d.letterGet))
	mux.HandleFunc("DELETE /apis/v1/memos/{id}", d.authorized(d.letterDelete))
	mux.HandleFunc("GET /apis/v1/receipts/", d.authorized(d.receiptList))
	mux.HandleFunc("GET /apis/v1/receipts/{id}", d.authorized(d.receiptGet))
	mux.HandleFunc("DELETE /apis/v1/receipts/{id}", d.authorized(d.receiptDelete))
	mux.HandleFunc("GET /apis/v1/organisation-lookup/{cvr}", d.authorized(d.organisation))
	mux.HandleFunc("GET /apis/v1/organisations/{org}/contact-points/{id}", d.authorized(d.contactPoint))
	srv := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	addr := d.serve(l, srv.Serve, func() {
		close(d.stall)
		srv.Close()
	})
	d.URL = "https://" + addr + "/apis/v1/"
	return d, nil
}

// listen opens the simulator's port, which asks for the institution's
// certificate.
func (d *DigitalPost) listen() (net.Listener, error) {
	dir, err := d.tempDir()
	if err != nil {
		return nil, err
	}
	if d.TLS, err = newTLS(dir); err != nil {
		return nil, err
	}
	clients, err := d.clientPKI(dir)
	if err != nil {
		return nil, err
	}
	cfg := d.TLS.Server.Clone()
	cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, clients
	return tls.Listen("tcp", "127.0.0.1:0", cfg)
}

// clientPKI makes the CA the simulator trusts for clients and the
// institution's certificate under it.
func (d *DigitalPost) clientPKI(dir string) (*x509.CertPool, error) {
	now := time.Now()
	ca, caKey, err := Issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Digital Post simulator client CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	if err != nil {
		return nil, err
	}
	cert, key, err := Issue(ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "Demo Professionshøjskole - sikkermail",
		Organization: []string{"Demo Professionshøjskole"}, SerialNumber: "CVR:29403473-UID:sikkermail"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, err
	}
	d.ClientCert = tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, Password)
	if err != nil {
		return nil, err
	}
	d.Identity = filepath.Join(dir, "institution.p12")
	if err := os.WriteFile(d.Identity, p12, 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, nil
}

// SetSenderCVR makes cvr the only senderID allowed (NOT_ALLOWED
// otherwise) and the institution organisation-lookup knows; "" allows
// any sender.
func (d *DigitalPost) SetSenderCVR(cvr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.senderCVR = cvr
}

// SetSystemKey makes key the sender system's API token: every request
// must carry Authorization: Basic key, or gets 401. "" asks for none.
func (d *DigitalPost) SetSystemKey(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.systemKey = key
}

// AddContactPoint registers a contact point of the institution.
func (d *DigitalPost) AddContactPoint(cp DPContactPoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.points[cp.ID] = cp
}

// SetFault sets (nil: clears) the function asked before a request is
// answered (op "contacts", "memos", "receipts", "receipt" or
// "receipt-delete", arg the number, UUID or receipt id) and after a memo is accepted and stored
// ("memos-accepted"): it may return ErrDrop (cut the connection without
// an answer), ErrStall (no answer until the client gives up) or an
// HTTPStatus to answer with.
func (d *DigitalPost) SetFault(f func(op, arg string) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faultFn = f
}

// Times returns a fault function that fails op with err n times, then
// lets it pass.
func Times(n int, op string, err error) func(op, arg string) error {
	var mu sync.Mutex
	return func(o, _ string) error {
		mu.Lock()
		defer mu.Unlock()
		if o != op || n == 0 {
			return nil
		}
		n--
		return err
	}
}

// Register makes numbers known to the contacts lookup (and CVR numbers
// with a name to organisation-lookup); any other number is unknown.
func (d *DigitalPost) Register(ns ...DPNumber) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range ns {
		d.numbers[n.Kind+n.Number] = n
	}
}

// Finally makes the final receipt of letters to number (a CPR or CVR
// number without separators) status — INVALID or NOT_ALLOWED, with an
// error — instead of COMPLETED.
func (d *DigitalPost) Finally(number, status string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.final[number] = status
}

// HoldReceipts keeps the final receipts back from now on (a service
// whose receipts come late) until ReleaseReceipts.
func (d *DigitalPost) HoldReceipts() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hold = true
}

// ReleaseReceipts puts the receipts held back among those to fetch.
func (d *DigitalPost) ReleaseReceipts() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hold = false
	d.receipts = append(d.receipts, d.held...)
	d.held = nil
}

// Received returns the letters delivered so far, one per accepted POST.
func (d *DigitalPost) Received() []ReceivedMemo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]ReceivedMemo(nil), d.received...)
}

// Waiting returns how many receipts wait to be fetched.
func (d *DigitalPost) Waiting() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.receipts)
}

// authorized answers 401 to a request without the system key, when one
// is set.
func (d *DigitalPost) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		key := d.systemKey
		d.mu.Unlock()
		if key != "" && r.Header.Get("Authorization") != "Basic "+key {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": "UNAUTHORIZED", "message": "unknown sender system"})
			return
		}
		h(w, r)
	}
}

// fault asks the fault function and carries its answer out; it reports
// whether the request was answered by it.
func (d *DigitalPost) fault(w http.ResponseWriter, op, arg string) bool {
	d.mu.Lock()
	f := d.faultFn
	d.mu.Unlock()
	if f == nil {
		return false
	}
	err := f(op, arg)
	var status HTTPStatus
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrDrop):
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, herr := hj.Hijack(); herr == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case errors.Is(err, ErrStall):
		<-d.stall
		return true
	case errors.As(err, &status) && int(status) == http.StatusServiceUnavailable && op == "memos":
		// The spec types a 503 from memos/ as a Receipt.
		writeJSON(w, int(status), map[string]any{"messageUUID": arg, "receiptStatus": "NOT_ALLOWED", "errorMessage": "service unavailable"})
		return true
	case errors.As(err, &status):
		writeJSON(w, int(status), map[string]any{"code": strconv.Itoa(int(status)), "message": http.StatusText(int(status))})
		return true
	}
	writeJSON(w, http.StatusInternalServerError, map[string]any{"message": err.Error()})
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (d *DigitalPost) contacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kind, number := "CPR", q.Get("cprNumber")
	if number == "" {
		kind, number = "CVR", q.Get("cvrNumber")
	}
	if d.fault(w, "contacts", number) {
		return
	}
	d.mu.Lock()
	n, ok := d.numbers[kind+number]
	d.mu.Unlock()
	contacts := []map[string]any{}
	if ok {
		c := map[string]any{"id": newUUID(), "version": 1, "type": "CITIZEN", "cprNumber": n.Number,
			"eligibleForVoluntaryRegistration": false, "lastUpdated": "2025-06-12T03:41:18.207Z"}
		if kind == "CVR" {
			c = map[string]any{"id": newUUID(), "version": 1, "type": "COMPANY", "cvrNumber": n.Number,
				// The real service sends fields the spec does not declare.
				"address": map[string]any{"@type": "CompanyAddress", "streetName": "Testvej", "postalCode": "8000"}}
		}
		if n.Public != "" {
			sub := map[string]any{"id": newUUID(), "version": 1, "publicRegistrationStatus": n.Public, "startTime": "2014-11-01T00:00:00.000Z"}
			if n.Registration != "" {
				sub["registrationStatus"] = n.Registration
			}
			c["mailboxSubscription"] = sub
		}
		contacts = append(contacts, c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": contacts, "currentPage": 0, "totalPages": len(contacts),
		"elementsOnPage": len(contacts), "totalElements": len(contacts)})
}

func (d *DigitalPost) organisation(w http.ResponseWriter, r *http.Request) {
	cvr := r.PathValue("cvr")
	d.mu.Lock()
	n, ok := d.numbers["CVR"+cvr]
	own := cvr == d.senderCVR
	d.mu.Unlock()
	switch {
	case own:
		writeJSON(w, http.StatusOK, map[string]any{"organisationId": DPOrganisationID, "organisationName": "Demo Professionshøjskole", "status": "ACTIVE"})
	case ok && n.Name != "":
		writeJSON(w, http.StatusOK, map[string]any{"organisationId": newUUID(), "organisationName": n.Name, "activeCurator": false,
			"activeExecutor": false, "activeLiquidator": false, "status": "ACTIVE"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "NOT_FOUND", "message": "no organisation with CVR " + cvr})
	}
}

func (d *DigitalPost) contactPoint(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	cp, ok := d.points[r.PathValue("id")]
	d.mu.Unlock()
	if !ok || r.PathValue("org") != DPOrganisationID {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "NOT_FOUND", "message": "no such contact point"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": cp.ID, "version": 3, "name": cp.Name, "memoSizeThresholdMB": cp.MaxMB,
		"allowedNumberOfAttachments": cp.MaxAttachments, "active": true, "visible": true, "organisationId": DPOrganisationID,
		"contactGroups": []any{}, "searchTerms": []any{}, "translations": []any{}})
}

// maxMemo bounds a MeMo the simulator reads.
const maxMemo = 256 << 20

// memoHeader is what the simulator reads of a MeMo: the header's
// message UUID, sender and recipient.
type memoHeader struct {
	XMLName xml.Name `xml:"https://DigitalPost.dk/MeMo-1 Message"`
	Header  struct {
		UUID   string `xml:"messageUUID"`
		Sender struct {
			ID string `xml:"senderID"`
		} `xml:"Sender"`
		Recipient struct {
			ID     string `xml:"recipientID"`
			IDType string `xml:"idType"`
		} `xml:"Recipient"`
	} `xml:"MessageHeader"`
}

func (d *DigitalPost) memos(w http.ResponseWriter, r *http.Request) {
	uuid := r.URL.Query().Get("memo-message-uuid")
	if d.fault(w, "memos", uuid) {
		return
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	receipt := func(status, code, msg string) map[string]any {
		rc := map[string]any{"transmissionId": newUUID(), "messageUUID": uuid, "timeStamp": now, "receiptStatus": status}
		if code != "" {
			rc["errorCode"], rc["errorMessage"] = code, msg
		}
		return rc
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") && !strings.HasPrefix(ct, "text/xml") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "UNSUPPORTED_MEDIA_TYPE", "message": "Content-Type " + ct + " is not taken"})
		return
	}
	if r.ContentLength < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "LENGTH_REQUIRED", "message": "Content-Length is required"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMemo))
	if err != nil {
		return
	}
	if err := memoxsd.Validate(body); err != nil && !errors.Is(err, memoxsd.ErrNoValidator) {
		writeJSON(w, http.StatusCreated, receipt("INVALID", "MEMO_SCHEMA_INVALID", "the MeMo does not follow the schema"))
		return
	}
	var m memoHeader
	if err := xml.Unmarshal(body, &m); err != nil {
		writeJSON(w, http.StatusCreated, receipt("INVALID", "MEMO_UNREADABLE", "the MeMo cannot be read"))
		return
	}
	if m.Header.UUID != uuid {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "VALIDATION_ERROR",
			"message": "Request parameter memo-message-uuid does not match MessageHeader/messageUUID.",
			"fieldErrors": []any{map[string]any{"resource": "memo", "field": "memo-message-uuid", "code": "MISMATCH",
				"message": "must equal the MeMo's messageUUID", "rejectedValue": uuid}}})
		return
	}
	d.mu.Lock()
	sender := d.senderCVR
	n, ok := d.numbers[strings.ToUpper(m.Header.Recipient.IDType)+m.Header.Recipient.ID]
	d.mu.Unlock()
	if sender != "" && m.Header.Sender.ID != sender {
		writeJSON(w, http.StatusCreated, receipt("NOT_ALLOWED", "SENDER_NOT_ALLOWED", "the sender is not this system's organisation"))
		return
	}
	if !ok || n.Public != "REGISTERED" {
		writeJSON(w, http.StatusCreated, receipt("NOT_ALLOWED", "RECIPIENT_NOT_REGISTERED", "Recipient "+m.Header.Recipient.IDType+" "+
			m.Header.Recipient.ID+" cannot receive Digital Post (publicRegistrationStatus "+n.Public+")."))
		return
	}
	d.mu.Lock()
	d.received = append(d.received, ReceivedMemo{UUID: uuid, Recipient: m.Header.Recipient.ID, XML: body})
	final := receipt("COMPLETED", "", "")
	if s, ok := d.final[m.Header.Recipient.ID]; ok {
		final = receipt(s, "RECIPIENT_REFUSED", "the letter could not be delivered")
	}
	later := dpReceipt{id: newUUID(), body: final}
	if d.hold {
		d.held = append(d.held, later)
	} else {
		d.receipts = append(d.receipts, later)
	}
	d.mu.Unlock()
	if d.fault(w, "memos-accepted", uuid) {
		return
	}
	writeJSON(w, http.StatusCreated, receipt("RECEIVED", "", ""))
}

func (d *DigitalPost) receiptList(w http.ResponseWriter, r *http.Request) {
	if d.fault(w, "receipts", "") {
		return
	}
	d.mu.Lock()
	var ids []string
	for _, rc := range d.receipts {
		ids = append(ids, rc.id)
	}
	d.mu.Unlock()
	writePage(w, r, ids)
}

// writePage answers the page of ids the request asks for (page, size:
// zero-based, 20 by default) as a PagingResultUUID.
func writePage(w http.ResponseWriter, r *http.Request, ids []string) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	if size <= 0 {
		size = 20
	}
	total := len(ids)
	ids = ids[min(page*size, total):min((page+1)*size, total)]
	writeJSON(w, http.StatusOK, map[string]any{"content": append([]string{}, ids...), "number": page, "size": size,
		"totalElements": total, "totalPages": (total + size - 1) / size})
}

// Letter puts a MeMo sent to the institution (by a citizen from their
// Digital Post, say) in its inbox at the service, and returns its id.
func (d *DigitalPost) Letter(memo []byte) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := newUUID()
	d.letters = append(d.letters, dpLetter{id: id, xml: memo})
	return id
}

// Letters is how many letters wait to be fetched.
func (d *DigitalPost) Letters() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.letters)
}

// letterList is GET memos/: a PagingResultUUID of the waiting letters,
// as the receipts list is.
func (d *DigitalPost) letterList(w http.ResponseWriter, r *http.Request) {
	if d.fault(w, "memos", "") {
		return
	}
	d.mu.Lock()
	var ids []string
	for _, l := range d.letters {
		ids = append(ids, l.id)
	}
	d.mu.Unlock()
	writePage(w, r, ids)
}

// letter finds a waiting letter by its id.
func (d *DigitalPost) letter(id string) (int, bool) {
	i := slices.IndexFunc(d.letters, func(l dpLetter) bool { return l.id == id })
	return i, i >= 0
}

// letterGet is GET memos/{id}: the MeMo 1.1 XML (application/xml), or
// 404 with an ErrorMessage.
func (d *DigitalPost) letterGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if d.fault(w, "memo", id) {
		return
	}
	d.mu.Lock()
	i, ok := d.letter(id)
	var body []byte
	if ok {
		body = d.letters[i].xml
	}
	d.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "NOT_FOUND", "message": "memo " + id + " not found"})
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Write(body)
}

// letterDelete is DELETE memos/{id}: 204, or 404.
func (d *DigitalPost) letterDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d.mu.Lock()
	i, ok := d.letter(id)
	if ok {
		d.letters = append(d.letters[:i], d.letters[i+1:]...)
	}
	d.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "NOT_FOUND", "message": "memo " + id + " not found"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// receipt finds a waiting receipt by its id.
func (d *DigitalPost) receipt(id string) (int, bool) {
	i := slices.IndexFunc(d.receipts, func(rc dpReceipt) bool { return rc.id == id })
	return i, i >= 0
}

func (d *DigitalPost) receiptGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if d.fault(w, "receipt", id) {
		return
	}
	d.mu.Lock()
	i, ok := d.receipt(id)
	var body map[string]any
	if ok {
		body = d.receipts[i].body
		// Fetch and delete, unless asked not to (delete=false).
		if r.URL.Query().Get("delete") != "false" {
			d.receipts = append(d.receipts[:i], d.receipts[i+1:]...)
		}
	}
	d.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "NOT_FOUND", "message": "no receipt " + id})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (d *DigitalPost) receiptDelete(w http.ResponseWriter, r *http.Request) {
	if d.fault(w, "receipt-delete", r.PathValue("id")) {
		return
	}
	d.mu.Lock()
	i, ok := d.receipt(r.PathValue("id"))
	if ok {
		d.receipts = append(d.receipts[:i], d.receipts[i+1:]...)
	}
	d.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "NOT_FOUND", "message": "no such receipt"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// CitizenLetter writes a MeMo 1.1 letter as a citizen sends it from
// their own Digital Post to one of the institution's contact points:
// the sender their CPR number and name, the recipient the institution's
// CVR and the contact point, a text main document and files as
// additional documents. Written from the schema, not from the client's
// types.
func CitizenLetter(cpr, name, cvr, contactPoint, label, text string, files map[string][]byte) []byte {
	esc := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	doc := func(format, name string, data []byte) string {
		return "<File><encodingFormat>" + esc(format) + "</encodingFormat><filename>" + esc(name) + "</filename><language>da</language><content>" +
			base64.StdEncoding.EncodeToString(data) + "</content></File>"
	}
	var add strings.Builder
	for _, n := range slices.Sorted(maps.Keys(files)) {
		format := "application/octet-stream"
		if strings.HasSuffix(n, ".pdf") {
			format = "application/pdf"
		}
		add.WriteString("<AdditionalDocument><label>" + esc(n) + "</label>" + doc(format, n, files[n]) + "</AdditionalDocument>")
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Message xmlns="https://DigitalPost.dk/MeMo-1" memoVersion="1.1" memoSchVersion="1.1.0"><MessageHeader>` +
		`<messageType>DIGITALPOST</messageType><messageUUID>` + newUUID() + `</messageUUID>` +
		`<label>` + esc(label) + `</label><mandatory>false</mandatory><legalNotification>false</legalNotification>` +
		`<Sender><senderID>` + cpr + `</senderID><idType>CPR</idType><label>` + esc(name) + `</label></Sender>` +
		`<Recipient><recipientID>` + cvr + `</recipientID><idType>CVR</idType>` +
		`<ContactPoint><contactPointID>` + contactPoint + `</contactPointID></ContactPoint></Recipient>` +
		`</MessageHeader><MessageBody><createdDateTime>` + time.Now().UTC().Format("2006-01-02T15:04:05Z") + `</createdDateTime>` +
		`<MainDocument>` + doc("text/plain", "brev.txt", []byte(text)) + `</MainDocument>` + add.String() +
		`</MessageBody></Message>`)
}
