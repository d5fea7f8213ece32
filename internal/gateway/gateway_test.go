package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/auth"
	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/demo"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/message"
	"sikkermail/internal/policy"
	"sikkermail/internal/smime"
)

const (
	clientID      = "4b8e1f7a-0c2d-4e3f-9a1b-2c3d4e5f6a7b"
	apiURI        = "api://sikkermail-gateway"
	apiID         = "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a"
	helpdeskGroup = "0f1e2d3c-4b5a-4968-8776-655443322110"
	scope         = apiURI + "/access_as_user"
	staff         = "medarbejder@hoejskole.example"
	reader        = "laeser@hoejskole.example"
	itVagt        = "it-vagt@hoejskole.example" // helpdesk by group only
)

type env struct {
	entra *mailtest.Entra
	core  *core.Core
	srv   *Server
	// sealing is the identity clients seal to.
	sealing *smime.Identity
	url     string
	http    *http.Client
	// roots trust the gateway's certificate; caFile holds them.
	roots  *x509.CertPool
	caFile string
}

func start(t *testing.T) *env { t.Helper(); return startWith(t, nil) }

// startWith starts the gateway taking client certificates from clientCA
// (nil: none), for the address batch@hoejskole.example.
func startWith(t *testing.T, clientCA *x509.Certificate) *env {
	t.Helper()
	return startOn(t, clientCA, "")
}

// startOn is startWith with the gateway's store in the PostgreSQL
// database at storeURL ("": SQLite).
func startOn(t testing.TB, clientCA *x509.Certificate, storeURL string) *env {
	t.Helper()
	e := mailtest.StartEntra(t, clientID)
	e.AddAPI(apiURI, apiID)
	e.AddAPI("api://other-service", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
	for _, u := range []string{staff, reader, itVagt} {
		e.AddUser(u, "pw", strings.Split(u, "@")[0])
	}
	e.SetGroups(itVagt, helpdeskGroup)
	cfg := config.Demo()
	cfg.Database = filepath.Join(t.TempDir(), "gw.db")
	cfg.Store.URL = storeURL
	api, err := demo.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	c := api.(*demo.Core).Core
	v, err := auth.New(context.Background(), auth.Config{Issuer: e.Issuer, Audience: apiID, Scope: "access_as_user", HelpdeskGroup: helpdeskGroup,
		Clients: []string{"batch@hoejskole.example"},
		HTTP:    &http.Client{Transport: &http.Transport{TLSClientConfig: e.TLS.Client()}}})
	if err != nil {
		t.Fatal(err)
	}
	x := mailtest.NewTLS(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := New(c, v)
	sealing := newSealing(t, "sikkermail-gateway sealing")
	s.SetSealing(sealing)
	done := make(chan error)
	tlsConfig := x.Server.Clone()
	if clientCA != nil {
		tlsConfig.ClientCAs, tlsConfig.ClientAuth = x509.NewCertPool(), tls.VerifyClientCertIfGiven
		tlsConfig.ClientCAs.AddCert(clientCA)
	}
	go func() { done <- s.Serve(ctx, l, tlsConfig) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{entra: e, core: c, srv: s, sealing: sealing, url: "https://" + l.Addr().String(),
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: x.Client()}}, roots: x.Roots, caFile: x.CAFile}
}

// newSealing is a sealing identity, as IT makes one for the gateway.
func newSealing(t testing.TB, name string) *smime.Identity {
	t.Helper()
	cert, key, err := mailtest.Issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyAgreement})
	if err != nil {
		t.Fatal(err)
	}
	return &smime.Identity{Cert: cert, Key: key}
}

