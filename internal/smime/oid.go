package smime

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
)

// Object identifiers of RFC 5652 (CMS), 5083/5084 (AuthEnvelopedData and
// AES-GCM), 3565 (AES), 3560/4055 (RSA-OAEP), 5753 (ECDH) and 8551 (S/MIME
// attributes).
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidAuthEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 23}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSMIMECaps     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 15}
	oidAttrEncKeyPref    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 11}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAOAEP           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidPSpecified        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 9}
	oidRSAPSS            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSHA1              = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidAES128CBC         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidAES128GCM         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 6}
	oidAES192GCM         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 26}
	oidAES256GCM         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
	oidAES128Wrap        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 5}
	oidAES192Wrap        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 25}
	oidAES256Wrap        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 45}
	oidECDHSHA256KDF     = asn1.ObjectIdentifier{1, 3, 132, 1, 11, 1} // dhSinglePass-stdDH-sha256kdf-scheme
	oidECDHSHA384KDF     = asn1.ObjectIdentifier{1, 3, 132, 1, 11, 2}
	oidECDHSHA512KDF     = asn1.ObjectIdentifier{1, 3, 132, 1, 11, 3}
	oidECDHSHA1KDF       = asn1.ObjectIdentifier{1, 3, 133, 16, 840, 63, 0, 2} // dhSinglePass-stdDH-sha1kdf-scheme
)

// oidNames names the algorithms and content types a user may meet in a
// sentence, so that a refusal says "SHA-1" or "3DES", never an OID.
var oidNames = map[string]string{
	"1.2.840.113549.2.5":         "MD5",
	"1.3.14.3.2.26":              "SHA-1",
	"2.16.840.1.101.3.4.2.4":     "SHA-224",
	"2.16.840.1.101.3.4.2.1":     "SHA-256",
	"2.16.840.1.101.3.4.2.2":     "SHA-384",
	"2.16.840.1.101.3.4.2.3":     "SHA-512",
	"2.16.840.1.101.3.4.2.8":     "SHA3-256",
	"2.16.840.1.101.3.4.2.9":     "SHA3-384",
	"2.16.840.1.101.3.4.2.10":    "SHA3-512",
	"1.2.840.113549.1.1.1":       "RSA",
	"1.2.840.113549.1.1.4":       "RSA with MD5",
	"1.2.840.113549.1.1.5":       "RSA with SHA-1",
	"1.2.840.113549.1.1.7":       "RSA-OAEP",
	"1.2.840.113549.1.1.10":      "RSASSA-PSS",
	"1.2.840.113549.1.1.11":      "RSA with SHA-256",
	"1.2.840.113549.1.1.12":      "RSA with SHA-384",
	"1.2.840.113549.1.1.13":      "RSA with SHA-512",
	"1.2.840.113549.1.1.14":      "RSA with SHA-224",
	"1.2.840.10040.4.1":          "DSA",
	"1.2.840.10040.4.3":          "DSA with SHA-1",
	"2.16.840.1.101.3.4.3.2":     "DSA with SHA-256",
	"1.2.840.10045.2.1":          "EC",
	"1.2.840.10045.4.1":          "ECDSA with SHA-1",
	"1.2.840.10045.4.3.1":        "ECDSA with SHA-224",
	"1.2.840.10045.4.3.2":        "ECDSA with SHA-256",
	"1.2.840.10045.4.3.3":        "ECDSA with SHA-384",
	"1.2.840.10045.4.3.4":        "ECDSA with SHA-512",
	"1.3.101.110":                "X25519",
	"1.3.101.111":                "X448",
	"1.3.101.112":                "Ed25519",
	"1.3.101.113":                "Ed448",
	"1.3.14.3.2.7":               "DES",
	"1.2.840.113549.3.7":         "3DES",
	"1.2.840.113549.3.2":         "RC2",
	"1.2.840.113549.3.4":         "RC4",
	"2.16.840.1.101.3.4.1.2":     "AES-128-CBC",
	"2.16.840.1.101.3.4.1.22":    "AES-192-CBC",
	"2.16.840.1.101.3.4.1.42":    "AES-256-CBC",
	"2.16.840.1.101.3.4.1.6":     "AES-128-GCM",
	"2.16.840.1.101.3.4.1.26":    "AES-192-GCM",
	"2.16.840.1.101.3.4.1.46":    "AES-256-GCM",
	"2.16.840.1.101.3.4.1.7":     "AES-128-CCM",
	"2.16.840.1.101.3.4.1.27":    "AES-192-CCM",
	"2.16.840.1.101.3.4.1.47":    "AES-256-CCM",
	"2.16.840.1.101.3.4.1.5":     "AES-128 key wrap",
	"2.16.840.1.101.3.4.1.25":    "AES-192 key wrap",
	"2.16.840.1.101.3.4.1.45":    "AES-256 key wrap",
	"2.16.840.1.101.3.4.1.8":     "AES-128 key wrap with padding",
	"2.16.840.1.101.3.4.1.48":    "AES-256 key wrap with padding",
	"1.2.840.113549.1.9.16.3.6":  "3DES key wrap",
	"1.2.840.113549.1.9.16.3.5":  "ESDH",
	"1.2.840.113549.1.9.16.3.18": "ChaCha20-Poly1305",
	"1.3.132.1.11.0":             "ECDH with the SHA-224 KDF",
	"1.3.132.1.14.0":             "cofactor ECDH with the SHA-224 KDF",
	"1.3.132.1.14.1":             "cofactor ECDH with the SHA-256 KDF",
	"1.3.132.1.14.2":             "cofactor ECDH with the SHA-384 KDF",
	"1.3.132.1.14.3":             "cofactor ECDH with the SHA-512 KDF",
	"1.2.840.113549.1.7.1":       "data",
	"1.2.840.113549.1.7.2":       "signed data",
	"1.2.840.113549.1.7.3":       "enveloped data",
	"1.2.840.113549.1.7.5":       "digested data",
	"1.2.840.113549.1.7.6":       "encrypted data",
	"1.2.840.113549.1.9.16.1.2":  "authenticated data",
	"1.2.840.113549.1.9.16.1.4":  "time-stamp token",
	"1.2.840.113549.1.9.16.1.9":  "compressed data",
	"1.2.840.113549.1.9.16.1.23": "authenticated enveloped data",
}

// algName names an algorithm or content type: "SHA-1", "3DES", or the
// dotted OID for one this table does not know.
func algName(oid asn1.ObjectIdentifier) string {
	if n, ok := oidNames[oid.String()]; ok {
		return n
	}
	return "OID " + oid.String()
}

// keyName names a public key's type for a sentence: "DSA", "Ed25519".
func keyName(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PublicKey:
		return "ECDH"
	}
	t := fmt.Sprintf("%T", pub)
	if t == "*dsa.PublicKey" { // named so: crypto/dsa is deprecated
		return "DSA"
	}
	return t
}
