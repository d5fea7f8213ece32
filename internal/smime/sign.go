package smime

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Identity is someone who signs and decrypts: a secure mailbox or a user.
type Identity struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain holds the certificates between Cert and a trust anchor; they
	// are included in every signature so that recipients can build the
	// chain.
	Chain []*x509.Certificate
}

// SignOptions adjusts Sign.
type SignOptions struct {
	// Detached leaves the content out of the SignedData, for
	// multipart/signed.
	Detached bool
	// Time is the signing time; zero means now.
	Time time.Time
}

// capabilities are the content encryptions we read, most preferred first,
// announced in every signature (SMIMECapabilities, RFC 8551 2.5.2), so
// that correspondents can choose what to encrypt to us with.
var capabilities = []asn1.ObjectIdentifier{oidAES256GCM, oidAES128GCM, oidAES256CBC, oidAES192CBC, oidAES128CBC}

// Sign returns the DER of a SignedData ContentInfo over content, signed
// with SHA-256 by id (RSA PKCS #1 v1.5 or ECDSA), with the signed
// attributes contentType, signingTime, messageDigest, SMIMECapabilities
// and SMIMEEncryptionKeyPreference, and with id's certificate and chain.
func Sign(content []byte, id Identity, opts SignOptions) ([]byte, error) {
	digest := sha256.Sum256(content)
	var inside []byte
	if !opts.Detached {
		inside = content
	}
	return signDigest(digest[:], inside, id, opts)
}

// signDigest signs content whose SHA-256 digest is given; content is
// included in the SignedData unless opts.Detached (then pass nil).
func signDigest(contentDigest, content []byte, id Identity, opts SignOptions) ([]byte, error) {
	if id.Cert == nil || id.Key == nil {
		return nil, &Error{Reason: UnsupportedKey, Detail: "no signing identity"}
	}
	var sigAlg algorithm
	switch id.Key.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = algorithm{oidRSAEncryption, derNull}
	case *ecdsa.PublicKey:
		sigAlg = algorithm{oid: oidECDSAWithSHA256}
	default:
		return nil, &Error{Reason: UnsupportedKey, Subject: certName(id.Cert), Detail: keyName(id.Key.Public())}
	}
	t := opts.Time
	if t.IsZero() {
		t = time.Now()
	}
	attrs, err := signedAttributes(contentDigest, t.UTC(), id.Cert)
	if err != nil {
		return nil, err
	}
	h := crypto.SHA256.New()
	h.Write(attrs)
	sig, err := id.Key.Sign(rand.Reader, h.Sum(nil), crypto.SHA256)
	if err != nil {
		return nil, &Error{Reason: UnsupportedKey, Subject: certName(id.Cert), Err: err}
	}
	sha256Alg := algorithm{oid: oidSHA256}
	return contentInfo(oidSignedData, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlgorithm(b, sha256Alg) })
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidData)
				if !opts.Detached {
					b.AddASN1(tagC0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(content) })
				}
			})
			b.AddASN1(tagC0, func(b *cryptobyte.Builder) {
				b.AddBytes(id.Cert.Raw)
				for _, c := range id.Chain {
					b.AddBytes(c.Raw)
				}
			})
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(1)
					addIssuerAndSerial(b, id.Cert)
					addAlgorithm(b, sha256Alg)
					b.AddBytes(append([]byte{0xa0}, attrs[1:]...)) // [0] IMPLICIT SET OF
					addAlgorithm(b, sigAlg)
					b.AddASN1OctetString(sig)
				})
			})
		})
	})
}

// signedAttributes returns the DER of the SET OF signed attributes.
func signedAttributes(digest []byte, t time.Time, cert *x509.Certificate) ([]byte, error) {
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	attrs := [][]byte{
		attr(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }),
		attr(oidAttrSigningTime, func(b *cryptobyte.Builder) {
			if t.Year() >= 1950 && t.Year() < 2050 {
				b.AddASN1UTCTime(t)
			} else {
				b.AddASN1GeneralizedTime(t)
			}
		}),
		attr(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
		attr(oidAttrSMIMECaps, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, c := range capabilities {
					addAlgorithm(b, algorithm{oid: c})
				}
			})
		}),
		attr(oidAttrEncKeyPref, func(b *cryptobyte.Builder) {
			b.AddASN1(tagC0, func(b *cryptobyte.Builder) {
				b.AddBytes(cert.RawIssuer)
				b.AddASN1BigInt(cert.SerialNumber)
			})
		}),
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range sortedSet(attrs) {
			b.AddBytes(a)
		}
	})
	return b.Bytes()
}

