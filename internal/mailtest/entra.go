package mailtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Entra is an OAuth 2.0 / OpenID Connect authorization server on
// loopback, in the shape Microsoft Entra ID gives its endpoints, written
// from the RFCs and nothing of the client's: discovery (OpenID Connect
// Discovery), authorize with PKCE (RFC 6749 §4.1, RFC 7636: S256 only),
// token with authorization_code, refresh_token (rotated) and device_code
// grants (RFC 8628), the client credentials grant (RFC 6749 §4.4) for
// confidential clients authenticated with a secret or a JWT signed with
// their certificate's key (RFC 7523, the certificate named by its
// thumbprint as Entra ID does), a JWKS, and token introspection (RFC
// 7662) for mail servers that check the tokens. It serves TLS only.
//
// The browser step is a form the test (or a person) fills in: GET
// authorize shows it, POST authorize checks the password and redirects
// to the client's loopback redirect URI with the code.
type Entra struct {
	// Authority is https://127.0.0.1:PORT/TENANT, Issuer its v2.0 issuer.
	Authority, Issuer string
	// Introspection is the RFC 7662 endpoint mail servers ask.
	Introspection string
	// ClientID is the app registration the server knows.
	ClientID string
	TLS      *TLS
	// Lifetime is how long an access token lasts (default an hour).
	Lifetime time.Duration
	// Now is the server's clock (tests move it).
	Now func() time.Time

	key    *rsa.PrivateKey
	tenant string
	// apis are the app registrations that expose a web API, by their
	// application ID URI: tokens for their scopes are signed JWTs.
	apis map[string]string
	// apps are the confidential clients (daemons, services), by client ID.
	apps map[string]entraApp

	lifecycle
	mu       sync.Mutex
	users    map[string]*entraUser
	codes    map[string]entraGrant
	refresh  map[string]entraGrant
	access   map[string]entraToken
	devices  map[string]*entraDevice
	issued   int
	refreshs int
}

type entraUser struct {
	username, password, name, oid string
	// groups are the object IDs of the groups the user is a member of.
	groups []string
	// claims, when set, is a Conditional Access challenge: refreshing
	// fails with interaction_required until a sign-in asks for them.
	claims string
}

type entraGrant struct {
	user, clientID, redirect, challenge, scope string
	claims                                     string
	expires                                    time.Time
}

type entraToken struct {
	// user is the signed-in user's name; app the client ID of an
	// app-only token (client credentials), whose user is "".
	user, app, scope string
	expires          time.Time
}

type entraApp struct {
	secret string
	cert   *x509.Certificate
}

type entraDevice struct {
	userCode, scope, clientID string
	user                      string // "" until approved
	expires                   time.Time
}

// EntraTenant is the simulator's tenant id.
const EntraTenant = "5b0e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4"

// StartEntra is NewEntra for a test, stopped when the test ends.
func StartEntra(t T, clientID string) *Entra {
	t.Helper()
	e, err := NewEntra(clientID)
	return started(t, e, err)
}