// token signs user in for scope, as MSAL's device code flow does.
func (e *env) token(t *testing.T, user, scope string) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: e.entra.TLS.Client()}}
	post := func(path string, form url.Values) map[string]any {
		resp, err := c.PostForm(e.entra.Authority+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	dc := post("/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {scope}})
	if err := e.entra.ApproveDevice(dc["user_code"].(string), user, "pw"); err != nil {
		t.Fatal(err)
	}
	tok := post("/oauth2/v2.0/token", url.Values{"client_id": {clientID}, "grant_type": {"device_code"}, "device_code": {dc["device_code"].(string)}})
	return tok["access_token"].(string)
}

// call makes a request with token and decodes the answer into out;
// it returns the status.
func (e *env) call(t *testing.T, token, method, path string, body, out any) int {
	t.Helper()
	var b bytes.Buffer
	if body != nil {
		json.NewEncoder(&b).Encode(body)
	}
	req, _ := http.NewRequest(method, e.url+path, &b)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d, %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

func mailboxes(m Me) map[string]MailboxView {
	out := map[string]MailboxView{}
	for _, mb := range m.Mailboxes {
		out[mb.Address] = mb
	}
	return out
}

func TestMe(t *testing.T) {
	e := start(t)
	var me Me
	if st := e.call(t, e.token(t, staff, scope), "GET", "/v1/me", nil, &me); st != 200 || me.User != staff || me.Helpdesk {
		t.Fatalf("%d %+v", st, me)
	}
	mbs := mailboxes(me)
	if len(mbs) != 4 || !mbs["sikkerpost-uddservice@hoejskole.example"].CanSend {
		t.Fatalf("%+v", mbs)
	}
	hr := mbs["sikkerpost-hr@hoejskole.example"]
	if hr.CanSend || hr.Why == nil || hr.Why.Code != "policy.no_right" || !strings.Contains(hr.Why.Message, "Helpdesk") {
		t.Errorf("HR: %+v %+v", hr, hr.Why)
	}
	var raw map[string]any
	e.call(t, e.token(t, staff, scope), "GET", "/v1/me", nil, &raw)
	if b, _ := json.Marshal(raw); bytes.Contains(b, []byte(".p12")) || bytes.Contains(b, []byte("env:")) {
		t.Errorf("the answer names where a key is: %s", b)
	}
}

// Tokens that prove no one, and staff at a helpdesk door, are refused
// with their code and sentence, and the audit log says so.
func TestRefusedAndAudited(t *testing.T) {
	e := start(t)
	now := time.Now()
	expired := e.entra.Sign(map[string]any{"iss": e.entra.Issuer, "aud": apiID, "preferred_username": staff, "scp": "access_as_user",
		"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})
	for _, c := range []struct {
		name, token, code string
		status            int
	}{
		{"no token", "", "auth.no_token", 401},
		{"forged", "eyJhbGciOiJSUzI1NiJ9.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiJoZWxwZGVza0Bob2Vqc2tvbGUuZXhhbXBsZSJ9.c2ln", "auth.bad_signature", 401},
		{"expired", expired, "auth.expired", 401},
		{"for another service", e.token(t, staff, "api://other-service/access_as_user"), "auth.wrong_audience", 401},
		{"staff at a helpdesk door", e.token(t, staff, scope), "policy.not_helpdesk", 403},
	} {
		var body ErrorBody
		st := e.call(t, c.token, "POST", "/v1/rights", RightRequest{User: staff, Mailbox: "sikkerpost-hr@hoejskole.example", Right: "send"}, &body)
		if st != c.status || body.Error.Code != c.code || body.Error.Message == "" {
			t.Errorf("%s: %d %+v", c.name, st, body)
		}
	}
	var log []EntryView
	if st := e.call(t, e.token(t, itVagt, scope), "GET", "/v1/audit", nil, &log); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	var refused []string
	for _, l := range log {
		if l.Action == "refused" {
			refused = append(refused, l.Actor+" "+l.Subject)
		}
	}
	want := []string{"(ukendt) POST /v1/rights: auth.no_token", "(ukendt) POST /v1/rights: auth.bad_signature", "(ukendt) POST /v1/rights: auth.expired",
		"(ukendt) POST /v1/rights: auth.wrong_audience", staff + " POST /v1/rights: policy.not_helpdesk"}
	if !slices.Equal(refused, want) {
		t.Errorf("refusals in the audit log:\n%s\nwant\n%s", strings.Join(refused, "\n"), strings.Join(want, "\n"))
	}
	if ok, err := e.core.VerifyAudit(context.Background()); err != nil || !ok.OK() {
		t.Errorf("%+v %v", ok, err)
	}
}

// A grant by helpdesk (a member of the Entra group, on no list) applies
// to the staff member's very next call; so does its revocation.
func TestGrantAppliesAtOnce(t *testing.T) {
	e := start(t)
	hd, st := e.token(t, itVagt, scope), e.token(t, staff, scope)
	const hr = "sikkerpost-hr@hoejskole.example"
	grant := RightRequest{User: staff, Mailbox: hr, Right: "send"}
	if s := e.call(t, hd, "POST", "/v1/rights", grant, nil); s != 204 {
		t.Fatalf("grant: %d", s)
	}
	var me Me
	e.call(t, st, "GET", "/v1/me", nil, &me)
	if !mailboxes(me)[hr].CanSend {
		t.Error("the grant does not apply at once")
	}
	var again ErrorBody
	if s := e.call(t, hd, "POST", "/v1/rights", grant, &again); s != 409 || again.Error.Code != "policy.already_granted" {
		t.Errorf("granted twice: %d %+v", s, again)
	}
	var holders []HoldersView
	e.call(t, hd, "GET", "/v1/holders", nil, &holders)
	i := slices.IndexFunc(holders, func(h HoldersView) bool { return h.Mailbox == hr })
	if i < 0 || !slices.Contains(holders[i].Holders[staff], "send") || holders[i].Expires == nil {
		t.Errorf("holders %+v", holders)
	}
	if s := e.call(t, hd, "DELETE", "/v1/rights", grant, nil); s != 204 {
		t.Fatalf("revoke: %d", s)
	}
	e.call(t, st, "GET", "/v1/me", nil, &me)
	if mailboxes(me)[hr].CanSend {
		t.Error("the revocation does not apply at once")
	}
}

func TestCheck(t *testing.T) {
	e := start(t)
	var vs []VerdictView
	req := CheckRequest{Recipients: []string{"jens.hansen@kommune.example", "nobody@x.example", "0101901009"}}
	if s := e.call(t, e.token(t, staff, scope), "POST", "/v1/check", req, &vs); s != 200 || len(vs) != 3 {
		t.Fatalf("%d %+v", s, vs)
	}
	if !vs[0].OK || vs[0].Channel != "smime" || len(vs[0].Certificates) != 1 || vs[0].Cipher == "" {
		t.Errorf("jens: %+v", vs[0])
	}
	if vs[1].OK || vs[1].Error == nil || vs[1].Error.Code != "directory.no_certificate" || !strings.Contains(vs[1].Error.Message, "nobody@x.example") {
		t.Errorf("nobody: %+v", vs[1])
	}
	if !vs[2].OK || vs[2].Channel != "digitalpost" || len(vs[2].Notes) == 0 {
		t.Errorf("CPR: %+v", vs[2])
	}
	var bad ErrorBody
	if s := e.call(t, e.token(t, staff, scope), "POST", "/v1/check", map[string]any{"to": 1}, &bad); s != 400 || bad.Error.Code != "gateway.bad_request" {
		t.Errorf("bad body: %d %+v", s, bad)
	}
}

// Suggestions are the proven caller's only, bounded, and nothing for
// one character.
func TestSuggest(t *testing.T) {
	e := start(t)
	tok := e.token(t, staff, scope)
	e.call(t, tok, "POST", "/v1/check", CheckRequest{Recipients: []string{"jens.hansen@kommune.example"}}, nil)
	var got []SuggestionView
	if s := e.call(t, tok, "GET", "/v1/suggest?q=Jens", nil, &got); s != 200 || len(got) != 1 || got[0].Address != "jens.hansen@kommune.example" {
		t.Errorf("%d %+v", s, got)
	}
	if s := e.call(t, tok, "GET", "/v1/suggest?q=j", nil, &got); s != 200 || len(got) != 0 {
		t.Errorf("one character: %d %+v", s, got)
	}
	var bad ErrorBody
	if s := e.call(t, tok, "GET", "/v1/suggest?q="+strings.Repeat("a", 201), nil, &bad); s != 400 || bad.Error.Code != "gateway.bad_request" {
		t.Errorf("too long: %d %+v", s, bad)
	}
	if s := e.call(t, "", "GET", "/v1/suggest?q=jens", nil, nil); s != 401 {
		t.Errorf("no token: %d", s)
	}
}

// Each caller sees, retries and removes only their own mail.
func TestOutboxIsTheCallers(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	as := e.core.As(policy.Actor{User: staff, Machine: "test"}, "Medarbejder")
	q, err := as.SendTo(ctx, message.Draft{Subject: "Til kollega", Body: "Hej"}, "sikkerpost-uddservice@hoejskole.example",
		core.Recipients{To: []string{"kollega@hoejskole.example"}})
	if err != nil {
		t.Fatal(err)
	}
	var mine, theirs []MailView
	e.call(t, e.token(t, staff, scope), "GET", "/v1/outbox", nil, &mine)
	e.call(t, e.token(t, reader, scope), "GET", "/v1/outbox", nil, &theirs)
	if len(mine) != 1 || mine[0].ID != q.ID || mine[0].Subject != "Til kollega" || len(theirs) != 0 {
		t.Fatalf("staff %+v, reader %+v", mine, theirs)
	}
	path := fmt.Sprintf("/v1/outbox/%d", q.ID)
	var nf ErrorBody
	if s := e.call(t, e.token(t, reader, scope), "DELETE", path, nil, &nf); s != 404 || nf.Error.Code != "outbox.not_found" {
		t.Errorf("another's mail removed: %d %+v", s, nf)
	}
	if s := e.call(t, e.token(t, staff, scope), "DELETE", path, nil, nil); s != 204 {
		t.Errorf("own mail: %d", s)
	}
}

// Nothing is served without TLS.
func TestNeedsTLS(t *testing.T) {
	e := start(t)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/me", nil))
	var body ErrorBody
	json.NewDecoder(rec.Body).Decode(&body)
	if rec.Code != http.StatusUpgradeRequired || body.Error.Code != "gateway.needs_tls" {
		t.Errorf("%d %+v", rec.Code, body)
	}
}

// The OpenAPI document describes exactly the routes served.
func TestOpenAPI(t *testing.T) {
	e := start(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	resp, err := e.http.Get(e.url + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("%v %q", err, doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(documented)
	served := slices.Sorted(slices.Values(e.srv.routes))
	if !slices.Equal(documented, served) {
		t.Errorf("documented:\n%s\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

func TestSentences(t *testing.T) {
	for _, r := range Reasons {
		for _, l := range i18n.Langs {
			if r != NotInGatewayMode && !l.Has("gateway."+string(r)) {
				t.Errorf("%s has no sentence for %s", l, r)
			}
		}
	}
	for _, what := range NotHere {
		for _, l := range i18n.Langs {
			if !l.Has("gateway.not_in_gateway_mode." + what) {
				t.Errorf("%s has no sentence for %s", l, what)
			}
		}
	}
}

// A flood of calls without a proven caller is refused all the same, but
// the audit log takes only RefusalsAudited of them a minute from one
// address.
func TestRefusalFlood(t *testing.T) {
	e := start(t)
	for range 2*RefusalsAudited + 10 {
		if s := e.call(t, "", "GET", "/v1/me", nil, nil); s != 401 {
			t.Fatalf("%d", s)
		}
	}
	log, err := e.core.AuditLog(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range log {
		if l.Action == "refused" {
			n++
		}
	}
	// Calls that straddle a minute may write up to twice the limit.
	if n < RefusalsAudited || n > 2*RefusalsAudited {
		t.Errorf("%d refusals audited", n)
	}
}

// multipartMail is a submit's body: the mail, then the files.
func multipartMail(t *testing.T, m SubmitMail, files map[string][]byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormField("mail")
	json.NewEncoder(part).Encode(m)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f, _ := w.CreateFormFile("attachment", name)
		f.Write(files[name])
	}
	w.Close()
	return &b, w.FormDataContentType()
}

func (e *env) submit(t *testing.T, token string, m SubmitMail, files map[string][]byte, out any) int {
	t.Helper()
	body, ct := multipartMail(t, m, files)
	req, _ := http.NewRequest("POST", e.url+"/v1/mails", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

// A mail submitted through the API is sent by the gateway, with the
// mailbox's key that never leaves it, to the receipt; a submit sent
// twice is one mail.
func TestSubmit(t *testing.T) {
	e := start(t)
	tok := e.token(t, staff, scope)
	m := SubmitMail{MessageID: "<0123456789abcdef@hoejskole.example>", Mailbox: "sikkerpost-uddservice@hoejskole.example",
		To: []string{"jens.hansen@kommune.example"}, Cc: []string{"0101901009"}, Subject: "Afgørelse", Body: "Kære Jens\n\nSe vedhæftet.\n"}
	files := map[string][]byte{"Afgørelse.pdf": []byte("%PDF-1.7 afgørelse")}
	var first, again Submitted
	if s := e.submit(t, tok, m, files, &first); s != 202 || first.ID == 0 || first.MessageID != m.MessageID {
		t.Fatalf("%d %+v", s, first)
	}
	if s := e.submit(t, tok, m, files, &again); s != 202 || again != first {
		t.Fatalf("sent twice: %d %+v, first %+v", s, again, first)
	}
	if n, err := e.core.Process(context.Background()); n != 1 || err != nil {
		t.Fatalf("sent %d: %v", n, err)
	}
	var got MailView
	if s := e.call(t, tok, "GET", fmt.Sprintf("/v1/outbox/%d", first.ID), nil, &got); s != 200 || got.State != "done" || got.Receipt == nil || len(got.Receipt.Recipients) != 2 {
		t.Fatalf("%d %+v", s, got)
	}
	// Another user cannot take over the Message-ID.
	var taken ErrorBody
	if s := e.submit(t, e.token(t, reader, scope), m, nil, &taken); s != 422 || taken.Error.Code != "send.bad_message_id" {
		t.Errorf("another's Message-ID: %d %+v", s, taken)
	}
}

// What cannot be sent is refused before anything is queued, for its
// reason: no right, a red recipient, a Message-ID of no form, too large.
func TestSubmitRefused(t *testing.T) {
	e := start(t)
	tok := e.token(t, staff, scope)
	base := SubmitMail{MessageID: "<a1@hoejskole.example>", Mailbox: "sikkerpost-uddservice@hoejskole.example", To: []string{"jens.hansen@kommune.example"}, Subject: "Emne", Body: "Tekst"}
	var me Me
	e.call(t, tok, "GET", "/v1/me", nil, &me)
	if me.Limits.Upload <= me.Limits.Email || me.Limits.Recipients == 0 {
		t.Fatalf("limits %+v", me.Limits)
	}
	for _, c := range []struct {
		name   string
		change func(*SubmitMail)
		files  map[string][]byte
		status int
		code   string
	}{
		{"no right to the mailbox", func(m *SubmitMail) { m.Mailbox = "sikkerpost-hr@hoejskole.example" }, nil, 403, "policy.no_right"},
		{"a red recipient", func(m *SubmitMail) { m.To = []string{"ukendt@andet.example"} }, nil, 422, "directory.no_certificate"},
		{"a Message-ID of no form", func(m *SubmitMail) { m.MessageID = "not-an-id" }, nil, 422, "send.bad_message_id"},
		{"too large", func(*SubmitMail) {}, map[string][]byte{"stor.bin": make([]byte, me.Limits.Upload)}, 413, "gateway.too_large"},
	} {
		m := base
		c.change(&m)
		var body ErrorBody
		if s := e.submit(t, tok, m, c.files, &body); s != c.status || body.Error.Code != c.code || body.Error.Message == "" {
			t.Errorf("%s: %d %+v", c.name, s, body)
		}
	}
	var list []MailView
	if e.call(t, tok, "GET", "/v1/outbox", nil, &list); len(list) != 0 {
		t.Errorf("queued %+v", list)
	}
}

// A machine calls with a client certificate instead of a token: one
// from the configured CA for a listed address is that caller; one for
// another address is refused and audited; one from another CA gets no
// connection at all.
func TestClientCertificate(t *testing.T) {
	ca, caKey := machineCA(t)
	e := startWith(t, ca)
	for _, c := range []struct {
		email  string
		status int
		code   string
	}{
		{"batch@hoejskole.example", 200, ""},
		{"someone@hoejskole.example", 401, "auth.unknown_client"},
	} {
		hc := e.withCertificate(t, ca, caKey, c.email)
		resp, err := hc.Get(e.url + "/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Me
			Error ErrorView `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status || body.Error.Code != c.code || (c.status == 200 && body.User != c.email) {
			t.Errorf("%s: %d %+v", c.email, resp.StatusCode, body)
		}
	}
	other, otherKey := machineCA(t)
	if resp, err := e.withCertificate(t, other, otherKey, "batch@hoejskole.example").Get(e.url + "/v1/me"); err == nil {
		resp.Body.Close()
		t.Errorf("a certificate from another CA was let in: %d", resp.StatusCode)
	}
}

func machineCA(t *testing.T) (*x509.Certificate, crypto.Signer) {
	now := time.Now()
	ca, key, err := mailtest.Issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Maskiner CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// withCertificate is a client that presents a certificate for email
// issued by ca.
func (e *env) withCertificate(t *testing.T, ca *x509.Certificate, caKey crypto.Signer, email string) *http.Client {
	now := time.Now()
	cert, key, err := mailtest.Issue(ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: email}, EmailAddresses: []string{email},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots,
		Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}}}}
}

// A client that kept a mail while the gateway could not be reached
// keeps it sealed to the gateway's sealing certificate, and submits it
// so: the gateway opens it and takes it as any submit. Sealed to another
// certificate, it is refused.
func TestSealedSubmit(t *testing.T) {
	e := start(t)
	tok := e.token(t, staff, scope)
	var sc SealingView
	if s := e.call(t, tok, "GET", "/v1/sealing-certificate", nil, &sc); s != 200 {
		t.Fatalf("%d", s)
	}
	der, _ := base64.StdEncoding.DecodeString(sc.Certificate)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := machineCA(t)
	m := SubmitMail{MessageID: "<sealed1@hoejskole.example>", Mailbox: "sikkerpost-uddservice@hoejskole.example", To: []string{"jens.hansen@kommune.example"}, Subject: "Forseglet", Body: "Hej"}
	for _, c := range []struct {
		to     *x509.Certificate
		status int
		code   string
	}{{other, 422, "gateway.sealed_for_other"}, {cert, 202, ""}} {
		body, ct := multipartMail(t, m, map[string][]byte{"bilag.txt": []byte("bilag")})
		entity := append([]byte("Content-Type: "+ct+"\r\n\r\n"), body.Bytes()...)
		sealed, err := smime.Encrypt(entity, []smime.Recipient{{Cert: c.to}}, smime.AES256GCM)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", e.url+"/v1/mails", bytes.NewReader(sealed))
		req.Header.Set("Content-Type", "application/pkcs7-mime")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Submitted
			Error ErrorView `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != c.status || out.Error.Code != c.code || (c.status == 202 && out.MessageID != m.MessageID) {
			t.Errorf("sealed to %s: %d %+v", c.to.Subject, resp.StatusCode, out)
		}
	}
}