// Signer is one verified signature.
type Signer struct {
	// Cert is the signer's certificate, nil if the message lacks it.
	Cert *x509.Certificate
	// Chains are the verified chains to a trust anchor, when the
	// certificate is trusted.
	Chains [][]*x509.Certificate
	// SigningTime is the signer's claimed signing time, if given.
	SigningTime time.Time
	// Digest and Signature name the algorithms, e.g. "SHA-256" and
	// "RSA-PKCS1v15" or "ECDSA".
	Digest, Signature string
	// Capabilities are the content encryptions the signer announced it
	// reads (SMIMECapabilities), e.g. "AES-256-GCM", most preferred first.
	Capabilities []string
	// Err is nil when the signature is valid and the certificate
	// acceptable under the Trust; otherwise an *Error saying why not.
	Err error
	// ExpiredSince is set when the certificate was valid at the signing
	// time but has expired since (Trust.At JudgeBoth): why it would not
	// be valid now. The signature is valid (Err is nil).
	ExpiredSince error
	// Revocation is set when whether a certificate of the chain is
	// revoked could not be found out (a RevocationUnknown *Error); the
	// signature counts, and the reader must be told.
	Revocation error
	// NotRevoked: a revocation list or OCSP answer said the chain's
	// certificates are not revoked (false when none was had, or asked).
	NotRevoked bool
}

// Verified is the result of Verify.
type Verified struct {
	// Content is the signed content (the detached content, when given).
	Content []byte
	// Detached is true when the content was not inside the SignedData.
	Detached bool
	Signers  []Signer
}

// Verify checks a SignedData ContentInfo (DER or BER). content is the
// signed content for a detached signature (multipart/signed) and nil for
// an opaque one. Each signer's signature is checked, and its certificate
// under p. Verify returns the report whenever the structure could be
// read; the error is non-nil when any signer is not valid (the first such
// signer's Err), or when there is no signer at all.
func Verify(in, content []byte, p *Trust) (*Verified, error) {
	sd, err := readSignedData(in)
	if err != nil {
		return nil, err
	}
	if !sd.eType.Equal(oidData) {
		return nil, &Error{Reason: Unsupported, Detail: algName(sd.eType)}
	}
	v := &Verified{Content: content, Detached: true}
	switch {
	case content != nil && sd.content != nil:
		// The signature is over its own content, not over the content
		// given beside it: which of the two is "the message" cannot be
		// said, so neither is shown as signed (see Open).
		return nil, &Error{Reason: EmbeddedContent, Subject: sd.signerName()}
	case sd.content != nil:
		v.Content, v.Detached = sd.content, false
	case content == nil:
		return nil, malformed("detached signature without its content")
	}
	verdict, bad := verifySigners(v, sd, digestOf(v.Content), p)
	if bad != nil {
		return nil, bad
	}
	return v, verdict
}

// digestOf hashes content with whichever function a signer names.
func digestOf(content []byte) func(crypto.Hash) []byte {
	return func(h crypto.Hash) []byte {
		d := h.New()
		d.Write(content)
		return d.Sum(nil)
	}
}

// verifySigners checks every signer of sd over the content whose digest
// digest gives, and judges the certificates: the verdict is the first
// signer's failure (each signer's is in v.Signers); bad is a signer info
// that is malformed, which fails the whole signature.
func verifySigners(v *Verified, sd *signedData, digest func(crypto.Hash) []byte, p *Trust) (verdict, bad error) {
	var firstErr error
	for _, si := range sd.signerInfos {
		s, err := verifySigner(si, sd.eType, digest, sd)
		if err != nil && s.Err == nil {
			return nil, err
		}
		if s.Err == nil && s.Cert != nil {
			s.Chains, s.Err = p.judge(&s, sd.certs, sd.crls)
		}
		if s.Err != nil && firstErr == nil {
			firstErr = s.Err
		}
		v.Signers = append(v.Signers, s)
	}
	if len(v.Signers) == 0 {
		return &Error{Reason: NoSignature}, nil
	}
	return firstErr, nil
}

// signedData is a parsed SignedData: its encapsulated content (nil when
// detached), certificates and signer infos (each still to be parsed).
type signedData struct {
	eType       asn1.ObjectIdentifier
	content     []byte
	certs       []*x509.Certificate
	unreadable  []error // certificates that could not be parsed
	crls        []*x509.RevocationList
	signerInfos []cryptobyte.String
}