// NewEntra starts the server with the app registration clientID and no
// users (AddUser adds them); Close stops it.
func NewEntra(clientID string) (*Entra, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	e := &Entra{ClientID: clientID, key: key, tenant: EntraTenant, Lifetime: time.Hour, Now: time.Now,
		users: map[string]*entraUser{}, codes: map[string]entraGrant{}, refresh: map[string]entraGrant{},
		access: map[string]entraToken{}, devices: map[string]*entraDevice{}, apis: map[string]string{}, apps: map[string]entraApp{}}
	if e.TLS, err = e.tempTLS(); err != nil {
		return nil, err
	}
	l, err := listen(true, e.TLS)
	if err != nil {
		e.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	p := "/" + e.tenant
	mux.HandleFunc("GET "+p+"/v2.0/.well-known/openid-configuration", e.discovery)
	mux.HandleFunc("GET "+p+"/oauth2/v2.0/authorize", e.authorizeForm)
	mux.HandleFunc("POST "+p+"/oauth2/v2.0/authorize", e.authorize)
	mux.HandleFunc("POST "+p+"/oauth2/v2.0/token", e.token)
	mux.HandleFunc("POST "+p+"/oauth2/v2.0/devicecode", e.deviceCode)
	mux.HandleFunc("GET "+p+"/discovery/v2.0/keys", e.keys)
	mux.HandleFunc("POST /introspect", e.introspect)
	srv := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	addr := e.serve(l, srv.Serve, func() { srv.Close() })
	base := "https://" + addr
	e.Authority, e.Issuer, e.Introspection = base+p, base+p+"/v2.0", base+"/introspect"
	return e, nil
}

// AddUser adds a user who signs in with password.
func (e *Entra) AddUser(username, password, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[strings.ToLower(username)] = &entraUser{username: strings.ToLower(username), password: password, name: name, oid: randomID()}
}

// AddAPI registers a web API (an app registration that exposes scopes)
// with application ID URI idURI (api://…) and application (client) ID
// appID. An access token for its scopes is, as Entra ID issues for an
// API whose manifest accepts version 2 tokens, a JWT signed with the
// tenant's key: aud is appID, scp the scopes' short names, groups the
// user's group object IDs.
func (e *Entra) AddAPI(idURI, appID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.apis[strings.TrimSuffix(idURI, "/")] = appID
}

// AddApp registers a confidential client: a service that signs in as
// itself with the client credentials grant, proving it with secret
// (client_secret) or, when cert is not nil, with a client assertion
// signed by cert's key. It gets opaque app-only access tokens for
// RESOURCE/.default, which introspection answers with its client ID and
// no username.
func (e *Entra) AddApp(clientID, secret string, cert *x509.Certificate) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.apps[clientID] = entraApp{secret: secret, cert: cert}
}

// SetGroups makes the user a member of the groups (object IDs).
func (e *Entra) SetGroups(username string, groups ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u := e.users[strings.ToLower(username)]; u != nil {
		u.groups = groups
	}
}

// Revoke ends every session of the user (or app, by client ID):
// refresh and access tokens stop working (as a password reset or an
// admin's revocation does).
func (e *Entra) Revoke(username string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	username = strings.ToLower(username)
	for k, g := range e.refresh {
		if g.user == username {
			delete(e.refresh, k)
		}
	}
	for k, a := range e.access {
		if a.user == username || a.app == username {
			delete(e.access, k)
		}
	}
}

// Challenge makes Conditional Access ask the user for claims: refreshes
// fail with interaction_required and the claims until a sign-in asks for
// them.
func (e *Entra) Challenge(username, claims string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u := e.users[strings.ToLower(username)]; u != nil {
		u.claims = claims
	}
}

// Counts returns how many access tokens were issued, and how many of
// them by refreshing.
func (e *Entra) Counts() (issued, refreshed int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.issued, e.refreshs
}

// Active reports whether an access token is valid now, and for whom.
func (e *Entra) Active(token string) (user string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.access[token]
	if !ok || !e.Now().Before(a.expires) {
		return "", false
	}
	return a.user, true
}

// ApproveDevice is the browser step of the device code flow: the user
// enters userCode and signs in.
func (e *Entra) ApproveDevice(userCode, username, password string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[strings.ToLower(username)]
	if u == nil || u.password != password {
		return fmt.Errorf("entra: wrong username or password")
	}
	for _, d := range e.devices {
		if d.userCode == userCode {
			d.user = u.username
			return nil
		}
	}
	return fmt.Errorf("entra: no device code %s", userCode)
}

func (e *Entra) discovery(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(e.Authority, "/")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": e.Issuer, "authorization_endpoint": p + "/oauth2/v2.0/authorize", "token_endpoint": p + "/oauth2/v2.0/token",
		"device_authorization_endpoint": p + "/oauth2/v2.0/devicecode", "jwks_uri": p + "/discovery/v2.0/keys",
		"introspection_endpoint": e.Introspection, "response_types_supported": []string{"code"},
		"code_challenge_methods_supported": []string{"S256"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
	})
}

