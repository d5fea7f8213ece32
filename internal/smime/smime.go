// Package smime signs, encrypts, decrypts and verifies mail with S/MIME 4.0
// (RFC 8551) on the Cryptographic Message Syntax (RFC 5652).
//
// It is written on Go's standard crypto (crypto/rsa, crypto/ecdh,
// crypto/cipher) and golang.org/x/crypto/cryptobyte for DER/BER, not on
// go.mozilla.org/pkcs7. Measured against OpenSSL 3.0, that library cannot
// write AuthEnvelopedData openssl reads, nor read openssl's; has no
// RSA-OAEP, ECDH or subject-key-identifier recipients; cannot read a mixed
// RSA+EC recipient list; fails on BER indefinite-length input (openssl
// -stream); keeps its algorithms in mutable package globals defaulting to
// DES and SHA-1; and panics on non-RSA keys. Since the envelope had to be
// ours, one small ASN.1 layer serves signing too, and no DES or SHA-1
// default exists anywhere: every algorithm is chosen per call.
//
// Encrypt writes AuthEnvelopedData with AES-256-GCM (RFC 5083/5084) or
// EnvelopedData with AES-256-CBC (RFC 3565), to RSA recipients with
// RSAES-OAEP-SHA256 (RFC 4055) or PKCS #1 v1.5 (RFC 3370), and to EC P-256
// recipients with ephemeral-static ECDH, the X9.63 SHA-256 KDF and AES key
// wrap (RFC 5753, 3394); recipients are named by issuer and serial number
// or by subject key identifier. Decrypt reads all of these, DER or BER,
// plus AES-128/192 content and the SHA-1/384/512 KDFs openssl may use.
//
// Every failure is an *Error whose Reason names a Danish and an English
// sentence (internal/i18n); malformed input never panics (see the fuzz
// targets).
package smime
