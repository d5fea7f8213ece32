package smime

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// The MIME layer of S/MIME 4.0 (RFC 8551 section 3): entities in, entities
// out. An entity is a MIME header block, a blank line and a body, with
// CRLF line ends (the canonical form signatures are computed over).

// SignEntity signs a MIME entity. Detached gives multipart/signed
// (clear-signed: readable without S/MIME), otherwise the result is an
// opaque application/pkcs7-mime; smime-type=signed-data entity.
func SignEntity(entity []byte, id Identity, opts SignOptions) ([]byte, error) {
	if opts.Detached {
		var b bytes.Buffer
		b.Grow(len(entity) + 8<<10)
		err := ClearSign(&b, bytes.NewReader(entity), id, opts)
		return b.Bytes(), err
	}
	der, err := Sign(canonical(entity), id, opts)
	if err != nil {
		return nil, err
	}
	return pkcs7Entity("signed-data", der), nil
}

// ClearSign writes the entity clear-signed (multipart/signed, as
// SignEntity with Detached) to w. It reads the entity once, as it
// writes it: memory does not grow with the entity. Bare LF line ends
// are made CRLF.
func ClearSign(w io.Writer, entity io.Reader, id Identity, opts SignOptions) error {
	boundary := newBoundary()
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(signedHead(boundary))
	h := sha256.New()
	if _, err := io.Copy(&canonicalWriter{w: io.MultiWriter(bw, h)}, entity); err != nil {
		return err
	}
	opts.Detached = true
	der, err := signDigest(h.Sum(nil), nil, id, opts)
	if err != nil {
		return err
	}
	var tail bytes.Buffer
	writeSignaturePart(&tail, boundary, der)
	bw.Write(tail.Bytes())
	return bw.Flush()
}

// signedHead is a multipart/signed entity up to its first part.
func signedHead(boundary string) string {
	return fmt.Sprintf("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n\tboundary=\"%s\"\r\n\r\n"+
		"This is an S/MIME signed message.\r\n\r\n--%s\r\n", boundary, boundary)
}

// writeSignaturePart ends a multipart/signed entity: the signature part
// and the closing delimiter.
func writeSignaturePart(b *bytes.Buffer, boundary string, der []byte) {
	fmt.Fprintf(b, "\r\n--%s\r\n", boundary)
	b.WriteString("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n")
	b.WriteString("Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n")
	writeBase64(b, der)
	fmt.Fprintf(b, "--%s--\r\n", boundary)
}

// EncryptEntity encrypts a MIME entity (normally a signed one) and returns
// an application/pkcs7-mime entity with smime-type authEnveloped-data
// (AES256GCM) or enveloped-data (AES256CBC).
func EncryptEntity(entity []byte, recipients []Recipient, c Cipher) ([]byte, error) {
	der, err := Encrypt(canonical(entity), recipients, c)
	if err != nil {
		return nil, err
	}
	typ := "authEnveloped-data"
	if c == AES256CBC {
		typ = "enveloped-data"
	}
	return pkcs7Entity(typ, der), nil
}

func pkcs7Entity(smimeType string, der []byte) []byte {
	var b bytes.Buffer
	b.WriteString(pkcs7Head(smimeType))
	writeBase64(&b, der)
	return b.Bytes()
}

// pkcs7Head is the header of an application/pkcs7-mime entity.
func pkcs7Head(smimeType string) string {
	return fmt.Sprintf("Content-Type: application/pkcs7-mime; smime-type=%s; name=\"smime.p7m\"\r\n", smimeType) +
		"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n"
}

// writeBase64 writes data in base64 lines of 76 characters (RFC 2045).
func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}

func newBoundary() string {
	var r [12]byte
	rand.Read(r[:])
	return "----=_sikkermail_" + hex.EncodeToString(r[:])
}

// bareLFs counts the LF line ends without a CR before them.
func bareLFs(b []byte) int {
	if !bytes.Contains(b, []byte("\n")) {
		return 0
	}
	return bytes.Count(b, []byte("\n")) - bytes.Count(b, []byte("\r\n"))
}