func readSignedData(in []byte) (*signedData, error) {
	typ, body, err := readContentInfo(in)
	if err != nil {
		return nil, err
	}
	if !typ.Equal(oidSignedData) {
		return nil, &Error{Reason: Unsupported, Detail: algName(typ)}
	}
	var seq, digestAlgs, eci, infos cryptobyte.String
	var version int
	sd := &signedData{}
	if !body.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&version) ||
		!seq.ReadASN1(&digestAlgs, cbasn1.SET) || !seq.ReadASN1(&eci, cbasn1.SEQUENCE) ||
		!eci.ReadASN1ObjectIdentifier(&sd.eType) {
		return nil, malformed("bad signed data")
	}
	if eci.PeekASN1Tag(tagC0) {
		var ec cryptobyte.String
		if !eci.ReadASN1(&ec, tagC0) || !readOctets(&ec, &sd.content, cbasn1.OCTET_STRING, cbasn1.OCTET_STRING.Constructed()) {
			return nil, malformed("bad encapsulated content")
		}
	}
	if !readChoices(&seq, tagC0, func(raw []byte) {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			// One certificate Go cannot read (an old CA's, a
			// correspondent's extra) does not make the message
			// unreadable; it matters only if it is the signer's.
			sd.unreadable = append(sd.unreadable, err)
			return
		}
		sd.certs = append(sd.certs, c)
	}) {
		return nil, malformed("bad certificates")
	}
	// RevocationInfoChoices: the CRLs a signer sent along count like any
	// other (each must still be signed by its issuer).
	if !readChoices(&seq, tagC1, func(raw []byte) {
		if crl, err := x509.ParseRevocationList(raw); err == nil {
			sd.crls = append(sd.crls, crl)
		}
	}) {
		return nil, malformed("bad revocation information")
	}
	if !seq.ReadASN1(&infos, cbasn1.SET) {
		return nil, malformed("no signer infos")
	}
	for !infos.Empty() {
		var si cryptobyte.String
		if !infos.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, malformed("bad signer info")
		}
		sd.signerInfos = append(sd.signerInfos, si)
	}
	return sd, nil
}

// readChoices reads the optional [tag] IMPLICIT SET that s holds next,
// if it does (CertificateSet, RevocationInfoChoices), and calls f with
// each of its SEQUENCE elements; the other forms a choice may take
// (attribute certificates, "other" formats) are passed over. It reports
// false if the set is malformed.
func readChoices(s *cryptobyte.String, tag cbasn1.Tag, f func(raw []byte)) bool {
	if !s.PeekASN1Tag(tag) {
		return true
	}
	var set cryptobyte.String
	if !s.ReadASN1(&set, tag) {
		return false
	}
	for !set.Empty() {
		var raw cryptobyte.String
		var t cbasn1.Tag
		if !set.ReadAnyASN1Element(&raw, &t) {
			return false
		}
		if t == cbasn1.SEQUENCE {
			f(raw)
		}
	}
	return true
}

// signerName names the first signer, as well as the message allows
// without verifying anything: its certificate's name, its identifier, or
// "" when it has none.
func (sd *signedData) signerName() string {
	if len(sd.signerInfos) == 0 {
		return ""
	}
	si := sd.signerInfos[0]
	var version int
	var id recipientID
	if !si.ReadASN1Integer(&version) || !readIssuerAndSerial(&si, &id) {
		return ""
	}
	for _, c := range sd.certs {
		if id.matches(c) {
			return certName(c)
		}
	}
	return id.String()
}