var entraForm = template.Must(template.New("login").Parse(`<!doctype html><html lang="en"><title>Sign in</title>
<form method="post">{{range $k, $v := .}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<label>Username <input name="username"></label> <label>Password <input name="password" type="password"></label>
<button>Sign in</button></form></html>`))

// authorizeForm checks the request (RFC 6749 §4.1.1, RFC 7636 §4.3) and
// shows the sign-in form; an invalid client or redirect URI is never
// redirected to.
func (e *Entra) authorizeForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := e.checkAuthorize(q); err != "" {
		http.Error(w, err, http.StatusBadRequest)
		return
	}
	q.Del("username")
	q.Del("password")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	entraForm.Execute(w, q)
}

func (e *Entra) checkAuthorize(q url.Values) string {
	switch {
	case q.Get("client_id") != e.ClientID:
		return "unknown client_id"
	case q.Get("response_type") != "code":
		return "response_type must be code"
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		return "PKCE with S256 is required"
	}
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || u.Scheme != "http" || u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1" {
		return "redirect_uri must be a loopback address"
	}
	return ""
}

// authorize takes the form: a right password gives a code, redirected
// to the client with its state.
func (e *Entra) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.PostForm
	if err := e.checkAuthorize(q); err != "" {
		http.Error(w, err, http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	u := e.users[strings.ToLower(q.Get("username"))]
	ok := u != nil && u.password == q.Get("password")
	code := randomID()
	if ok {
		e.codes[code] = entraGrant{user: u.username, clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"),
			challenge: q.Get("code_challenge"), scope: q.Get("scope"), claims: q.Get("claims"), expires: e.Now().Add(5 * time.Minute)}
	}
	e.mu.Unlock()
	if !ok {
		http.Error(w, "wrong username or password", http.StatusUnauthorized)
		return
	}
	if q.Get("response_mode") == "form_post" {
		// OAuth 2.0 Form Post Response Mode: the browser posts the code
		// to the redirect URI, so it is in no URL or history.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		entraPost.Execute(w, map[string]string{"Action": q.Get("redirect_uri"), "Code": code, "State": q.Get("state")})
		return
	}
	to, _ := url.Parse(q.Get("redirect_uri"))
	v := to.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

var entraPost = template.Must(template.New("post").Parse(`<!doctype html><html lang="en"><title>Signed in</title>
<body onload="document.forms[0].submit()"><form method="post" action="{{.Action}}">
<input type="hidden" name="code" value="{{.Code}}"><input type="hidden" name="state" value="{{.State}}">
<noscript><button>Continue</button></noscript></form></body></html>`))

func oauthError(w http.ResponseWriter, code, desc string, extra map[string]any) {
	body := map[string]any{"error": code, "error_description": desc}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, http.StatusBadRequest, body)
}

func (e *Entra) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error(), nil)
		return
	}
	f := r.PostForm
	if f.Get("grant_type") == "client_credentials" {
		e.clientCredentials(w, r)
		return
	}
	if f.Get("client_id") != e.ClientID {
		oauthError(w, "invalid_client", "unknown client_id", nil)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.Now()
	var g entraGrant
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := e.codes[f.Get("code")]
		delete(e.codes, f.Get("code")) // a code is used once
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok || !now.Before(c.expires):
			oauthError(w, "invalid_grant", "the code is unknown, used or expired", nil)
			return
		case c.redirect != f.Get("redirect_uri"):
			oauthError(w, "invalid_grant", "redirect_uri differs from the authorization request's", nil)
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
			oauthError(w, "invalid_grant", "code_verifier does not match code_challenge", nil)
			return
		}
		g = c
	case "refresh_token":
		c, ok := e.refresh[f.Get("refresh_token")]
		if !ok {
			oauthError(w, "invalid_grant", "AADSTS50173: the refresh token was revoked or has expired", nil)
			return
		}
		if u := e.users[c.user]; u != nil && u.claims != "" && f.Get("claims") == "" {
			oauthError(w, "interaction_required", "AADSTS50076: multi-factor authentication is required", map[string]any{
				"suberror": "basic_action", "claims": u.claims})
			return
		}
		delete(e.refresh, f.Get("refresh_token")) // rotated
		g = c
		if s := f.Get("scope"); s != "" {
			g.scope = s
		}
		e.refreshs++
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code": // RFC 8628's name, and the short one Entra ID takes too
		d, ok := e.devices[f.Get("device_code")]
		switch {
		case !ok || !now.Before(d.expires):
			oauthError(w, "expired_token", "the device code has expired", nil)
			return
		case d.user == "":
			oauthError(w, "authorization_pending", "the user has not signed in yet", nil)
			return
		}
		delete(e.devices, f.Get("device_code"))
		g = entraGrant{user: d.user, clientID: d.clientID, scope: d.scope}
	default:
		oauthError(w, "unsupported_grant_type", f.Get("grant_type"), nil)
		return
	}
	u := e.users[g.user]
	if u == nil {
		oauthError(w, "invalid_grant", "no such user", nil)
		return
	}
	if g.claims != "" && g.claims == u.claims {
		u.claims = "" // the challenge is met
	}
	g.claims = ""
	access, rt := randomID()+randomID(), randomID()+randomID()
	if appID, scp := e.apiScopes(g.scope); appID != "" {
		access = e.accessToken(u, appID, scp, g.clientID, now)
	}
	e.access[access] = entraToken{user: u.username, scope: g.scope, expires: now.Add(e.Lifetime)}
	e.refresh[rt] = g
	e.issued++
	clientInfo, _ := json.Marshal(map[string]string{"uid": u.oid, "utid": e.tenant})
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "scope": g.scope, "expires_in": int(e.Lifetime / time.Second), "ext_expires_in": int(e.Lifetime / time.Second),
		"access_token": access, "refresh_token": rt, "client_info": base64.RawURLEncoding.EncodeToString(clientInfo),
		"id_token": e.idToken(u, g.clientID, now),
	})
}

