package smime

import (
	"errors"
	"fmt"
)

// maxDepth bounds the nesting of BER input, so that hostile input cannot
// exhaust the stack.
const maxDepth = 64

// errBER reports input that is not valid BER.
var errBER = errors.New("smime: malformed BER")

// berToDER converts one BER-encoded element (RFC 5652 allows BER, and
// openssl -stream writes indefinite lengths and chunked OCTET STRINGs) to
// DER-style definite lengths, so that cryptobyte can parse it. Constructed
// universal strings (OCTET STRING, BIT STRING, the character strings) are
// joined into primitive ones. Context-specific constructed elements are
// kept as they are: whether [0] is an implicit OCTET STRING is known only
// to the parser of that structure (see readOctets). Input that is already
// DER comes back unchanged.
func berToDER(in []byte) ([]byte, error) {
	// Most input is DER already (everything we and most senders write):
	// then only the headers are read, and nothing is copied.
	if rest, ok := definite(in, 0); ok && allZero(rest) {
		return in[:len(in)-len(rest)], nil
	}
	out, rest, err := convertBER(in, 0)
	if err != nil {
		return nil, err
	}
	for _, b := range rest {
		if b != 0 {
			return nil, fmt.Errorf("%w: %d bytes after the end", errBER, len(rest))
		}
	}
	return out, nil
}

// definite reports whether the element at the start of in is in DER's
// form already: definite, minimal lengths and no constructed strings,
// all the way down. It returns what follows the element.
func definite(in []byte, depth int) ([]byte, bool) {
	if depth > maxDepth {
		return nil, false
	}
	h, body, err := readHeader(in)
	if err != nil || h.length < 0 || h.constructed && joinable(h) {
		return nil, false
	}
	if len(in)-len(body) != len(h.tag)+len(appendHeader(nil, 0, h.length))-1 {
		return nil, false // a length not in its shortest form
	}
	rest := body[h.length:]
	if h.constructed {
		for inner := body[:h.length]; len(inner) > 0; {
			var ok bool
			if inner, ok = definite(inner, depth+1); !ok {
				return nil, false
			}
		}
	}
	return rest, true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

type berHeader struct {
	tag         []byte // identifier octets as read
	class       byte
	constructed bool
	number      int
	length      int // -1 for indefinite
}

func readHeader(in []byte) (h berHeader, rest []byte, err error) {
	if len(in) < 2 {
		return h, nil, fmt.Errorf("%w: truncated", errBER)
	}
	i := 1
	h.class = in[0] >> 6
	h.constructed = in[0]&0x20 != 0
	h.number = int(in[0] & 0x1f)
	if h.number == 0x1f {
		h.number = 0
		for {
			if i >= len(in) || i > 4 {
				return h, nil, fmt.Errorf("%w: tag number too long", errBER)
			}
			b := in[i]
			i++
			h.number = h.number<<7 | int(b&0x7f)
			if b&0x80 == 0 {
				break
			}
		}
	}
	h.tag = in[:i]
	if i >= len(in) {
		return h, nil, fmt.Errorf("%w: truncated", errBER)
	}
	l := in[i]
	i++
	switch {
	case l < 0x80:
		h.length = int(l)
	case l == 0x80:
		if !h.constructed {
			return h, nil, fmt.Errorf("%w: indefinite length on a primitive", errBER)
		}
		h.length = -1
	default:
		n := int(l & 0x7f)
		if n > 4 || i+n > len(in) {
			return h, nil, fmt.Errorf("%w: bad length", errBER)
		}
		for _, b := range in[i : i+n] {
			h.length = h.length<<8 | int(b)
		}
		if h.length < 0 {
			return h, nil, fmt.Errorf("%w: bad length", errBER)
		}
		i += n
	}
	if h.length > len(in)-i {
		return h, nil, fmt.Errorf("%w: length %d beyond the input", errBER, h.length)
	}
	return h, in[i:], nil
}

// joinable reports universal string types whose constructed form BER
// allows and DER forbids.
func joinable(h berHeader) bool {
	if h.class != 0 {
		return false
	}
	switch h.number {
	case 3, 4, 12, 19, 20, 22, 26, 28, 30: // BIT, OCTET, UTF8, Printable, T61, IA5, Visible, Universal, BMP
		return true
	}
	return false
}

func convertBER(in []byte, depth int) (out, rest []byte, err error) {
	if depth > maxDepth {
		return nil, nil, fmt.Errorf("%w: nested too deeply", errBER)
	}
	h, body, err := readHeader(in)
	if err != nil {
		return nil, nil, err
	}
	if !h.constructed {
		return appendTLV(nil, h.tag, body[:h.length]), body[h.length:], nil
	}
	var content []byte
	var children [][]byte
	var after []byte
	if h.length >= 0 {
		inner := body[:h.length]
		after = body[h.length:]
		for len(inner) > 0 {
			var c []byte
			c, inner, err = convertBER(inner, depth+1)
			if err != nil {
				return nil, nil, err
			}
			children = append(children, c)
		}
	} else {
		inner := body
		for {
			if len(inner) < 2 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", errBER)
			}
			if inner[0] == 0 && inner[1] == 0 {
				after = inner[2:]
				break
			}
			var c []byte
			c, inner, err = convertBER(inner, depth+1)
			if err != nil {
				return nil, nil, err
			}
			children = append(children, c)
		}
	}
	tag := h.tag
	if joinable(h) {
		// Join the segments' contents into one primitive string.
		for i, c := range children {
			ch, cb, err := readHeader(c)
			if err != nil || ch.constructed || ch.class != 0 || ch.number != h.number {
				return nil, nil, fmt.Errorf("%w: bad segment in a constructed string", errBER)
			}
			seg := cb[:ch.length]
			if h.number == 3 { // BIT STRING: unused-bits octet per segment; only the last may be non-zero
				if len(seg) == 0 || (seg[0] != 0 && i != len(children)-1) {
					return nil, nil, fmt.Errorf("%w: bad BIT STRING segment", errBER)
				}
				if i == 0 {
					content = append(content, seg[0])
				} else {
					content[0] = seg[0]
				}
				seg = seg[1:]
			}
			content = append(content, seg...)
		}
		if h.number == 3 && len(children) == 0 {
			content = []byte{0}
		}
		tag = []byte{h.tag[0] &^ 0x20}
		if len(h.tag) > 1 {
			tag = append([]byte{h.tag[0] &^ 0x20}, h.tag[1:]...)
		}
	} else {
		for _, c := range children {
			content = append(content, c...)
		}
	}
	return appendTLV(nil, tag, content), after, nil
}

// appendTLV appends tag, a definite DER length and content to dst.
func appendTLV(dst, tag, content []byte) []byte {
	dst = append(dst, tag...)
	n := len(content)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n < 0x100:
		dst = append(dst, 0x81, byte(n))
	case n < 0x10000:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, content...)
}

// DER re-encodes one BER element with definite lengths and joined
// strings (see berToDER), for other readers of BER structures, such as
// the PKCS #12 files Firefox and Thunderbird export.
func DER(ber []byte) ([]byte, error) { return berToDER(ber) }
