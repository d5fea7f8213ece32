package smime

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SignEncrypt's one-buffer output reads exactly as SignEntity then
// EncryptEntity's: for us, for every recipient, in GCM and CBC, from
// canonical and from bare-LF input — and openssl decrypts and verifies it.
func TestSignEncryptStream(t *testing.T) {
	id := testIdentity(t, "mailbox-rsa")
	ec := testIdentity(t, "recipient-ec")
	for _, tc := range []struct {
		name   string
		entity []byte
		c      Cipher
	}{
		{"gcm", mimeEntity, AES256GCM},
		{"cbc", mimeEntity, AES256CBC},
		{"bare LF", bytes.ReplaceAll(mimeEntity, []byte("\r\n"), []byte("\n")), AES256GCM},
		{"large", benchEntity(3 << 20), AES256GCM},
		{"one block", []byte("Content-Type: text/plain\r\n\r\n0123456789abcdef"), AES256CBC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := SignEncrypt(&out, BytesSource(tc.entity), id,
				[]Recipient{{Cert: ec.Cert}, {Cert: id.Cert, KeyID: true}}, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			_, body, _ := strings.Cut(out.String(), "\r\n\r\n")
			for _, line := range strings.Split(body, "\r\n") {
				if len(line) > 76 {
					t.Fatalf("a line of %d characters", len(line))
				}
			}
			for _, reader := range []Identity{ec, id} {
				o, err := Open(out.Bytes(), []Identity{reader}, testPolicy(t))
				if err != nil {
					t.Fatal(err)
				}
				if !o.Encrypted() || !o.Signed() || !o.Valid() || !bytes.Equal(o.Entity, canonical(tc.entity)) {
					t.Fatalf("encrypted %v signed %v valid %v, %d bytes", o.Encrypted(), o.Signed(), o.Valid(), len(o.Entity))
				}
				if want := map[Cipher]string{AES256GCM: "AES-256-GCM", AES256CBC: "AES-256-CBC"}[tc.c]; o.Layers[0].Decrypted.Cipher != want {
					t.Errorf("cipher %s", o.Layers[0].Decrypted.Cipher)
				}
			}
			if tc.name == "large" {
				return
			}
			dir := t.TempDir()
			f := filepath.Join(dir, "msg.eml")
			os.WriteFile(f, out.Bytes(), 0o600)
			dec := openssl(t, nil, "cms", "-decrypt", "-in", f, "-recip", certPath("recipient-ec"), "-inkey", keyPath("recipient-ec"))
			g := filepath.Join(dir, "signed.eml")
			os.WriteFile(g, dec, 0o600)
			verified := openssl(t, nil, "cms", "-verify", "-in", g, "-CAfile", certPath("ca"), "-purpose", "smimesign")
			if !bytes.Equal(canonical(verified), canonical(tc.entity)) {
				t.Errorf("openssl verified %q", verified)
			}
		})
	}
}

func TestAppendHeader(t *testing.T) {
	for n, want := range map[int]string{0: "3000", 127: "307f", 128: "308180", 255: "3081ff", 256: "30820100", 1 << 24: "308401000000"} {
		if got := appendHeader(nil, 0x30, n); string(got) != string(mustHex(want)) {
			t.Errorf("%d: % x", n, got)
		}
		if tlvLen(n) != len(mustHex(want))+n {
			t.Errorf("tlvLen(%d) = %d", n, tlvLen(n))
		}
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// canonicalWriter makes bare LFs CRLF however the input is cut, and
// leaves CRLF alone, also when CR and LF arrive in two writes.
func TestCanonicalWriter(t *testing.T) {
	in := []byte("a\nb\r\nc\n\nd\r\n\re\n")
	want := canonical(in)
	for cut := 0; cut <= len(in); cut++ {
		for cut2 := cut; cut2 <= len(in); cut2++ {
			var b bytes.Buffer
			w := &canonicalWriter{w: &b}
			w.Write(in[:cut])
			w.Write(in[cut:cut2])
			w.Write(in[cut2:])
			if !bytes.Equal(b.Bytes(), want) || w.n != int64(len(want)) {
				t.Fatalf("cut at %d,%d: %q (n %d), want %q", cut, cut2, b.Bytes(), w.n, want)
			}
		}
	}
}