// canonical converts bare LF line ends to CRLF.
func canonical(b []byte) []byte {
	n := bareLFs(b)
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// LayerKind says what one S/MIME layer was.
type LayerKind string

// The kinds of layer Open unwraps.
const (
	LayerEncrypted LayerKind = "encrypted"
	LayerSigned    LayerKind = "signed"
)

// Layer is one S/MIME layer of a received entity, outermost first.
type Layer struct {
	Kind LayerKind
	// Decrypted is set for an encrypted layer.
	Decrypted *Decrypted
	// Verified is set for a signed layer; its Signers say who signed and
	// whether each signature and certificate is valid.
	Verified *Verified
	// Err is why this layer failed, if it did.
	Err error
}

// Opened is the result of Open.
type Opened struct {
	// Entity is the innermost MIME entity: the message the sender wrote.
	// Content that was no MIME entity (what openssl writes without -text)
	// is given a text/plain (or application/octet-stream) header, and
	// Bare says so.
	Entity []byte
	Bare   bool
	// Layers lists every S/MIME layer, outermost first; a layer that
	// could not be opened is the last one, with its Err.
	Layers []Layer
	// From and Sender are the addresses in the outermost header, if any.
	From, Sender []string
	// Protected is the header the sender put inside the S/MIME layers
	// (RFC 8551 section 3.1 message/rfc822 wrapping, or the header
	// protection of RFC 9788): From, To, Cc, Reply-To, Subject, Date and
	// Message-ID as the sender wrote them, under the signature. Nil when
	// the message has none.
	Protected textproto.MIMEHeader
}

// SignedByFrom reports whether the message's one From address is the
// address of a valid signer's certificate (RFC 8550 section 3). A Sender
// that matches while From names somebody else proves nothing about the
// From address, and two From addresses cannot both have signed.
func (o *Opened) SignedByFrom() bool {
	if len(o.From) != 1 {
		return false
	}
	for _, s := range o.Signers() {
		if s.Err == nil && SignerMatches(s, o.From[0]) {
			return true
		}
	}
	return false
}

// Encrypted reports whether any layer was encrypted and opened.
func (o *Opened) Encrypted() bool { return o.has(LayerEncrypted) }

// Signed reports whether any layer was signed (valid or not).
func (o *Opened) Signed() bool { return o.has(LayerSigned) }

func (o *Opened) has(k LayerKind) bool {
	for _, l := range o.Layers {
		if l.Kind == k && (l.Decrypted != nil || l.Verified != nil) {
			return true
		}
	}
	return false
}

// Signers returns every signer of every signed layer.
func (o *Opened) Signers() []Signer {
	var out []Signer
	for _, l := range o.Layers {
		if l.Verified != nil {
			out = append(out, l.Verified.Signers...)
		}
	}
	return out
}

// Valid reports whether every layer opened and every signature and
// certificate is valid.
func (o *Opened) Valid() bool {
	for _, l := range o.Layers {
		if l.Err != nil {
			return false
		}
	}
	return true
}

// maxLayers bounds nesting: real mail has at most three layers
// (signed-encrypted-signed); hostile input may have thousands.
const maxLayers = 8

// Open unwraps a received MIME entity layer by layer, in whatever order
// the layers come: it decrypts with the first of ids the message is
// encrypted for, and verifies signatures under p. A layer that cannot be
// opened ends the unwrapping: it is the last of Layers, with its Err, and
// Open returns that error with what was opened until then. A signature
// that does not verify is recorded in its Layer (and makes Valid false)
// while opening goes on, so that the reader can still see what was
// signed and why it is not trusted.
//
// What Open returns as Entity is always exactly the content the layers
// cover: a multipart/signed is verified over its first part, and that
// part is what comes out. A multipart/signed whose signature carries
// content of its own (an opaque signature put beside other text, the
// forgery of Thunderbird's mismatch-econtent tests) is refused with
// EmbeddedContent rather than verified over either: showing the first
// part would show what nobody signed, and showing the embedded content
// would show what the message does not say, so neither is the truth
// about the message. OpenSSL refuses it too. S/MIME parts anywhere else
// than at the top (a signed part inside a multipart/mixed, as mailing
// lists wrap them) are not layers: such a message is not signed as a
// whole, and Open reports it as it is.
func Open(entity []byte, ids []Identity, p *Trust) (*Opened, error) {
	return open(canonical(entity), nil, ids, p)
}

// OpenReader is Open for a message read from r, of size bytes when that
// is known (a file's; -1 if not). An application/pkcs7-mime message is
// decoded from base64 as it is read, into one buffer, and decrypted
// where it lies: the message itself is never held whole, so a large mail
// takes about its own size in memory, once. Any other message is read
// and opened as Open does. When the first layer cannot be opened, Entity
// holds the message's header only.
func OpenReader(r io.Reader, size int64, ids []Identity, p *Trust) (*Opened, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	outer, err := readOuter(br)
	if err != nil {
		return &Opened{Entity: outer.head}, err
	}
	head, h := outer.head, outer.header
	if outer.body == nil {
		var b bytes.Buffer
		if size > 0 {
			b.Grow(int(size) + len(head))
		}
		b.Write(head)
		if _, err := b.ReadFrom(br); err != nil {
			return &Opened{Entity: head}, err
		}
		return Open(b.Bytes(), ids, p)
	}
	var der bytes.Buffer
	if size > 0 {
		der.Grow(int(size/4*3) + 3)
	}
	if _, err := der.ReadFrom(outer.body); err != nil {
		// As Open tells it: the layer that could not be decoded.
		o := &Opened{Entity: head, From: addresses(h.Get("From")), Sender: addresses(h.Get("Sender"))}
		kind := LayerEncrypted
		if outer.signed {
			kind = LayerSigned
		}
		return o.fail(kind, &Error{Reason: Malformed, Detail: "base64", Err: err})
	}
	return open(head, der.Bytes(), ids, p)
}

// outerEntity is the header of a message read from a stream, and, for
// an application/pkcs7-mime one in base64, its body decoded as it is
// read (nil otherwise).
type outerEntity struct {
	head   []byte // canonical
	header textproto.MIMEHeader
	body   io.Reader
	signed bool // smime-type=signed-data
}

// readOuter reads the header of the message br gives (OpenReader,
// OpenStream).
func readOuter(br *bufio.Reader) (*outerEntity, error) {
	head, err := readHeaderBlock(br)
	if err != nil {
		return &outerEntity{}, &Error{Reason: Malformed, Detail: "MIME header", Err: err}
	}
	head = canonical(head)
	h, _, err := splitEntity(head)
	if err != nil {
		return &outerEntity{head: head}, err
	}
	out := &outerEntity{head: head, header: h}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if isPKCS7(mt) && strings.EqualFold(strings.TrimSpace(h.Get("Content-Transfer-Encoding")), "base64") {
		out.body = base64.NewDecoder(base64.StdEncoding, &blankless{r: br})
		out.signed = strings.EqualFold(params["smime-type"], "signed-data")
	}
	return out, nil
}

// readHeaderBlock reads a MIME header block up to and with its blank
// line, at most 1 MiB of it.
func readHeaderBlock(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for start := 0; ; start = len(head) {
		line, err := br.ReadSlice('\n')
		for head = append(head, line...); err == bufio.ErrBufferFull; head = append(head, line...) {
			if len(head) > 1<<20 {
				return nil, errors.New("header larger than 1 MiB")
			}
			line, err = br.ReadSlice('\n')
		}
		if err == io.EOF {
			return head, nil // a header without a body
		}
		if err != nil {
			return nil, err
		}
		if len(head) > 1<<20 {
			return nil, errors.New("header larger than 1 MiB")
		}
		if l := string(head[start:]); l == "\r\n" || l == "\n" {
			return head, nil
		}
	}
}

// blankless leaves out the spaces and tabs some senders put at the end
// of base64 lines (the decoder skips CR and LF itself).
type blankless struct{ r io.Reader }

func (b *blankless) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	k := 0
	for _, c := range p[:n] {
		if c != ' ' && c != '\t' {
			p[k] = c
			k++
		}
	}
	return k, err
}

