package smime

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Context-specific tags used by CMS.
var (
	tag0  = cbasn1.Tag(0).ContextSpecific()
	tagC0 = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagC1 = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagC2 = cbasn1.Tag(2).ContextSpecific().Constructed()
	tagC3 = cbasn1.Tag(3).ContextSpecific().Constructed()
)

// algorithm is an AlgorithmIdentifier: an OID and the DER of its
// parameters (nil when absent).
type algorithm struct {
	oid    asn1.ObjectIdentifier
	params []byte // full TLV, or nil
}

var derNull = []byte{0x05, 0x00}

func addAlgorithm(b *cryptobyte.Builder, a algorithm) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(a.oid)
		if a.params != nil {
			b.AddBytes(a.params)
		}
	})
}

func readAlgorithm(s *cryptobyte.String, a *algorithm) bool {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.oid) {
		return false
	}
	if !seq.Empty() {
		var p cryptobyte.String
		if !seq.ReadAnyASN1Element(&p, nil) || !seq.Empty() {
			return false
		}
		a.params = p
	}
	return true
}

// recipientID identifies a certificate: by issuer and serial number, or by
// subject key identifier (openssl -keyid).
type recipientID struct {
	issuer []byte // DER of the issuer Name
	serial *big.Int
	skid   []byte
}

func (id recipientID) matches(c *x509.Certificate) bool {
	if id.skid != nil {
		return len(c.SubjectKeyId) > 0 && string(id.skid) == string(c.SubjectKeyId)
	}
	return id.serial != nil && string(id.issuer) == string(c.RawIssuer) && id.serial.Cmp(c.SerialNumber) == 0
}

func (id recipientID) String() string {
	if id.skid != nil {
		return fmt.Sprintf("key id %x", id.skid)
	}
	var name pkix.RDNSequence
	if _, err := asn1.Unmarshal(id.issuer, &name); err == nil {
		var n pkix.Name
		n.FillFromRDNSequence(&name)
		return fmt.Sprintf("serial %x from %s", id.serial, n.String())
	}
	return fmt.Sprintf("serial %x", id.serial)
}

func addIssuerAndSerial(b *cryptobyte.Builder, c *x509.Certificate) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(c.RawIssuer)
		b.AddASN1BigInt(c.SerialNumber)
	})
}

func readIssuerAndSerial(s *cryptobyte.String, id *recipientID) bool {
	var seq, issuer cryptobyte.String
	id.serial = new(big.Int)
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) ||
		!seq.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!seq.ReadASN1Integer(id.serial) || !seq.Empty() {
		return false
	}
	id.issuer = issuer
	return true
}

// readOctets reads an OCTET STRING that may also be an IMPLICIT
// context-specific tag (such as encryptedContent [0]), in its primitive
// form or, as BER allows, constructed from primitive OCTET STRING chunks.
func readOctets(s *cryptobyte.String, out *[]byte, prim, cons cbasn1.Tag) bool {
	switch {
	case s.PeekASN1Tag(prim):
		var v cryptobyte.String
		if !s.ReadASN1(&v, prim) {
			return false
		}
		*out = v
		return true
	case s.PeekASN1Tag(cons):
		var v cryptobyte.String
		if !s.ReadASN1(&v, cons) {
			return false
		}
		var all []byte
		for !v.Empty() {
			var chunk []byte
			if !readOctets(&v, &chunk, cbasn1.OCTET_STRING, cbasn1.OCTET_STRING.Constructed()) {
				return false
			}
			all = append(all, chunk...)
		}
		if all == nil {
			all = []byte{}
		}
		*out = all
		return true
	}
	return false
}

// contentInfo wraps content of the given type in a ContentInfo (RFC 5652
// section 3).
func contentInfo(typ asn1.ObjectIdentifier, content func(*cryptobyte.Builder)) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(typ)
		b.AddASN1(tagC0, content)
	})
	return b.Bytes()
}

// readContentInfo parses a ContentInfo (BER allowed) and returns its type
// and the DER of its content.
func readContentInfo(in []byte) (asn1.ObjectIdentifier, cryptobyte.String, error) {
	der, err := berToDER(in)
	if err != nil {
		return nil, nil, &Error{Reason: Malformed, Err: err}
	}
	s := cryptobyte.String(der)
	var seq, content cryptobyte.String
	var typ asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&typ) ||
		!seq.ReadASN1(&content, tagC0) || !seq.Empty() {
		return nil, nil, malformed("not a CMS ContentInfo")
	}
	return typ, content, nil
}
