package protolog

import (
	"bytes"
	"strings"
	"testing"
)

// trace feeds a session to a Writer in the given chunks, as a client's
// tee would, and returns what it wrote.
func trace(chunks ...string) string {
	var out bytes.Buffer
	w := New(&out, "> ")
	for _, c := range chunks {
		w.Write([]byte(c))
	}
	return out.String()
}

func TestSMTP(t *testing.T) {
	got := trace("250-AUTH PLAIN LOGIN\r\n250 OK\r\n", "AUTH PLAIN AG1lZGFyYmVqZGVyAGhlbW1lbGln\r\n", "235 2.7.0 OK\r\n",
		"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", "bWVkYXJiZWpkZXI=\r\n", "334 UGFzc3dvcmQ6\r\n", "aGVtbWVsaWc=\r\n", "235 OK\r\n",
		"MAIL FROM:<a@b>\r\n", "250 OK\r\n", "DATA\r\n", "354 go ahead\r\n", "Subject: CPR 010190-1009\r\n\r\nfortroligt ind", "hold\r\n..dot\r\n.\r\n", "250 queued\r\n",
		"QUIT\r\n")
	for _, secret := range []string{"AG1lZGFyYmVqZGVyAGhlbW1lbGln", "bWVkYXJiZWpkZXI=", "aGVtbWVsaWc=", "010190", "fortroligt", "dot"} {
		if strings.Contains(got, secret) {
			t.Errorf("trace holds %q:\n%s", secret, got)
		}
	}
	for _, want := range []string{"> AUTH PLAIN ***\n", "> 235 2.7.0 OK\n", "> AUTH LOGIN ***\n", "> 334 ***\n", "> ***\n", "> MAIL FROM:<a@b>\n",
		"> [message: 4 lines, not written]\n", "> 250 queued\n", "> QUIT\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
}

func TestIMAP(t *testing.T) {
	got := trace("* OK ready\r\n", "T1 LOGIN medarbejder \"hemmelig\"\r\n", "T1 OK\r\n",
		"T2 LOGIN {4}\r\n", "+ go\r\n", "user {8}\r\n", "+ go\r\n", "hemmelig\r\n", "T2 OK\r\n",
		"T3 AUTHENTICATE PLAIN\r\n", "+ \r\n", "AGEAYg==\r\n", "T3 OK done\r\n",
		"T4 APPEND INBOX {25+}\r\n", "Subject: x\r\n\r\nfortroligt", "\r\n", "T4 OK\r\n",
		"T5 FETCH 1 BODY[]\r\n", "* 1 FETCH (BODY[] {21}\r\n", "Subject: y\r\n\r\nsecret", ")\r\n", "T5 OK\r\n",
		"T6 APPEND Sent {12}\r\n", "+ Ready\r\n", "hemmeligt\r\n\r\n", "T6 OK\r\n")
	for _, secret := range []string{"hemmelig", "AGEAYg", "fortroligt", "secret", "Subject"} {
		if strings.Contains(got, secret) {
			t.Errorf("trace holds %q:\n%s", secret, got)
		}
	}
	for _, want := range []string{"> T1 LOGIN medarbejder ***\n", "> T1 OK\n", "> T3 AUTHENTICATE PLAIN ***\n", "> T3 OK done\n", "> T4 OK\n", "> T5 OK\n", "> + Ready\n", "> T6 OK\n",
		"[25 bytes, not written]", "[21 bytes, not written]"} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
}

func FuzzWriter(f *testing.F) {
	f.Add([]byte("AUTH PLAIN x\r\n334 y\r\nDATA\r\n354\r\na\r\n.\r\nT1 APPEND {3}\r\n+ \r\nabc\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		w := New(&out, "")
		for len(b) > 0 {
			n := min(len(b), 7)
			w.Write(b[:n])
			b = b[n:]
		}
	})
}

// A line too long for any protocol is data: none of it is written.
func TestOverlongLine(t *testing.T) {
	long := strings.Repeat("hemmelig", 20<<10)
	got := trace("250 OK\r\n", long[:len(long)/2], long[len(long)/2:]+"\r\n", "QUIT\r\n")
	if strings.Contains(got, "hemmelig") || !strings.Contains(got, "[a long line, not written]") || !strings.Contains(got, "> QUIT") {
		t.Fatalf("%.300s", got)
	}
}