// verifySigner checks one SignerInfo. A malformed one is an error; a bad
// signature is reported in Signer.Err.
func verifySigner(si cryptobyte.String, eType asn1.ObjectIdentifier, digest func(crypto.Hash) []byte, sd *signedData) (Signer, error) {
	var s Signer
	var version int
	var id recipientID
	var digestAlg, sigAlg algorithm
	var sig []byte
	if !si.ReadASN1Integer(&version) {
		return s, malformed("bad signer info")
	}
	if si.PeekASN1Tag(tag0) {
		var skid cryptobyte.String
		if !si.ReadASN1(&skid, tag0) {
			return s, malformed("bad signer identifier")
		}
		id.skid = skid
	} else if !readIssuerAndSerial(&si, &id) {
		return s, malformed("bad signer identifier")
	}
	if !readAlgorithm(&si, &digestAlg) {
		return s, malformed("bad digest algorithm")
	}
	var attrsDER []byte
	var attrs cryptobyte.String
	if si.PeekASN1Tag(tagC0) {
		var elem cryptobyte.String
		if !si.ReadASN1Element(&elem, tagC0) {
			return s, malformed("bad signed attributes")
		}
		attrsDER = append([]byte{0x31}, elem[1:]...)
		e := cryptobyte.String(attrsDER)
		if !e.ReadASN1(&attrs, cbasn1.SET) {
			return s, malformed("bad signed attributes")
		}
	}
	if !readAlgorithm(&si, &sigAlg) || !si.ReadASN1Bytes(&sig, cbasn1.OCTET_STRING) {
		return s, malformed("bad signer info")
	}
	for _, c := range sd.certs {
		if id.matches(c) {
			s.Cert = c
			break
		}
	}
	if s.Cert == nil {
		e := &Error{Reason: SignerCertMissing, Subject: id.String()}
		if len(sd.unreadable) > 0 {
			e.Detail, e.Err = "a certificate in the message could not be read", sd.unreadable[0]
		}
		s.Err = e
		return s, nil
	}
	name := certName(s.Cert)
	h, err := digestHash(digestAlg.oid)
	switch {
	case err != nil:
		s.Err = &Error{Reason: Unsupported, Subject: name, Detail: algName(digestAlg.oid)}
		return s, nil
	case h == crypto.SHA1:
		s.Err = &Error{Reason: WeakAlgorithm, Subject: name, Detail: "SHA-1"}
		return s, nil
	}
	s.Digest = "SHA-" + hashName(h)[3:]
	contentDigest := digest(h)
	signed := contentDigest
	if attrsDER != nil {
		a, err := readSignedAttributes(attrs)
		if err != nil {
			return s, err
		}
		s.SigningTime, s.Capabilities = a.signingTime, a.capabilities
		if !a.contentType.Equal(eType) {
			s.Err = &Error{Reason: BadSignature, Subject: name}
			return s, nil
		}
		if subtle.ConstantTimeCompare(a.messageDigest, contentDigest) != 1 {
			s.Err = &Error{Reason: ContentChanged, Subject: name}
			return s, nil
		}
		d := h.New()
		d.Write(attrsDER)
		signed = d.Sum(nil)
	}
	switch pub := s.Cert.PublicKey.(type) {
	case *rsa.PublicKey:
		switch {
		case sigAlg.oid.Equal(oidRSAPSS):
			s.Signature = "RSASSA-PSS"
			opts, perr := pssOptions(sigAlg.params, h)
			if perr != nil {
				s.Err = &Error{Reason: Unsupported, Subject: name, Detail: perr.Error()}
				return s, nil
			}
			err = rsa.VerifyPSS(pub, h, signed, sig, opts)
		case sigAlg.oid.Equal(oidRSAEncryption), sigAlg.oid.Equal(oidSHA256WithRSA),
			sigAlg.oid.Equal(oidSHA384WithRSA), sigAlg.oid.Equal(oidSHA512WithRSA):
			s.Signature = "RSA-PKCS1v15"
			err = rsa.VerifyPKCS1v15(pub, h, signed, sig)
		default:
			s.Err = &Error{Reason: Unsupported, Subject: name, Detail: algName(sigAlg.oid)}
			return s, nil
		}
	case *ecdsa.PublicKey:
		s.Signature = "ECDSA"
		if !ecdsa.VerifyASN1(pub, signed, sig) {
			err = fmt.Errorf("ecdsa: verification failed")
		}
	default:
		s.Err = &Error{Reason: UnsupportedKey, Subject: name, Detail: keyName(s.Cert.PublicKey)}
		return s, nil
	}
	if err != nil {
		s.Err = &Error{Reason: BadSignature, Subject: name, Err: err}
	}
	return s, nil
}

// signedAttrs are the signed attributes Verify reads.
type signedAttrs struct {
	contentType   asn1.ObjectIdentifier
	messageDigest []byte
	signingTime   time.Time
	capabilities  []string
}

