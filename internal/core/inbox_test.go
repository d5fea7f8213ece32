package core

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/message"
	"sikkermail/internal/policy"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

// incoming is a received mail of each kind a reader meets.
type incoming struct {
	name string
	raw  []byte
	// secure, and words the one-sentence summary must hold.
	secure bool
	words  []string
}

func certPath(name string) string { return testenv.Path("testdata", "certs", name) }

// fromJens builds a mail from the external recipient to the mailbox as
// our own send path does: signed (clear) by jens, encrypted for to.
func fromJens(t *testing.T, from string, to *smime.Identity, sign, encrypt bool) []byte {
	t.Helper()
	received := []string{"from mail.kommune.example (mail.kommune.example [192.0.2.7])\r\n\tby mx.hoejskole.example with ESMTPS id 4AbC\r\n\tfor <" +
		sendMailbox + ">; Tue, 1 Dec 2026 09:00:00 +0100",
		"from [10.0.0.3] by mail.kommune.example with ESMTPSA (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384);\r\n\tTue, 1 Dec 2026 08:59:59 +0100"}
	var signer *smime.Identity
	if sign {
		signer = identity(t, "recipient-rsa.p12")
	}
	var cert *x509.Certificate
	if encrypt {
		cert = to.Cert
	}
	msg, err := mailtest.Incoming(message.Header{From: message.Address{Name: "Jens Hansen", Address: from}, To: []message.Address{{Address: sendMailbox}},
		Subject: "Ansøgning", MessageID: message.NewMessageID("kommune.example")},
		message.Draft{Body: "Kære Uddannelsesservice\n\nHer er min ansøgning.\n", Attachments: []message.Attachment{{Name: "ansøgning.pdf", Data: []byte("%PDF-1.7 ansøgning")}}},
		signer, cert, received...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// byOpenSSL builds a mail with openssl cms: signed by jens, encrypted for
// the mailbox with AES-256-CBC, as another client would send it.
func byOpenSSL(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.eml")
	os.WriteFile(in, []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nHilsen fra openssl.\r\n"), 0o600)
	signed := filepath.Join(dir, "signed.eml")
	openssl(t, "cms", "-sign", "-in", in, "-out", signed, "-signer", certPath("recipient-rsa.pem"), "-inkey", certPath("recipient-rsa.key"))
	return openssl(t, "cms", "-encrypt", "-aes256", "-in", signed, "-from", "jens.hansen@kommune.example", "-to", sendMailbox,
		"-subject", "Fra openssl", certPath("mailbox-rsa.pem"))
}

// openssl runs openssl and returns what it wrote; a failure ends the
// test with openssl's words.
func openssl(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(testenv.Need(t, "openssl"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// crafted is a mail as an attacker or an odd client writes it: the outer
// header as given, the entity signed (clear) by signer when given and
// encrypted for to when given.
func crafted(t *testing.T, header string, entity []byte, signer *smime.Identity, to *smime.Identity) []byte {
	t.Helper()
	var err error
	if signer != nil {
		if entity, err = smime.SignEntity(entity, *signer, smime.SignOptions{Detached: true}); err != nil {
			t.Fatal(err)
		}
	}
	if to != nil {
		if entity, err = smime.EncryptEntity(entity, []smime.Recipient{{Cert: to.Cert}}, smime.AES256GCM); err != nil {
			t.Fatal(err)
		}
	}
	return append([]byte("Received: from mail.kommune.example by mx.hoejskole.example with ESMTPS; Tue, 1 Dec 2026 09:00:00 +0100\r\n"+
		"MIME-Version: 1.0\r\nTo: "+sendMailbox+"\r\nDate: Tue, 1 Dec 2026 08:59:00 +0100\r\n"+header), entity...)
}

// forgedEContent is the forgery of Thunderbird's mismatch-econtent
// tests made with jens's key: his opaque signature over one text, put
// as the signature beside another.
func forgedEContent(t *testing.T, jens *smime.Identity) []byte {
	t.Helper()
	der, err := smime.Sign([]byte("Content-Type: text/plain\r\n\r\nTak for sidst.\r\n"), *jens, smime.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"b\"\r\n\r\n")
	b.WriteString("--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBetal 1.000.000 kr. til konto 1234-5678901.\r\n")
	b.WriteString("--b\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(base64.StdEncoding.EncodeToString(der))
	b.WriteString("\r\n--b--\r\n")
	return []byte(b.String())
}

// issued is an identity for addr from the test CA, valid from nb to na,
// whose certificate names the CRL at crlURL (if any).
func issued(t *testing.T, addr string, nb, na time.Time, crlURL string) *smime.Identity {
	t.Helper()
	ca, caKey := testCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: addr},
		NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{addr},
	}
	if crlURL != "" {
		tmpl.CRLDistributionPoints = []string{crlURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &smime.Identity{Cert: c, Key: key}
}

// testCA is the test CA (testdata/certs) and its key.
func testCA(t *testing.T) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	ca := identity(t, "mailbox-rsa.p12").Chain
	caKeyPEM, err := os.ReadFile(certPath("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(caKeyPEM)
	caKey, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil || len(ca) == 0 {
		t.Fatalf("the test CA: %v", err)
	}
	return ca[0], caKey.(crypto.Signer)
}

// unreachableCRL is an identity for addr whose certificate names a CRL
// on a loopback port nobody listens on.
func unreachableCRL(t *testing.T, addr string) *smime.Identity {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/ca.crl"
	l.Close()
	return issued(t, addr, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), url)
}

// signedLongAgo is entity clear-signed in 2025 by a certificate for addr
// valid through 2025 only: valid when signed, expired since.
func signedLongAgo(t *testing.T, addr string, entity []byte) []byte {
	t.Helper()
	id := issued(t, addr, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC), "")
	signed, err := smime.SignEntity(entity, *id, smime.SignOptions{Detached: true, Time: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// bareSigned is text signed by openssl without -text: no MIME entity
// inside the signature, as many scripts send.
func bareSigned(t *testing.T) []byte {
	t.Helper()
	in := filepath.Join(t.TempDir(), "text.txt")
	os.WriteFile(in, []byte("Hilsen fra et script.\r\n"), 0o600)
	return openssl(t, "cms", "-sign", "-nodetach", "-binary", "-in", in, "-signer", certPath("recipient-rsa.pem"), "-inkey", certPath("recipient-rsa.key"))
}

func inboxEnv(t *testing.T) (*sendEnv, *Core, mailstore.Server) {
	t.Helper()
	e := newSendEnv(t)
	// jens's certificate is not in the store: reading his signed mail
	// teaches it.
	if err := os.Remove(filepath.Join(e.cfg.Directory.Store, "recipient-rsa.pem")); err != nil {
		t.Fatal(err)
	}
	c := e.core(t)
	if err := c.local.Grant(context.Background(), testHelpdesk, sendUser, sendMailbox, policy.Read); err != nil {
		t.Fatal(err)
	}
	srv, _ := c.imapServer()
	return e, c, srv
}

// deliver puts mails in the mailbox's INBOX, as the institution's mail
// server would.
func deliver(t *testing.T, srv mailstore.Server, acc mailstore.Account, mails ...incoming) {
	t.Helper()
	for _, m := range mails {
		if err := srv.AppendInbox(context.Background(), acc, "", bytes.NewReader(m.raw)); err != nil {
			t.Fatal(err)
		}
	}
}

func kinds(t *testing.T) []incoming {
	mbox := identity(t, "mailbox-rsa.p12")
	other := identity(t, "recipient-ec.p12")
	jens := identity(t, "recipient-rsa.p12")
	text := []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nBetal fakturaen i dag.\r\n")
	good := fromJens(t, "jens.hansen@kommune.example", mbox, true, true)
	tampered := bytes.Clone(good)
	// A change inside the encrypted body (base64 of the ciphertext).
	i := len(tampered) - 200
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	return []incoming{
		{"ours", good, true, []string{"Sendt sikkert", "AES-256-GCM", "Jens Hansen <jens.hansen@kommune.example>"}},
		{"openssl", byOpenSSL(t), true, []string{"Sendt sikkert", "AES-256-CBC", "Jens Hansen"}},
		{"plain", fromJens(t, "jens.hansen@kommune.example", nil, false, false), false, []string{"Ikke sendt sikkert", "ikke krypteret", "ikke signeret"}},
		{"signed only", fromJens(t, "jens.hansen@kommune.example", nil, true, false), false, []string{"Ikke sendt sikkert", "ikke krypteret"}},
		{"not from signer", fromJens(t, "svindel@andetsted.example", mbox, true, true), false, []string{"Ikke sendt sikkert", "ikke af afsenderen"}},
		{"wrong recipient", fromJens(t, "jens.hansen@kommune.example", other, true, true), false, []string{"Ikke sendt sikkert"}},
		{"tampered", tampered, false, []string{"Ikke sendt sikkert"}},
		{"forged econtent", crafted(t, "From: jens.hansen@kommune.example\r\nSubject: Betaling\r\n", forgedEContent(t, jens), nil, mbox), false,
			[]string{"Ikke sendt sikkert", "Signaturen fra jens.hansen@kommune.example dækker en anden tekst"}},
		{"signed by Sender", crafted(t, "From: direktoer@kommune.example\r\nSender: jens.hansen@kommune.example\r\nSubject: Ordre\r\n", text, jens, mbox), false,
			[]string{"Ikke sendt sikkert", "ikke af afsenderen i Fra-feltet"}},
		{"two From", crafted(t, "From: jens.hansen@kommune.example, direktoer@kommune.example\r\nSubject: Ordre\r\n", text, jens, mbox), false,
			[]string{"Ikke sendt sikkert", "flere Fra-adresser"}},
		{"name hides another address", crafted(t, "From: \"Jens Hansen <jens.hansen@kommune.example>\" <post@firma.example>\r\nSubject: Hej\r\n", text, other, mbox), true,
			[]string{"Sendt sikkert", "Advarsel: afsenderens navn viser adressen jens.hansen@kommune.example, men mailen er fra post@firma.example"}},
		{"protected subject", crafted(t, "From: jens.hansen@kommune.example\r\nSubject: Ændret emne\r\n",
			[]byte("Content-Type: text/plain; charset=utf-8; hp=\"clear\"\r\nFrom: jens.hansen@kommune.example\r\nSubject: Ansøgning om orlov\r\n\r\nTekst.\r\n"), jens, mbox), true,
			[]string{"Sendt sikkert", "emnet er ændret undervejs", "»Ændret emne«"}},
		{"revocation unknown", crafted(t, "From: jens.hansen@kommune.example\r\nSubject: Hej\r\n", text, unreachableCRL(t, "jens.hansen@kommune.example"), mbox), true,
			[]string{"Sendt sikkert", "Det kunne ikke kontrolleres, om certifikatet for jens.hansen@kommune.example er spærret"}},
		{"expired since", crafted(t, "From: jens.hansen@kommune.example\r\nSubject: Gammel\r\n", signedLongAgo(t, "jens.hansen@kommune.example", text), nil, mbox), true,
			[]string{"Sendt sikkert", "var gyldig, da den blev signeret 2025-06-01; certifikatet er siden udløbet (2025-12-31)"}},
		{"no MIME inside", crafted(t, "From: jens.hansen@kommune.example\r\nSubject: Script\r\n", bareSigned(t), nil, mbox), true,
			[]string{"Sendt sikkert"}},
		{"broken attachment", crafted(t, "From: jens.hansen@kommune.example\r\nSubject: Bilag\r\n",
			[]byte("Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nSe bilaget.\r\n--m\r\n"+
				"Content-Type: application/pdf; name=\"notat.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--m--\r\n"), jens, mbox), true,
			[]string{"Sendt sikkert", "Delen »notat.pdf« kunne ikke læses"}},
	}
}

// Messages encrypted by openssl and by our own send path arrive, are
// listed, decrypted, verified and reported; unsigned, unencrypted,
// tampered and wrong-recipient ones get the right report, never a crash.
func TestInboxReports(t *testing.T) {
	e, c, srv := inboxEnv(t)
	ctx := context.Background()
	acc, _ := c.account(ctx, c.User(), sendMailbox)
	mails := kinds(t)
	deliver(t, srv, acc, mails...)

	list, err := c.InboxList(ctx, sendMailbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(mails) {
		t.Fatalf("%d listed, %d delivered", len(list), len(mails))
	}
	badges := map[string]Badge{"ours": BadgeEncrypted, "openssl": BadgeEncrypted, "plain": BadgePlain, "signed only": BadgeSigned}
	for i, m := range mails {
		item := list[len(list)-1-i] // newest first
		if want, ok := badges[m.name]; ok && item.Badge != want {
			t.Errorf("%s: badge %s, want %s", m.name, item.Badge, want)
		}
		opened, err := c.InboxOpen(ctx, sendMailbox, item.UID)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		summary := opened.Report.Summary(i18n.Danish)
		if opened.Report.Secure() != m.secure {
			t.Errorf("%s: secure=%v: %s", m.name, opened.Report.Secure(), summary)
		}
		for _, w := range m.words {
			if !strings.Contains(summary, w) {
				t.Errorf("%s: %q lacks %q", m.name, summary, w)
			}
		}
		details := strings.Join(opened.Report.Details(i18n.Danish), "\n")
		if m.secure && opened.Content == nil {
			t.Errorf("%s: no content", m.name)
		}
		switch m.name {
		case "ours":
			if opened.Content.Text != "Kære Uddannelsesservice\n\nHer er min ansøgning.\n" || len(opened.Content.Attachments) != 1 ||
				opened.Content.Attachments[0].Name != "ansøgning.pdf" || opened.Subject != "Ansøgning" {
				t.Errorf("ours: %+v", opened.Content)
			}
			for _, w := range []string{"Emne og dato står uden for signaturen", "Krypteret: Ja (AES-256-GCM", "CVR 55133018", "betroet: Ja", "Den, der signerede, er afsenderen: Ja",
				"til mx.hoejskole.example med ESMTPS; krypteret forbindelse (TLS): Ja", "fra [10.0.0.3] til mail.kommune.example med ESMTPSA"} {
				if !strings.Contains(details, w) {
					t.Errorf("ours: details lack %q:\n%s", w, details)
				}
			}
		case "openssl":
			if opened.Content == nil || !strings.Contains(opened.Content.Text, "Hilsen fra openssl.") {
				t.Errorf("openssl: %+v", opened.Content)
			}
			if strings.Contains(details, "ESMTPS") || !strings.Contains(details, "Ingen Received-felter") {
				t.Errorf("openssl: hops %s", details)
			}
		case "plain":
			if opened.Content == nil || !strings.Contains(opened.Content.Text, "ansøgning") {
				t.Errorf("a plain mail is still shown: %+v", opened.Content)
			}
		case "forged econtent":
			if opened.Content != nil {
				t.Errorf("forged: content shown: %q", opened.Content.Text)
			}
		case "signed by Sender":
			if !strings.Contains(details, "Sendt af (Sender): jens.hansen@kommune.example") {
				t.Errorf("Sender not shown:\n%s", details)
			}
		case "name hides another address":
			if opened.FromLine() != "post@firma.example" {
				t.Errorf("From shown as %q", opened.FromLine())
			}
		case "protected subject":
			if opened.Subject != "Ansøgning om orlov" || !strings.Contains(details, "Emnet er signeret af afsenderen") {
				t.Errorf("subject %q, details:\n%s", opened.Subject, details)
			}
		case "no MIME inside":
			if opened.Content == nil || !strings.Contains(opened.Content.Text, "Hilsen fra et script.") || !strings.Contains(details, "vises som tekst") {
				t.Errorf("no MIME inside: %+v\n%s", opened.Content, details)
			}
		case "expired since":
			if !strings.Contains(details, "signaturen var gyldig, da den blev signeret 2025-06-01") {
				t.Errorf("expired since:\n%s", details)
			}
		case "broken attachment":
			if opened.Content == nil || !strings.Contains(opened.Content.Text, "Se bilaget") {
				t.Errorf("broken attachment: %+v", opened.Content)
			}
		}
		switch m.name {
		case "wrong recipient", "tampered":
			if opened.Content != nil {
				t.Errorf("%s: content shown: %q", m.name, opened.Content.Text)
			}
			var se *smime.Error
			if !errors.As(opened.Report.Err, &se) {
				t.Errorf("%s: %v", m.name, opened.Report.Err)
			}
		}
	}

	// jens's certificate was learnt from his valid signature: he is green
	// again without a directory.
	if v := c.Check(ctx, []string{"jens.hansen@kommune.example"}); !v[0].OK() {
		t.Errorf("the signer's certificate was not learnt: %v", v[0].Err)
	}

	// Marked handled: every reader sees it.
	if err := c.MarkHandled(ctx, sendMailbox, list[0].UID, true); err != nil {
		t.Fatal(err)
	}
	again, _ := c.InboxList(ctx, sendMailbox)
	if !again[0].Handled || again[1].Handled {
		t.Errorf("handled: %v %v", again[0].Handled, again[1].Handled)
	}
	if err := c.MarkHandled(ctx, sendMailbox, list[0].UID, false); err != nil {
		t.Fatal(err)
	}
	if again, _ = c.InboxList(ctx, sendMailbox); again[0].Handled {
		t.Error("still handled")
	}
	if got := i18n.Danish.M(c.HandledMark()); !strings.Contains(got, "nøgleordet $Behandlet") {
		t.Errorf("settings say %q", got)
	}
	// A server that keeps no keyword of its own (Exchange Online): the
	// follow-up flag marks it instead, and the settings say so.
	e.imap.NoKeywords = true
	if again, _ = c.InboxList(ctx, sendMailbox); again[0].Handled {
		t.Fatal("handled before it was marked")
	}
	if err := c.MarkHandled(ctx, sendMailbox, list[0].UID, true); err != nil {
		t.Fatal(err)
	}
	if again, _ = c.InboxList(ctx, sendMailbox); !again[0].Handled || !again[0].Has(FallbackHandledFlag) {
		t.Errorf("handled without keywords: %v %v", again[0].Handled, again[0].Flags)
	}
	if got := i18n.Danish.M(c.HandledMark()); !strings.Contains(got, "opfølgningsflaget") {
		t.Errorf("settings say %q", got)
	}
	c.MarkHandled(ctx, sendMailbox, list[0].UID, false)
	e.imap.NoKeywords = false

	// Without the read right, nothing is listed.
	if err := c.local.Revoke(ctx, testHelpdesk, sendUser, sendMailbox, policy.Read); err != nil {
		t.Fatal(err)
	}
	var pe *policy.Error
	if _, err := c.InboxList(ctx, sendMailbox); !errors.As(err, &pe) {
		t.Errorf("without the read right: %v", err)
	}
	_ = e
}

// Forward to a colleague keeps the attachments and the note; an
// external address is refused with the sentence; a secure reply goes out
// encrypted to the original sender.
func TestInboxForwardAndReply(t *testing.T) {
	e, c, srv := inboxEnv(t)
	ctx := context.Background()
	acc, _ := c.account(ctx, c.User(), sendMailbox)
	deliver(t, srv, acc, kinds(t)[0])
	list, _ := c.InboxList(ctx, sendMailbox)
	m, err := c.InboxOpen(ctx, sendMailbox, list[0].UID)
	if err != nil {
		t.Fatal(err)
	}

	var ie *InboxError
	if _, err := c.Forward(ctx, m, []string{colleague, "jens.hansen@kommune.example"}, "Til orientering"); !errors.As(err, &ie) ||
		!strings.Contains(i18n.Danish.Error(err), "jens.hansen@kommune.example er ikke en intern adresse") {
		t.Fatalf("forward external: %v", err)
	}
	q, err := c.Forward(ctx, m, []string{colleague}, "Til orientering – kan du tage den?")
	if err != nil {
		t.Fatal(i18n.Danish.Error(err))
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	got := e.smtp.Received()
	if len(got) != 1 || strings.Join(got[0].To, ",") != colleague {
		t.Fatalf("%d sent", len(got))
	}
	text, files := opened(t, got[0].Data, nil, false)
	if !strings.HasPrefix(text, "Til orientering – kan du tage den?") || !strings.Contains(text, "Videresendt besked") ||
		!strings.Contains(text, "Her er min ansøgning.") || string(files["ansøgning.pdf"]) != "%PDF-1.7 ansøgning" {
		t.Fatalf("forwarded %q, %d files", text, len(files))
	}
	h := header(t, got[0].Data)
	if subj, _ := h.Subject(); subj != "VS: Ansøgning" {
		t.Errorf("subject %q", subj)
	}
	if ml, _ := c.OutboxList(ctx); ml[0].MessageID != q.MessageID {
		t.Error("forward not in the outbox")
	}

	r, err := c.Reply(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if r.To != "jens.hansen@kommune.example" || r.Mailbox != sendMailbox || r.Draft.Subject != "SV: Ansøgning" ||
		!strings.Contains(r.Draft.Body, "> Her er min ansøgning.") {
		t.Fatalf("reply %+v", r)
	}
	r.Draft.Body = "Tak, vi vender tilbage." + r.Draft.Body
	if _, err := c.Send(ctx, r.Draft, r.Mailbox, []string{r.To}, nil); err != nil {
		t.Fatal(i18n.Danish.Error(err))
	}
	c.outbox.Process(ctx)
	got = e.smtp.Received()
	if len(got) != 2 || got[1].To[0] != "jens.hansen@kommune.example" || bytes.Contains(got[1].Data, []byte("Tak, vi vender")) {
		t.Fatalf("%d sent; the reply carries plaintext or goes astray", len(got))
	}
	if text, _ := opened(t, got[1].Data, identity(t, "recipient-rsa.p12"), true); !strings.HasPrefix(text, "Tak, vi vender tilbage.") {
		t.Errorf("jens reads %q", text)
	}
}

// The same against a real Dovecot: listing, opening, and the handled
// keyword, which another reader's session sees.
func TestInboxWithDovecot(t *testing.T) {
	e := newSendEnv(t)
	e.withDovecot(t)
	c := e.core(t)
	ctx := context.Background()
	if err := c.local.Grant(ctx, testHelpdesk, sendUser, sendMailbox, policy.Read); err != nil {
		t.Fatal(err)
	}
	srv, _ := c.imapServer()
	acc, _ := c.account(ctx, c.User(), sendMailbox)
	mails := kinds(t)
	deliver(t, srv, acc, mails[0], mails[2])
	list, err := c.InboxList(ctx, sendMailbox)
	if err != nil || len(list) != 2 || list[0].Badge != BadgePlain || list[1].Badge != BadgeEncrypted || list[1].Subject != "Ansøgning" {
		t.Fatalf("%+v %v", list, err)
	}
	m, err := c.InboxOpen(ctx, sendMailbox, list[1].UID)
	if err != nil || !m.Report.Secure() || m.Content == nil || len(m.Content.Attachments) != 1 {
		t.Fatalf("%v: %s", err, m.Report.Summary(i18n.Danish))
	}
	if err := c.MarkHandled(ctx, sendMailbox, list[1].UID, true); err != nil {
		t.Fatal(err)
	}
	if again, _ := c.InboxList(ctx, sendMailbox); !again[1].Handled || again[0].Handled {
		t.Errorf("handled %v %v", again[1].Handled, again[0].Handled)
	}
}