// clientCredentials is the client credentials grant: a confidential
// client proves itself and gets an app-only token for one resource's
// .default scope.
func (e *Entra) clientCredentials(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	app, ok := e.apps[id]
	now := e.Now()
	switch {
	case !ok:
		oauthError(w, "unauthorized_client", "AADSTS700016: application "+id+" was not found in the directory", nil)
		return
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || app.cert == nil {
			oauthError(w, "invalid_client", "AADSTS700027: client assertion is not accepted for this application", nil)
			return
		}
		if err := e.checkAssertion(f.Get("client_assertion"), id, app.cert, now); err != nil {
			oauthError(w, "invalid_client", "AADSTS700027: "+err.Error(), nil)
			return
		}
	case app.secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.secret)) != 1:
		oauthError(w, "invalid_client", "AADSTS7000215: invalid client secret provided", nil)
		return
	}
	// MSAL adds the OpenID Connect scopes to every request; they mean
	// nothing here.
	scopes := slices.DeleteFunc(strings.Fields(f.Get("scope")), func(s string) bool {
		return s == "openid" || s == "profile" || s == "offline_access"
	})
	if len(scopes) != 1 || !strings.HasSuffix(scopes[0], "/.default") {
		oauthError(w, "invalid_scope", "AADSTS1002012: the scope of the client credentials flow must be one RESOURCE/.default", nil)
		return
	}
	access := randomID() + randomID()
	e.access[access] = entraToken{app: id, scope: scopes[0], expires: now.Add(e.Lifetime)}
	e.issued++
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": int(e.Lifetime / time.Second),
		"ext_expires_in": int(e.Lifetime / time.Second), "access_token": access})
}

