package core

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/scan"
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
