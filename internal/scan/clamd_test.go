package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
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

// spamMail is a mail with text as its body.
func spamMail(text string) []byte {
	return []byte("From: jens.hansen@kommune.example\r\nTo: sikkerpost@hoejskole.example\r\nSubject: Ansøgning\r\n" +
		"Date: Thu, 3 Dec 2026 10:00:00 +0100\r\nMessage-ID: <ansoegning.1@kommune.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
}

// Against a real spamd: the GTUBE mail is spam, with the rule that
// found it; a plain letter is not; a long one is checked on its
// beginning; a spamd that is down is an error, never a pass.
func TestSpamd(t *testing.T) {
	d := daemon.StartSpamd(t)
	s := &Spamd{Network: "unix", Address: d.Socket}
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := s.Check(ctx, spamMail("Køb nu!\r\n"+daemon.GTUBE))
	if err != nil || !v.Spam || v.Score < v.Threshold || !slices.Contains(v.Rules, "GTUBE") {
		t.Errorf("GTUBE: %+v %v", v, err)
	}
	letter := spamMail("Kære Uddannelsesservice\r\n\r\nHermed min ansøgning om orlov fra 1. februar.\r\n\r\nVenlig hilsen\r\nJens Hansen")
	if v, err := s.Check(ctx, letter); err != nil || v.Spam || v.Threshold == 0 {
		t.Errorf("a letter: %+v %v", v, err)
	}
	// The spam comes after what is checked: not found, and no error.
	long := spamMail(strings.Repeat("Et langt bilag i tekst.\r\n", 1000) + daemon.GTUBE)
	if v, err := (&Spamd{Network: "unix", Address: d.Socket, MaxSize: 4096}).Check(ctx, long); err != nil || v.Spam {
		t.Errorf("cut: %+v %v", v, err)
	}
	if v, err := s.Check(ctx, long); err != nil || !v.Spam {
		t.Errorf("whole: %+v %v", v, err)
	}
	d.Stop()
	var se *Error
	if v, err := s.Check(ctx, letter); !errors.As(err, &se) || se.Reason != SpamUnavailable || !se.IsTemporary() || v.Spam {
		t.Errorf("spamd down: %+v %v", v, err)
	}
}

// What spamd answers is read strictly: an answer it could not have
// meant as a verdict is an error, never a pass.
func TestReadSpamd(t *testing.T) {
	for _, tc := range []struct {
		answer string
		spam   bool
		ok     bool
	}{
		{"SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE", true, true},
		{"SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n", false, true},
		{"SPAMD/1.0 76 Bad header line: (EOF)\r\n", false, false},
		{"SPAMD/1.1 0 EX_OK\r\n\r\n", false, false},
		{"SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n", false, false},
		{"SPAMD/1.1 0 EX_OK\r\nSpam: True ; x / 5\r\n\r\n", false, false},
		{"", false, false},
	} {
		v, err := readSpamd(bufio.NewReader(strings.NewReader(tc.answer)))
		if (err == nil) != tc.ok || v.Spam != tc.spam {
			t.Errorf("%q: %+v %v", tc.answer, v, err)
		}
	}
}