// checkAssertion checks a client assertion (RFC 7523 §3): signed with
// the key of cert, which its header names by thumbprint (x5t, SHA-1, or
// x5t#S256), issued by and about the client, for this token endpoint,
// not expired.
func (e *Entra) checkAssertion(jwt, clientID string, cert *x509.Certificate, now time.Time) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("the assertion is not a JWT")
	}
	var head map[string]string
	var claims struct {
		Iss, Sub, Aud string
		Exp, Nbf      int64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3, json.Unmarshal(hb, &head), json.Unmarshal(cb, &claims)); err != nil {
		return fmt.Errorf("the assertion cannot be read: %v", err)
	}
	sha1Sum, sha256Sum := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	if head["x5t"] != base64.RawURLEncoding.EncodeToString(sha1Sum[:]) && head["x5t#S256"] != base64.RawURLEncoding.EncodeToString(sha256Sum[:]) {
		return errors.New("the assertion's certificate thumbprint is not registered")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("the certificate has no RSA key")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var err error
	switch head["alg"] {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	default:
		err = fmt.Errorf("alg %q is not accepted", head["alg"])
	}
	switch {
	case err != nil:
		return fmt.Errorf("the assertion's signature is not valid: %v", err)
	case claims.Iss != clientID || claims.Sub != clientID:
		return errors.New("the assertion's iss and sub must be the client ID")
	case claims.Aud != strings.TrimSuffix(e.Authority, "/")+"/oauth2/v2.0/token":
		return fmt.Errorf("the assertion's aud %q is not this token endpoint", claims.Aud)
	case now.Unix() >= claims.Exp || claims.Nbf > now.Unix()+300:
		return errors.New("the assertion has expired or is not yet valid")
	}
	return nil
}

// idToken is an OpenID Connect ID token for u.
func (e *Entra) idToken(u *entraUser, clientID string, now time.Time) string {
	return e.sign(map[string]any{"iss": e.Issuer, "aud": clientID, "sub": u.oid, "oid": u.oid, "tid": e.tenant,
		"preferred_username": u.username, "name": u.name, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ver": "2.0"})
}

// apiScopes returns the application ID of the web API that scope (a
// request's space-separated scopes) asks for, and the short names of
// its scopes there; "" when it asks for none.
func (e *Entra) apiScopes(scope string) (appID, short string) {
	var names []string
	for _, s := range strings.Fields(scope) {
		for uri, id := range e.apis {
			if name, ok := strings.CutPrefix(s, uri+"/"); ok && name != ".default" {
				appID, names = id, append(names, name)
			}
		}
	}
	return appID, strings.Join(names, " ")
}

// Issue is the access token a sign-in of username for scope gets, as
// the token endpoint gives it (for a web API's scope, a signed JWT).
func (e *Entra) Issue(username, scope string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[strings.ToLower(username)]
	appID, scp := e.apiScopes(scope)
	if u == nil || appID == "" {
		return "", fmt.Errorf("mailtest: no user %s, or %q is no API's scope", username, scope)
	}
	now := e.Now()
	return e.accessToken(u, appID, scp, e.ClientID, now), nil
}

// accessToken is a web API's access token for u.
func (e *Entra) accessToken(u *entraUser, appID, scp, clientID string, now time.Time) string {
	return e.sign(map[string]any{"iss": e.Issuer, "aud": appID, "azp": clientID, "sub": u.oid, "oid": u.oid, "tid": e.tenant,
		"preferred_username": u.username, "name": u.name, "scp": scp, "groups": u.groups,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(e.Lifetime).Unix(), "ver": "2.0"})
}

// Sign signs claims as the tenant does its tokens (RS256, key id k1).
func (e *Entra) Sign(claims map[string]any) string { return e.sign(claims) }

func (e *Entra) sign(claims map[string]any) string { return SignJWT(e.key, "k1", claims) }

// SignJWT is a JWT of claims signed with key (RS256) under key id kid.
func SignJWT(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	body := enc(claims)
	sum := sha256.Sum256([]byte(head + "." + body))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (e *Entra) deviceCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != e.ClientID {
		oauthError(w, "invalid_client", "unknown client_id", nil)
		return
	}
	code, user := randomID(), strings.ToUpper(randomID()[:8])
	e.mu.Lock()
	e.devices[code] = &entraDevice{userCode: user, scope: r.PostForm.Get("scope"), clientID: e.ClientID, expires: e.Now().Add(15 * time.Minute)}
	e.mu.Unlock()
	verify := strings.TrimSuffix(e.Authority, "/"+e.tenant) + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{"device_code": code, "user_code": user, "verification_uri": verify,
		"expires_in": 900, "interval": 1,
		"message": "To sign in, use a web browser to open the page " + verify + " and enter the code " + user + " to authenticate."})
}

func (e *Entra) keys(w http.ResponseWriter, r *http.Request) {
	n := base64.RawURLEncoding.EncodeToString(e.key.N.Bytes())
	x := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(e.key.E)).Bytes())
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]string{"kty": "RSA", "use": "sig", "kid": "k1", "alg": "RS256", "n": n, "e": x}}})
}