// open opens the canonical entity; when der is given, entity is the
// header of an application/pkcs7-mime message and der its body, decoded.
func open(entity, der0 []byte, ids []Identity, p *Trust) (*Opened, error) {
	return (&Opened{Entity: entity}).open(0, der0, ids, p)
}

// open goes on opening o.Entity, the layer at depth; der0, when given,
// is its body decoded (OpenReader, OpenStream).
func (o *Opened) open(start int, der0 []byte, ids []Identity, p *Trust) (*Opened, error) {
	for depth := start; ; depth++ {
		hdr, body, err := splitEntity(o.Entity)
		if err != nil {
			return o, err
		}
		if depth == 0 {
			o.From, o.Sender = addresses(hdr.Get("From")), addresses(hdr.Get("Sender"))
		}
		mt, params, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
		layered := isLayer(mt)
		if layered && depth >= maxLayers {
			return o, &Error{Reason: Malformed, Detail: "too many layers"}
		}
		switch {
		case mt == "multipart/signed":
			inner, sig, err := splitSigned(body, params)
			if err != nil {
				return o.fail(LayerSigned, err)
			}
			v, verr := Verify(sig, inner, p)
			if v == nil {
				return o.fail(LayerSigned, verr)
			}
			o.Layers = append(o.Layers, Layer{Kind: LayerSigned, Verified: v, Err: verr})
			o.Entity = inner
		case layered:
			kind := LayerEncrypted
			if strings.EqualFold(params["smime-type"], "signed-data") {
				kind = LayerSigned
			}
			der, err := der0, error(nil)
			if depth > start || der == nil {
				der, err = decodeBody(hdr, body)
			}
			if err != nil {
				return o.fail(kind, err)
			}
			// Decoded from base64, the DER is a buffer of ours, not the
			// caller's message.
			owned := len(der) > 0 && (depth == start && der0 != nil || len(body) > 0 && &der[0] != &body[0])
			typ, _, err := readContentInfo(der)
			if err != nil {
				return o.fail(kind, err)
			}
			if typ.Equal(oidSignedData) {
				v, verr := Verify(der, nil, p)
				if v == nil {
					return o.fail(LayerSigned, verr)
				}
				o.Layers = append(o.Layers, Layer{Kind: LayerSigned, Verified: v, Err: verr})
				o.setContent(v.Content)
				continue
			}
			d, err := decryptAny(der, ids, owned)
			if err != nil {
				return o.fail(LayerEncrypted, err)
			}
			o.Layers = append(o.Layers, Layer{Kind: LayerEncrypted, Decrypted: d})
			o.setContent(d.Content)
		case mt == "message/rfc822" && len(o.Layers) > 0 && !strings.EqualFold(params["forwarded"], "yes"):
			// RFC 8551 section 3.1: the whole message, header and all,
			// wrapped inside the layers. Its header is the protected one,
			// whatever layers it holds in turn.
			o.Entity = body
			if h, _, err := splitEntity(body); err == nil {
				o.Protected = protectedHeader(h)
			}
		default:
			if len(o.Layers) > 0 && o.Protected == nil {
				o.Protected = protectedHeader(hdr)
			}
			return o, nil
		}
	}
}

