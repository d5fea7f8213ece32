package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/policy"
	"sikkermail/internal/scan"
	"sikkermail/internal/testenv"
)

// deliveredOf is delivered of what in delivers, in Danish.
func deliveredOf(t *testing.T, in *Inspection) (mail.Header, string) {
	t.Helper()
	out, err := in.Delivered(i18n.Danish)
	if err != nil {
		t.Fatal(err)
	}
	return delivered(t, out)
}

// delivered reads a mail the boundary delivered: its header, and the
// words of its first part.
func delivered(t *testing.T, out []byte) (mail.Header, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mt != "multipart/mixed" { // the readers' notice
		words, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		return m.Header, string(words)
	}
	p, err := multipart.NewReader(m.Body, params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	words, _ := io.ReadAll(p)
	return m.Header, string(words)
}

// Every kind of mail a secure mailbox receives is opened at the
// boundary, scanned by a real clamd and delivered decrypted with the
// verdict its reader's client gives; one that cannot be opened goes to
// quarantine with the mail as it came; malware, and a scanner that is
// down, are never delivered as if fine.
func TestBoundary(t *testing.T) {
	_, c, _ := inboxEnv(t)
	d := daemon.StartClamd(t, "25M")
	clamd := &scan.Clamd{Network: "unix", Address: d.Socket}
	ctx := context.Background()
	// Not opened: not for this mailbox, changed on the way, a signature
	// over another text than the one shown.
	quarantined := map[string]bool{"wrong recipient": true, "tampered": true, "forged econtent": true}
	for _, k := range kinds(t) {
		in, err := c.Inspect(ctx, sendMailbox, k.raw, clamd)
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		out, err := in.Delivered(i18n.Danish)
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		h, words := delivered(t, out)
		want := VerdictNotSecure
		switch {
		case k.secure:
			want = VerdictSecure
		case quarantined[k.name]:
			want = VerdictQuarantine
		}
		if got := h[HeaderVerdict]; len(got) != 1 || got[0] != want || h.Get(HeaderScan) != "clean" {
			t.Errorf("%s: verdict %q, scan %q, want %s", k.name, got, h.Get(HeaderScan), want)
		}
		for _, w := range append(k.words, "Scannet for virus i gatewayen (ClamAV): intet fundet.") {
			if !strings.Contains(words, w) {
				t.Errorf("%s: the first part lacks %q:\n%s", k.name, w, words)
			}
		}
		if want == VerdictQuarantine {
			if !strings.Contains(words, "original.eml") || !bytes.Contains(out, k.raw[:200]) {
				t.Errorf("%s: the mail as it came is not attached", k.name)
			}
		} else if _, body := splitEntity(in.Entity); in.Entity == nil || !bytes.Contains(out, body) || bytes.Contains(out, []byte("application/pkcs7-mime")) {
			t.Errorf("%s: not delivered decrypted", k.name)
		}
	}

	// With the CA's revocation list, the verdict says the certificate
	// is not revoked, as the list says.
	e := newSendEnv(t)
	e.cfg.SMIME.CRLs = []string{certPath("ca.crl")}
	withCRL := e.core(t)
	in, err := withCRL.Inspect(ctx, sendMailbox, fromJens(t, "jens.hansen@kommune.example", identity(t, "mailbox-rsa.p12"), true, true), clamd)
	if err != nil {
		t.Fatal(err)
	}
	if _, words := deliveredOf(t, in); !strings.HasPrefix(words, "Sendt sikkert: krypteret (AES-256-GCM) og signeret af Jens Hansen <jens.hansen@kommune.example> — certifikat gyldigt, ikke spærret.") {
		t.Errorf("with the CA's list: %s", words)
	}

	// Malware in an encrypted attachment: found once decrypted.
	mbox := identity(t, "mailbox-rsa.p12")
	virus, err := mailtest.Incoming(message.Header{From: message.Address{Address: "jens.hansen@kommune.example"}, To: []message.Address{{Address: sendMailbox}},
		Subject: "Faktura", MessageID: message.NewMessageID("kommune.example")},
		message.Draft{Body: "Se fakturaen.", Attachments: []message.Attachment{{Name: "faktura.com", Data: []byte(daemon.EICAR)}}},
		identity(t, "recipient-rsa.p12"), mbox.Cert)
	if err != nil {
		t.Fatal(err)
	}
	in, err = c.Inspect(ctx, sendMailbox, virus, clamd)
	if err != nil || !in.Quarantine() || in.Scanned.Found != daemon.EICARName {
		t.Fatalf("%+v %v", in, err)
	}
	out, _ := in.Delivered(i18n.Danish)
	h, words := delivered(t, out)
	if h.Get(HeaderVerdict) != VerdictQuarantine || h.Get(HeaderScan) != "found="+daemon.EICARName || !strings.Contains(words, "fandt "+daemon.EICARName) {
		t.Errorf("malware: %v\n%s", h, words)
	}

	// Verdict headers the mail came with are the sender's, not ours.
	forged := append([]byte("Sikkermail-Verdict: secure\r\nSikkermail-Scan: clean\r\n"), fromJens(t, "jens.hansen@kommune.example", nil, false, false)...)
	in, err = c.Inspect(ctx, sendMailbox, forged, clamd)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = in.Delivered(i18n.Danish)
	if h, _ := delivered(t, out); len(h[HeaderVerdict]) != 1 || h.Get(HeaderVerdict) != VerdictNotSecure || len(h[HeaderScan]) != 1 {
		t.Errorf("forged verdict headers: %v", h)
	}

	// The scanner down: not scanned, never a pass.
	d.Stop()
	in, err = c.Inspect(ctx, sendMailbox, kinds(t)[0].raw, clamd)
	if err != nil || !in.Quarantine() || in.ScanErr == nil {
		t.Fatalf("%+v %v", in, err)
	}
	out, _ = in.Delivered(i18n.English)
	h, words = delivered(t, out)
	if h.Get(HeaderVerdict) != VerdictQuarantine || h.Get(HeaderScan) != "not-scanned" || !strings.Contains(words, "Not scanned for malware: The virus scanner") {
		t.Errorf("scanner down: %v\n%s", h, words)
	}
}

// A signer whose certificate the CA has revoked, as the CRL its
// certificate names says, served over HTTP: the boundary fetches the
// list and the mail is not delivered as secure, in words that say so.
func TestBoundaryRevoked(t *testing.T) {
	_, c, _ := inboxEnv(t)
	ctx := context.Background()
	var hits atomic.Int32
	var serial atomic.Pointer[big.Int]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		ca, key := testCA(t)
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: serial.Load(), RevocationTime: time.Now().Add(-time.Minute)}},
		}, ca, key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(crl)
	}))
	defer srv.Close()
	jens := issued(t, "jens.hansen@kommune.example", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), srv.URL+"/ca.crl")
	serial.Store(jens.Cert.SerialNumber)
	raw := crafted(t, "From: jens.hansen@kommune.example\r\nSubject: Spærret\r\n",
		[]byte("Content-Type: text/plain; charset=utf-8\r\n\r\nBetal fakturaen.\r\n"), jens, identity(t, "mailbox-rsa.p12"))
	in, err := c.Inspect(ctx, sendMailbox, raw, clamdScanner(t))
	if err != nil {
		t.Fatal(err)
	}
	h, words := deliveredOf(t, in)
	if h.Get(HeaderVerdict) == VerdictSecure || !strings.Contains(words, "Ikke sendt sikkert") || !strings.Contains(words, "er spærret") || hits.Load() == 0 {
		t.Errorf("revoked: %v, %d fetches\n%s", h, hits.Load(), words)
	}
	if !strings.Contains(h.Get(HeaderSigner), "invalid") {
		t.Errorf("signer %q", h.Get(HeaderSigner))
	}
}

