package scan

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest/daemon"
)

// mailWith is a mail with data as a base64 attachment, as a decrypted
// inbound mail is.
func mailWith(name string, data []byte) []byte {
	return []byte("From: jens.hansen@kommune.example\r\nTo: sikkerpost@hoejskole.example\r\nSubject: Bilag\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe bilag.\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=" + name + "\r\n\r\n" +
		base64.StdEncoding.EncodeToString(data) + "\r\n--b--\r\n")
}

// Against a real clamd: the EICAR file is found, alone and as an
// attachment of a mail; a clean mail is clean; a stream over clamd's
// limit and a clamd that is down are errors, never a pass.
func TestClamd(t *testing.T) {
	d := daemon.StartClamd(t, "1M")
	c := &Clamd{Network: "unix", Address: d.Socket}
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		clean bool
	}{
		{"the EICAR file", []byte(daemon.EICAR), false},
		{"EICAR attached to a mail", mailWith("faktura.com", []byte(daemon.EICAR)), false},
		{"a clean mail", mailWith("notat.txt", []byte("Et helt almindeligt notat.")), true},
		{"a clean mail of many chunks", mailWith("stor.bin", bytes.Repeat([]byte("sikkermail "), 60_000)), true},
	} {
		v, err := c.Scan(ctx, bytes.NewReader(tc.data))
		if err != nil || v.Clean != tc.clean || (!tc.clean && v.Found != daemon.EICARName) {
			t.Errorf("%s: %+v %v", tc.name, v, err)
		}
	}

	var se *Error
	_, err := c.Scan(ctx, bytes.NewReader(bytes.Repeat([]byte("x"), 3<<20)))
	if !errors.As(err, &se) || se.Reason != TooLarge || se.IsTemporary() {
		t.Errorf("over the limit: %v", err)
	}
	d.Stop()
	v, err := c.Scan(ctx, strings.NewReader(daemon.EICAR))
	if !errors.As(err, &se) || se.Reason != Unavailable || !se.IsTemporary() || v.Clean {
		t.Errorf("clamd down: %+v %v", v, err)
	}
	if err := c.Ping(ctx); !errors.As(err, &se) || se.Reason != Unavailable {
		t.Errorf("ping, clamd down: %v", err)
	}
}

func TestSentences(t *testing.T) {
	for _, r := range Reasons {
		e := &Error{Reason: r, Scanner: "/run/clamav/clamd.ctl"}
		for _, l := range i18n.Langs {
			if s := l.Error(e); !strings.Contains(s, "/run/clamav/clamd.ctl") || !l.Has(e.Localize().Key) {
				t.Errorf("%s %s: %q", l, r, s)
			}
		}
	}
}