// fail records a layer that could not be opened and ends Open.
func (o *Opened) fail(kind LayerKind, err error) (*Opened, error) {
	o.Layers = append(o.Layers, Layer{Kind: kind, Err: err})
	return o, err
}

// setContent makes content, as a layer gave it, the entity to open next.
func (o *Opened) setContent(content []byte) {
	content = canonical(content)
	if isEntity(content) {
		o.Entity = content
		return
	}
	typ := "text/plain; charset=utf-8"
	if !utf8.Valid(content) || bytes.IndexByte(content, 0) >= 0 {
		typ = "application/octet-stream"
	}
	o.Entity = append([]byte("Content-Type: "+typ+"\r\n\r\n"), content...)
	o.Bare = true
}

// isEntity reports whether b begins with a MIME header: header fields up
// to a blank line, at least one of which is MIME's own (Content-*,
// MIME-Version) or a message's (From, Subject, ...). Text that merely
// starts with "Word: ..." is not taken for a header.
func isEntity(b []byte) bool {
	if bytes.HasPrefix(b, []byte("\r\n")) {
		return false
	}
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return false
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(b[:i+4]))).ReadMIMEHeader()
	if err != nil {
		return false
	}
	for k := range h {
		switch {
		case strings.HasPrefix(k, "Content-"), k == "Mime-Version", k == "From", k == "Subject", k == "To", k == "Date", k == "Message-Id":
			return true
		}
	}
	return false
}

