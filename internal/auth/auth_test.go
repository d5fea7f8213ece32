package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/auth"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
)

const (
	clientID = "4b8e1f7a-0c2d-4e3f-9a1b-2c3d4e5f6a7b" // the desktop client's app registration
	apiURI   = "api://sikkermail-gateway"
	apiID    = "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a"
	otherID  = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	helpdesk = "0f1e2d3c-4b5a-4968-8776-655443322110" // the helpdesk group's object ID
)

// signIn gets an access token for scope from the simulator, as MSAL's
// device code flow does.
func signIn(t *testing.T, e *mailtest.Entra, user, scope string) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: e.TLS.Client()}}
	post := func(path string, form url.Values) map[string]any {
		resp, err := c.PostForm(e.Authority+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return decode(t, resp)
	}
	dc := post("/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {scope}})
	if err := e.ApproveDevice(dc["user_code"].(string), user, "pw"); err != nil {
		t.Fatal(err)
	}
	tok := post("/oauth2/v2.0/token", url.Values{"client_id": {clientID}, "grant_type": {"device_code"}, "device_code": {dc["device_code"].(string)}})
	s, _ := tok["access_token"].(string)
	if s == "" {
		t.Fatalf("no token: %v", tok)
	}
	return s
}

func setup(t *testing.T) (*mailtest.Entra, *auth.Verifier) {
	e := mailtest.StartEntra(t, clientID)
	e.AddAPI(apiURI, apiID)
	e.AddAPI("api://other-service", otherID)
	e.AddUser("medarbejder@hoejskole.example", "pw", "Demo Medarbejder")
	e.AddUser("helpdesk@hoejskole.example", "pw", "Demo Helpdesk")
	e.SetGroups("helpdesk@hoejskole.example", "11111111-2222-4333-8444-555555555555", helpdesk)
	v, err := auth.New(context.Background(), auth.Config{Issuer: e.Issuer, Audience: apiID, Scope: "access_as_user",
		HelpdeskGroup: helpdesk, Helpdesk: []string{"it-vagt@hoejskole.example"}, Clients: []string{"batch@hoejskole.example"},
		HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: e.TLS.Client()}}})
	if err != nil {
		t.Fatal(err)
	}
	return e, v
}

func TestToken(t *testing.T) {
	e, v := setup(t)
	ctx := context.Background()
	staff, err := v.Token(ctx, signIn(t, e, "medarbejder@hoejskole.example", apiURI+"/access_as_user offline_access"))
	if err != nil || staff.User != "medarbejder@hoejskole.example" || staff.Name != "Demo Medarbejder" || staff.Helpdesk || staff.Via != "token" {
		t.Fatalf("%+v %v", staff, err)
	}
	hd, err := v.Token(ctx, signIn(t, e, "helpdesk@hoejskole.example", apiURI+"/access_as_user"))
	if err != nil || !hd.Helpdesk {
		t.Fatalf("a member of the helpdesk group: %+v %v", hd, err)
	}
}

// Every token that does not prove a caller is refused, for its reason.
func TestRefused(t *testing.T) {
	e, v := setup(t)
	ctx := context.Background()
	now := time.Now()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"iss": e.Issuer, "aud": apiID, "tid": mailtest.EntraTenant, "oid": "x", "preferred_username": "medarbejder@hoejskole.example",
			"scp": "access_as_user", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ver": "2.0"}
		change(c)
		return c
	}
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, c := range []struct {
		name  string
		token string
		want  auth.Reason
	}{
		{"none", "", auth.NoToken},
		{"not a JWT", "abc.def", auth.Malformed},
		{"signed by another key", mailtest.SignJWT(forger, "k1", claims(func(map[string]any) {})), auth.BadSignature},
		{"claims changed after signing", tampered(e.Sign(claims(func(map[string]any) {})), forger), auth.BadSignature},
		{"expired", e.Sign(claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), auth.Expired},
		{"not yet valid", e.Sign(claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), auth.NotYetValid},
		{"another issuer", e.Sign(claims(func(c map[string]any) { c["iss"] = "https://login.microsoftonline.com/other/v2.0" })), auth.WrongIssuer},
		{"for another API", signIn(t, e, "medarbejder@hoejskole.example", "api://other-service/access_as_user"), auth.WrongAudience},
		{"an ID token", idToken(t, e), auth.WrongAudience},
		{"without the scope", e.Sign(claims(func(c map[string]any) { c["scp"] = "read_only" })), auth.WrongScope},
		{"without a user", e.Sign(claims(func(c map[string]any) { delete(c, "preferred_username") })), auth.NoUser},
	} {
		id, err := v.Token(ctx, c.token)
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.Reason != c.want {
			t.Errorf("%s: %+v, %v; want %s", c.name, id, err, c.want)
		}
	}
}

// tampered is token with the claims of another user, its signature kept.
func tampered(token string, key *rsa.PrivateKey) string {
	parts := strings.Split(token, ".")
	other := strings.Split(mailtest.SignJWT(key, "k1", map[string]any{"preferred_username": "helpdesk@hoejskole.example"}), ".")
	return parts[0] + "." + other[1] + "." + parts[2]
}

// idToken is the ID token of a sign-in: for the client, not the gateway.
func idToken(t *testing.T, e *mailtest.Entra) string {
	now := time.Now()
	return e.Sign(map[string]any{"iss": e.Issuer, "aud": clientID, "preferred_username": "medarbejder@hoejskole.example",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ver": "2.0"})
}

func TestCertificate(t *testing.T) {
	_, v := setup(t)
	id, err := v.Certificate(&x509.Certificate{Subject: pkix.Name{CommonName: "Batch"}, EmailAddresses: []string{"Batch@hoejskole.example"}})
	if err != nil || id.User != "batch@hoejskole.example" || id.Via != "certificate" || id.Helpdesk {
		t.Fatalf("%+v %v", id, err)
	}
	var ae *auth.Error
	if _, err := v.Certificate(&x509.Certificate{Subject: pkix.Name{CommonName: "Someone"}, EmailAddresses: []string{"x@hoejskole.example"}}); !errors.As(err, &ae) || ae.Reason != auth.UnknownClient {
		t.Errorf("unlisted certificate: %v", err)
	}
}

func TestSentences(t *testing.T) {
	for _, r := range auth.Reasons {
		for _, l := range i18n.Langs {
			if !l.Has("auth." + string(r)) {
				t.Errorf("%s has no sentence for %s", l, r)
			}
		}
	}
}

func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := jsonDecode(resp, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