// introspect answers RFC 7662: whether a token is active, for whom.
func (e *Entra) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" { // some resource servers send it as a bearer token
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	e.mu.Lock()
	a, ok := e.access[tok]
	active := ok && e.Now().Before(a.expires)
	e.mu.Unlock()
	if !active {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	if a.app != "" {
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "sub": a.app, "scope": a.scope, "exp": a.expires.Unix(),
			"client_id": a.app, "token_type": "Bearer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": true, "username": a.user, "scope": a.scope, "exp": a.expires.Unix(),
		"client_id": e.ClientID, "token_type": "Bearer"})
}

// AppOwner is how the mail servers here name an app-only token's owner,
// for MaySend and MayUse: at Exchange Online, the service principal the
// mailbox permissions (SendAs, FullAccess) are granted to.
func AppOwner(clientID string) string { return "app:" + clientID }

func isApp(owner string) bool { return strings.HasPrefix(owner, "app:") }

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// Introspect returns a function that asks an RFC 7662 introspection
// endpoint whose a bearer token is, over TLS verified against roots: a
// mail server's check of XOAUTH2 (SMTP.Tokens). An app-only token (no
// username) is the app's: AppOwner of its client ID.
func Introspect(endpoint string, roots *x509.CertPool) func(token string) (string, bool) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
	return func(token string) (string, bool) {
		resp, err := client.PostForm(endpoint, url.Values{"token": {token}, "token_type_hint": {"access_token"}})
		if err != nil {
			return "", false
		}
		defer resp.Body.Close()
		var r struct {
			Active   bool   `json:"active"`
			Username string `json:"username"`
			ClientID string `json:"client_id"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil {
			return "", false
		}
		if r.Username == "" && r.ClientID != "" {
			return AppOwner(r.ClientID), r.Active
		}
		return r.Username, r.Active
	}
}

// Browser is a user in a browser sent to the sign-in page: it fills in
// the form with username and password, and the page posts the code back
// to the client's loopback address. Give it as the client's "open the
// browser" function; it returns at once and does the rest beside.
func (e *Entra) Browser(username, password string) func(page string) error {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.TLS.Roots}}, Timeout: 10 * time.Second}
	read := func(r *http.Response) []byte {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return b
	}
	return func(page string) error {
		go func() {
			r, err := client.Get(page)
			if err != nil {
				return
			}
			form := formFields(read(r))
			form.Set("username", username)
			form.Set("password", password)
			if r, err = client.PostForm(page, form); err != nil {
				return
			}
			body := read(r)
			if m := formAction.FindSubmatch(body); m != nil {
				if r, err := client.PostForm(html.UnescapeString(string(m[1])), formFields(body)); err == nil {
					r.Body.Close()
				}
			}
		}()
		return nil
	}
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	formHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// formFields are a page's hidden form fields.
func formFields(page []byte) url.Values {
	v := url.Values{}
	for _, m := range formHidden.FindAllSubmatch(page, -1) {
		v.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	return v
}