// protectedFields are the header fields a sender may protect inside the
// S/MIME layers (RFC 9788 section 2.1).
var protectedFields = []string{"From", "Sender", "To", "Cc", "Reply-To", "Subject", "Date", "Message-Id"}

// protectedHeader returns the protected fields of an inner header, or
// nil when it has none.
func protectedHeader(h textproto.MIMEHeader) textproto.MIMEHeader {
	var out textproto.MIMEHeader
	for _, f := range protectedFields {
		if v, ok := h[f]; ok {
			if out == nil {
				out = textproto.MIMEHeader{}
			}
			out[f] = v
		}
	}
	return out
}

// addresses returns the addr-specs of an address-list header, ignoring
// what does not parse.
func addresses(h string) []string {
	if h == "" {
		return nil
	}
	list, err := (&mail.AddressParser{WordDecoder: &mime.WordDecoder{}}).ParseList(h)
	if err != nil {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}

// decryptAny tries each identity the message may be for. When the DER
// is owned and one key is tried, it is decrypted where it lies (the
// buffer is then no longer the message, so never with a second key).
func decryptAny(der []byte, ids []Identity, owned bool) (*Decrypted, error) {
	if owned && len(ids) == 1 {
		return decrypt(der, ids[0].Cert, ids[0].Key, true)
	}
	var first error
	for _, id := range ids {
		d, err := Decrypt(der, id.Cert, id.Key)
		if err == nil {
			return d, nil
		}
		if first == nil || reasonOf(first) == NotForUs {
			first = err
		}
	}
	if first == nil {
		first = &Error{Reason: NotForUs}
	}
	return nil, first
}

// reasonOf returns the Reason of an *Error in err's chain, or "".
func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// splitEntity parses the header block of a MIME entity.
func splitEntity(e []byte) (textproto.MIMEHeader, []byte, error) {
	i := bytes.Index(e, []byte("\r\n\r\n"))
	var head, body []byte
	switch {
	case i >= 0:
		head, body = e[:i+2], e[i+4:]
	case bytes.HasPrefix(e, []byte("\r\n")):
		head, body = nil, e[2:]
	default:
		head, body = e, nil
	}
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(head, '\r', '\n'))))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		return nil, nil, &Error{Reason: Malformed, Detail: "MIME header", Err: err}
	}
	return h, body, nil
}

// decodeBody undoes the entity's Content-Transfer-Encoding.
func decodeBody(h textproto.MIMEHeader, body []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		// The decoder skips line ends itself; spaces and tabs (which some
		// senders leave at line ends) cost a cleaned copy.
		clean := body
		if bytes.ContainsAny(body, " \t") {
			clean = bytes.Map(func(r rune) rune {
				if r == ' ' || r == '\t' {
					return -1
				}
				return r
			}, body)
		}
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			return nil, &Error{Reason: Malformed, Detail: "base64", Err: err}
		}
		return out[:n], nil
	case "", "7bit", "8bit", "binary":
		return body, nil
	}
	return nil, &Error{Reason: Unsupported, Detail: "Content-Transfer-Encoding " + h.Get("Content-Transfer-Encoding")}
}

