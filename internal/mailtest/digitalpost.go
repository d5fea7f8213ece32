package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"sikkermail/internal/digitalpost"
)

// DigitalPost is a Digital Post simulator on loopback: the sender-system
// REST API (GET contacts, POST memos) over TLS, taking only clients that
// present the institution's certificate (mutual TLS, as the real service
// does). It keeps a registry of CPR and CVR numbers in each registration
// state, validates every MeMo it receives against the official schemas,
// delivers a message once per UUID, and can inject faults.
type DigitalPost struct {
	// URL is the API's base, e.g. https://127.0.0.1:PORT/apis/v1/.
	URL string
	TLS *TLS
	// ClientCert is the institution's certificate and key, the only
	// client the simulator takes; Identity is the same as a PKCS #12 file
	// whose password comes from Password (keystore syntax).
	ClientCert         tls.Certificate
	Identity, Password string

	mu        sync.Mutex
	senderCVR string
	faultFn   func(op, arg string) error
	registry  map[string]digitalpost.Contact
	received  []ReceivedMemo
	byUUID    map[string]digitalpost.Receipt
	stall     chan struct{}
}

// HTTPStatus is a fault answered with that HTTP status code.
type HTTPStatus int

func (s HTTPStatus) Error() string { return fmt.Sprintf("mailtest: HTTP %d", int(s)) }

// ReceivedMemo is a message the simulator accepted.
type ReceivedMemo struct {
	Message *digitalpost.Message
	XML     []byte
}

// StartDigitalPost starts the simulator for the test and stops it when
// the test ends. The registry starts empty: Register adds numbers.
func StartDigitalPost(t T) *DigitalPost {
	t.Helper()
	os.Setenv(DemoPasswordEnv, demoPassword)
	d := &DigitalPost{TLS: NewTLS(t), registry: map[string]digitalpost.Contact{}, byUUID: map[string]digitalpost.Receipt{},
		stall: make(chan struct{}), Password: "env:" + DemoPasswordEnv}
	clients, err := d.clientPKI(t)
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.TLS.Server.Clone()
	cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, clients
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apis/v1/contacts/", d.contacts)
	mux.HandleFunc("POST /apis/v1/memos/", d.memos)
	srv := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	addr := serve(t, l, srv.Serve, func() {
		close(d.stall)
		srv.Close()
	})
	d.URL = "https://" + addr + "/apis/v1/"
	return d
}

// clientPKI makes the CA the simulator trusts for clients and the
// institution's certificate under it.
func (d *DigitalPost) clientPKI(t T) (*x509.CertPool, error) {
	now := time.Now()
	ca, caKey, err := issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Digital Post simulator client CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	if err != nil {
		return nil, err
	}
	cert, key, err := issue(ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "Demo Professionshøjskole - sikkermail",
		Organization: []string{"Demo Professionshøjskole"}, SerialNumber: "CVR:29403473-UID:sikkermail"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, err
	}
	d.ClientCert = tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, demoPassword)
	if err != nil {
		return nil, err
	}
	d.Identity = filepath.Join(t.TempDir(), "institution.p12")
	if err := os.WriteFile(d.Identity, p12, 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, nil
}

// Client returns a client of the simulator that presents the
// institution's certificate and trusts the simulator's.
func (d *DigitalPost) Client(t T, timeout time.Duration) *digitalpost.Client {
	t.Helper()
	c, err := digitalpost.NewClient(d.URL, d.ClientCert, d.TLS.Roots, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SetSenderCVR makes cvr the only senderID allowed (NOT_ALLOWED
// otherwise); "" allows any.
func (d *DigitalPost) SetSenderCVR(cvr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.senderCVR = cvr
}

// SetFault sets (nil: clears) the function asked before a request is
// answered (op "contacts" or "memos", arg the number or UUID) and after
// a memo is accepted and stored ("memos-accepted"): it may return
// ErrDrop (cut the connection without an answer), ErrStall (no answer
// until the client gives up) or an HTTPStatus to answer with.
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

// Register puts numbers in the registry (status Registered, Exempt or
// Closed; numbers not registered are unknown).
func (d *DigitalPost) Register(cs ...digitalpost.Contact) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range cs {
		d.registry[c.Number] = c
	}
}

// Received returns the messages accepted so far, once each.
func (d *DigitalPost) Received() []ReceivedMemo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]ReceivedMemo(nil), d.received...)
}

