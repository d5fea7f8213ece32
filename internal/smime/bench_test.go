package smime

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"testing"
)

// benchEntity is a MIME entity of about n bytes: a text part and a
// base64 attachment, as a mail with a large file is.
func benchEntity(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSe filen.\r\n--b\r\n")
	b.WriteString("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, n*3/4)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b--\r\n")
	return b.Bytes()
}

// BenchmarkSignEncryptEntity is what the CLI and the send path do with a
// 25 MB mail: clear-sign, then encrypt for a recipient and the mailbox.
func BenchmarkSignEncryptEntity(b *testing.B) {
	cert, key := testCert(b, "mailbox-rsa")
	id := &Identity{Cert: cert, Key: key}
	rcpt, _ := testCert(b, "recipient-rsa")
	entity := benchEntity(25 << 20)
	b.SetBytes(int64(len(entity)))
	b.ResetTimer()
	for range b.N {
		signed, err := SignEntity(entity, *id, SignOptions{Detached: true})
		if err != nil {
			b.Fatal(err)
		}
		out, err := EncryptEntity(signed, []Recipient{{Cert: rcpt}, {Cert: id.Cert}}, AES256GCM)
		if err != nil {
			b.Fatal(err)
		}
		io.Discard.Write(out)
	}
}

// BenchmarkOpen25MB decrypts and verifies what BenchmarkSignEncryptEntity
// makes, as a reader of the mailbox does.
func BenchmarkOpen25MB(b *testing.B) {
	cert, key := testCert(b, "mailbox-rsa")
	id := Identity{Cert: cert, Key: key}
	entity := benchEntity(25 << 20)
	var out bytes.Buffer
	if err := SignEncrypt(&out, BytesSource(entity), id, []Recipient{{Cert: cert}}, AES256GCM); err != nil {
		b.Fatal(err)
	}
	msg := out.Bytes()
	p := testPolicy(b)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		o, err := Open(msg, []Identity{id}, p)
		if err != nil || !o.Valid() {
			b.Fatal(err)
		}
	}
}