// splitSigned returns the signed entity (exactly as sent) and the DER of
// the signature from the body of a multipart/signed entity (RFC 1847).
// Per RFC 2046 a delimiter is "--boundary" at the start of a line, and the
// CRLF before it belongs to the delimiter, not to the part.
func splitSigned(body []byte, params map[string]string) (inner, sig []byte, err error) {
	boundary, err := signedBoundary(params)
	if err != nil {
		return nil, nil, err
	}
	delim := []byte("--" + boundary)
	var starts, ends []int
	closed := false
	for at := 0; !closed; {
		i := bytes.Index(body[at:], delim)
		if i < 0 {
			break
		}
		i += at
		at = i + len(delim)
		if i != 0 && (i < 2 || body[i-2] != '\r' || body[i-1] != '\n') {
			continue // not at the start of a line
		}
		after := body[at:]
		end := max(i-2, 0)
		if n := len(starts); n > 0 && end < starts[n-1] {
			end = starts[n-1] // an empty part: its delimiter follows at once
		}
		if bytes.HasPrefix(after, []byte("--")) {
			ends, closed = append(ends, end), true
			continue
		}
		eol := bytes.Index(after, []byte("\r\n"))
		if eol < 0 || len(bytes.Trim(after[:eol], " \t")) != 0 {
			continue // "--boundary" followed by more text is not a delimiter
		}
		ends = append(ends, end)
		starts = append(starts, at+eol+2)
		at += eol + 2
	}
	if !closed || len(starts) != 2 || len(ends) != 3 {
		return nil, nil, &Error{Reason: Malformed, Detail: fmt.Sprintf("multipart/signed with %d parts", len(starts))}
	}
	if sig, err = signaturePart(body[starts[1]:ends[2]]); err != nil {
		return nil, nil, err
	}
	return body[starts[0]:ends[1]], sig, nil
}

// signedBoundary checks a multipart/signed entity's parameters (RFC 1847:
// an S/MIME protocol, a boundary) and returns its boundary.
func signedBoundary(params map[string]string) (string, error) {
	switch proto := strings.ToLower(params["protocol"]); proto {
	case "", "application/pkcs7-signature", "application/x-pkcs7-signature":
	default:
		return "", &Error{Reason: Unsupported, Detail: "multipart/signed protocol " + proto}
	}
	if params["boundary"] == "" {
		return "", &Error{Reason: Malformed, Detail: "multipart/signed without boundary"}
	}
	return params["boundary"], nil
}

// signaturePart returns the DER of the signature in a multipart/signed
// entity's second part, which must be application/pkcs7-signature.
func signaturePart(part []byte) ([]byte, error) {
	h, body, err := splitEntity(part)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "application/pkcs7-signature" && mt != "application/x-pkcs7-signature" {
		return nil, &Error{Reason: Malformed, Detail: "second part is " + mt}
	}
	return decodeBody(h, body)
}

// isPKCS7 reports whether a media type is an S/MIME layer in one part
// (application/pkcs7-mime, or its old x- name).
func isPKCS7(mt string) bool {
	return mt == "application/pkcs7-mime" || mt == "application/x-pkcs7-mime"
}

// isLayer reports whether a media type is an S/MIME layer.
func isLayer(mt string) bool { return mt == "multipart/signed" || isPKCS7(mt) }

// SignerMatches reports whether the signer's certificate is for the
// address in the message's From or Sender header (RFC 8550 section 3).
func SignerMatches(s Signer, addresses ...string) bool {
	if s.Cert == nil {
		return false
	}
	for _, a := range addresses {
		if HasAddress(s.Cert, a) {
			return true
		}
	}
	return false
}
