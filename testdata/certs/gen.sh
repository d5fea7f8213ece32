#!/usr/bin/env bash
# Regenerates the test PKI in this folder: certificates and keys (gen.go),
# then PKCS#12 files made by openssl, the reference implementation, in both
# the modern (PBES2, AES-256-CBC, HMAC-SHA-256) and the legacy (3DES, SHA-1
# MAC) formats. The password of every .p12 file is "test".
set -euo pipefail
cd "$(dirname "$0")"
go run gen.go
for n in mailbox-rsa mailbox-ec recipient-rsa recipient-ec oces2; do
	openssl pkcs12 -export -in "$n.pem" -inkey "$n.key" -certfile ca.pem \
		-name "$n" -passout pass:test -out "$n.p12"
done
# openssl -legacy: RC2-40 for the certificates, 3DES for the key, as old
# Windows exports are.
openssl pkcs12 -export -legacy -in mailbox-rsa.pem -inkey mailbox-rsa.key -certfile ca.pem \
	-name mailbox-rsa -passout pass:test -out mailbox-rsa-rc2.p12
# Legacy format: older clients, and gpgsm 2.2, read only this.
for n in mailbox-rsa recipient-rsa recipient-ec; do
	openssl pkcs12 -export -in "$n.pem" -inkey "$n.key" -certfile ca.pem \
		-name "$n" -passout pass:test \
		-certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -out "$n-legacy.p12"
done