// fault asks Fault and carries it out; it reports whether the request was
// answered by it.
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
	case errors.As(err, &status):
		http.Error(w, http.StatusText(int(status)), int(status))
		return true
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
	return true
}

func (d *DigitalPost) contacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	number, kind := q.Get("cprNumber"), digitalpost.CPR
	if number == "" {
		number, kind = q.Get("cvrNumber"), digitalpost.CVR
	}
	if number == "" {
		http.Error(w, "cprNumber or cvrNumber is required", http.StatusBadRequest)
		return
	}
	if d.fault(w, "contacts", number) {
		return
	}
	d.mu.Lock()
	c, ok := d.registry[number]
	d.mu.Unlock()
	var body []byte
	var err error
	if ok && c.Kind == kind {
		body, err = digitalpost.ContactsResponse(c)
	} else {
		body, err = digitalpost.ContactsResponse()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// maxMemo bounds a MeMo the simulator reads.
const maxMemo = 256 << 20

func (d *DigitalPost) memos(w http.ResponseWriter, r *http.Request) {
	uuid := r.URL.Query().Get("memo-message-uuid")
	if d.fault(w, "memos", uuid) {
		return
	}
	answer := func(code int, rc digitalpost.Receipt) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(rc)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		answer(http.StatusUnsupportedMediaType, digitalpost.Receipt{UUID: uuid, Status: digitalpost.StatusInvalid, Detail: "Content-Type must be application/xml, not " + ct})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMemo))
	if err != nil {
		return
	}
	d.mu.Lock()
	prev, seen := d.byUUID[uuid]
	d.mu.Unlock()
	if seen {
		// The same message again (a retry after a lost answer): its first
		// receipt, and no second letter.
		answer(http.StatusOK, prev)
		return
	}
	if err := digitalpost.Validate(body); err != nil && !errors.Is(err, digitalpost.ErrNoValidator) {
		answer(http.StatusBadRequest, digitalpost.Receipt{UUID: uuid, Status: digitalpost.StatusInvalid, Detail: err.Error()})
		return
	}
	m, err := digitalpost.Parse(body)
	if err != nil {
		answer(http.StatusBadRequest, digitalpost.Receipt{UUID: uuid, Status: digitalpost.StatusInvalid, Detail: err.Error()})
		return
	}
	if m.UUID != uuid {
		answer(http.StatusBadRequest, digitalpost.Receipt{UUID: uuid, Status: digitalpost.StatusInvalid,
			Detail: fmt.Sprintf("memo-message-uuid %s does not match messageUUID %s", uuid, m.UUID)})
		return
	}
	d.mu.Lock()
	sender := d.senderCVR
	d.mu.Unlock()
	if sender != "" && m.SenderCVR != sender {
		answer(http.StatusForbidden, digitalpost.Receipt{UUID: uuid, Status: digitalpost.StatusNotAllowed, Detail: "sender " + m.SenderCVR + " is not this system's"})
		return
	}
	d.mu.Lock()
	c, ok := d.registry[m.Number]
	d.mu.Unlock()
	if !ok || string(c.Kind) != string(m.Recipient) || c.Status != digitalpost.Registered {
		status := digitalpost.Unknown
		if ok {
			status = c.Status
		}
		answer(http.StatusForbidden, digitalpost.Receipt{UUID: uuid, Status: digitalpost.StatusNotAllowed, Detail: "recipient " + string(status)})
		return
	}
	rc := digitalpost.Receipt{UUID: uuid, Status: digitalpost.StatusReceived}
	d.mu.Lock()
	if prev, seen := d.byUUID[uuid]; seen { // the same UUID, concurrently
		rc = prev
	} else {
		d.byUUID[uuid] = rc
		d.received = append(d.received, ReceivedMemo{Message: m, XML: body})
	}
	d.mu.Unlock()
	if d.fault(w, "memos-accepted", uuid) {
		return
	}
	answer(http.StatusOK, rc)
}