// readSignedAttributes reads a SET OF Attribute as RFC 5652 section
// 5.3 and 11 have it, and refuses what openssl refuses: an attribute
// type twice, contentType, messageDigest or signingTime with other than
// one value or a value of the wrong form, and no contentType or
// messageDigest at all.
func readSignedAttributes(attrs cryptobyte.String) (*signedAttrs, error) {
	a := &signedAttrs{}
	seen := map[string]bool{}
	for !attrs.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return nil, malformed("bad signed attribute")
		}
		if seen[oid.String()] {
			return nil, malformed("signed attribute %s twice", oid)
		}
		seen[oid.String()] = true
		single := func() bool { return !values.Empty() }
		switch {
		case oid.Equal(oidAttrMessageDigest):
			if !single() || !values.ReadASN1Bytes(&a.messageDigest, cbasn1.OCTET_STRING) || !values.Empty() {
				return nil, malformed("bad message digest attribute")
			}
		case oid.Equal(oidAttrContentType):
			if !single() || !values.ReadASN1ObjectIdentifier(&a.contentType) || !values.Empty() {
				return nil, malformed("bad content type attribute")
			}
		case oid.Equal(oidAttrSigningTime):
			ok := false
			switch {
			case values.PeekASN1Tag(cbasn1.UTCTime):
				ok = values.ReadASN1UTCTime(&a.signingTime)
			case values.PeekASN1Tag(cbasn1.GeneralizedTime):
				ok = values.ReadASN1GeneralizedTime(&a.signingTime)
			}
			if !ok || !values.Empty() {
				return nil, malformed("bad signing time attribute")
			}
		case oid.Equal(oidAttrSMIMECaps):
			a.capabilities = readCapabilities(values)
		}
	}
	if a.messageDigest == nil || a.contentType == nil {
		return nil, malformed("signed attributes without message digest or content type")
	}
	return a, nil
}

// pssOptions reads RSASSA-PSS-params (RFC 4055 section 3.1, RFC 4056):
// the hash must be the signer's digest and MGF1 must use it too, as Go's
// rsa.VerifyPSS does; the defaults (SHA-1) are refused as weak.
func pssOptions(params []byte, digest crypto.Hash) (*rsa.PSSOptions, error) {
	p := cryptobyte.String(params)
	var seq cryptobyte.String
	if !p.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("RSASSA-PSS without parameters")
	}
	h, mgfHash := crypto.SHA1, crypto.SHA1
	salt := int64(20)
	if seq.PeekASN1Tag(tagC0) {
		var e cryptobyte.String
		var a algorithm
		if !seq.ReadASN1(&e, tagC0) || !readAlgorithm(&e, &a) {
			return nil, fmt.Errorf("RSASSA-PSS hash")
		}
		var err error
		if h, err = digestHash(a.oid); err != nil {
			return nil, fmt.Errorf("RSASSA-PSS with %s", algName(a.oid))
		}
	}
	if seq.PeekASN1Tag(tagC1) {
		var e cryptobyte.String
		var mgf, mh algorithm
		if !seq.ReadASN1(&e, tagC1) || !readAlgorithm(&e, &mgf) || !mgf.oid.Equal(oidMGF1) {
			return nil, fmt.Errorf("RSASSA-PSS mask generation")
		}
		mp := cryptobyte.String(mgf.params)
		var err error
		if !readAlgorithm(&mp, &mh) {
			return nil, fmt.Errorf("RSASSA-PSS MGF1 hash")
		}
		if mgfHash, err = digestHash(mh.oid); err != nil {
			return nil, fmt.Errorf("RSASSA-PSS MGF1 with %s", algName(mh.oid))
		}
	}
	if seq.PeekASN1Tag(tagC2) {
		var e cryptobyte.String
		if !seq.ReadASN1(&e, tagC2) || !e.ReadASN1Int64WithTag(&salt, cbasn1.INTEGER) || salt < 0 {
			return nil, fmt.Errorf("RSASSA-PSS salt length")
		}
	}
	if seq.PeekASN1Tag(tagC3) {
		var e cryptobyte.String
		var trailer int64
		if !seq.ReadASN1(&e, tagC3) || !e.ReadASN1Int64WithTag(&trailer, cbasn1.INTEGER) || trailer != 1 {
			return nil, fmt.Errorf("RSASSA-PSS trailer field")
		}
	}
	switch {
	case h == crypto.SHA1 || mgfHash == crypto.SHA1:
		return nil, fmt.Errorf("RSASSA-PSS with SHA-1")
	case h != digest || mgfHash != digest:
		return nil, fmt.Errorf("RSASSA-PSS with %s beside a %s digest", hashName(h), hashName(digest))
	}
	return &rsa.PSSOptions{SaltLength: int(salt), Hash: h}, nil
}

// readCapabilities names the content encryptions in an SMIMECapabilities
// value that we know, in the signer's order.
func readCapabilities(values cryptobyte.String) []string {
	var seq cryptobyte.String
	if !values.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil
	}
	var out []string
	for !seq.Empty() {
		var a algorithm
		if !readAlgorithm(&seq, &a) {
			return out
		}
		if n, ok := aesKeyLen(a.oid); ok {
			mode := "CBC"
			if isGCM(a.oid) {
				mode = "GCM"
			}
			out = append(out, fmt.Sprintf("AES-%d-%s", n*8, mode))
		}
	}
	return out
}