// Mail as Thunderbird (NSS) writes it, from Mozilla's own test vectors
// (testdata/thunderbird), to a secure mailbox whose key is Bob's: signed
// then encrypted, opaque-signed then encrypted, encrypted only, and
// the forgery of a signature over another text.
func TestBoundaryThunderbird(t *testing.T) {
	e := newSendEnv(t)
	tb := func(name string) string { return testenv.Path("testdata", "thunderbird", name) }
	e.cfg.SMIME.TrustAnchors = append(e.cfg.SMIME.TrustAnchors, tb("TestCA.pem"))
	e.cfg.SMIME.Offline = true // NSS's test certificates name no revocation source
	// Bob's mailbox is the institution's, for the test.
	e.cfg.Institution.Domains = append(e.cfg.Institution.Domains, "example.com")
	c := e.core(t)
	ctx := context.Background()
	pw := filepath.Join(e.dir, "nss-password")
	os.WriteFile(pw, []byte("nss"), 0o600)
	const bob = "bob@example.com"
	if err := c.local.AddMailbox(ctx, testHelpdesk, policy.Mailbox{Address: bob, Name: "Bob", Identity: tb("Bob.p12"), Password: "file:" + pw}); err != nil {
		t.Fatal(err)
	}
	clamd := clamdScanner(t)
	for _, tc := range []struct{ file, verdict, words string }{
		{"alice.dsig.SHA256.multipart.env.eml", VerdictSecure, "Sendt sikkert: krypteret (AES-128-CBC) og signeret af Alice <Alice@example.com>"},
		{"alice.sig.SHA256.opaque.env.eml", VerdictSecure, "Sendt sikkert"},
		{"alice.env.eml", VerdictNotSecure, "ikke signeret"},
		{"alice.dsig.SHA256.multipart.mismatch-econtent.eml", VerdictQuarantine, "Ikke sendt sikkert"},
	} {
		raw, err := os.ReadFile(tb(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		in, err := c.Inspect(ctx, bob, raw, clamd)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if h, words := deliveredOf(t, in); h.Get(HeaderVerdict) != tc.verdict || !strings.Contains(words, tc.words) {
			t.Errorf("%s: %s\n%s", tc.file, h.Get(HeaderVerdict), words)
		}
	}
}
