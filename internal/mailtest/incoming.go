package mailtest

import (
	"bytes"
	"crypto/x509"

	"sikkermail/internal/message"
	"sikkermail/internal/smime"
)

// Incoming builds a mail as it arrives from outside: signed (clear)
// by signer unless nil, encrypted for to unless nil, with the transport
// header and the Received lines the institution's mail server adds.
func Incoming(h message.Header, d message.Draft, signer *smime.Identity, to *x509.Certificate, received ...string) ([]byte, error) {
	entity, err := message.Entity(d)
	if err != nil {
		return nil, err
	}
	if signer != nil {
		if entity, err = smime.SignEntity(entity, *signer, smime.SignOptions{Detached: true}); err != nil {
			return nil, err
		}
	}
	if to != nil {
		if entity, err = smime.EncryptEntity(entity, []smime.Recipient{{Cert: to}}, smime.AES256GCM); err != nil {
			return nil, err
		}
	}
	msg, err := message.Compose(h, entity)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, r := range received {
		b.WriteString("Received: " + r + "\r\n")
	}
	b.Write(msg)
	return b.Bytes(), nil
}
