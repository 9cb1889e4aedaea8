#!/usr/bin/env bash
# Writes the private-key seeds of the key-material fuzzer into OUTDIR: small keys of each form
# the reader knows, made here by the openssl CLI because no private key, not even a test one,
# is committed (corpus/material/ holds only certificates and public keys).
# Usage: tests/fuzz/material_seeds.sh OUTDIR
set -euo pipefail
out=${1:?usage: material_seeds.sh OUTDIR}
rm -rf "$out"
mkdir -p "$out"
cd "$out"
umask 077
pass=fuzz-seed-pass
openssl ecparam -name prime256v1 -genkey -noout -out ec-traditional.pem 2>/dev/null
openssl pkey -in ec-traditional.pem -out ec-pkcs8.pem
openssl pkcs8 -topk8 -nocrypt -in ec-traditional.pem -outform DER -out ec-pkcs8.der
openssl ec -in ec-traditional.pem -outform DER -out ec-traditional.der 2>/dev/null
openssl genpkey -algorithm ed25519 -out ed25519-pkcs8.pem
openssl genrsa -traditional -out rsa-traditional.pem 512 2>/dev/null
# Few iterations: the seeds are for the parser, not for strength.
openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 1 -in ec-traditional.pem -passout "pass:$pass" \
	-out ec-encrypted-pkcs8.pem
openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 1 -in ec-traditional.pem -passout "pass:$pass" \
	-outform DER -out ec-encrypted-pkcs8.der
openssl ec -aes256 -in ec-traditional.pem -passout "pass:$pass" -out ec-proc-type.pem \
	2>/dev/null
openssl req -x509 -new -key ec-traditional.pem -subj /CN=fuzz-seed -days 1 -out ec.crt
openssl pkcs12 -export -in ec.crt -inkey ec-traditional.pem -passout pass: -iter 1 \
	-maciter -out ec-nopass.p12
openssl pkcs12 -export -in ec.crt -inkey ec-traditional.pem -passout "pass:$pass" -iter 1 \
	-maciter -out ec-pass.p12
# PKCS#12 as a chain (leaf, its CA, the key), and with nothing encrypted (a plain key bag).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-subj /CN=fuzz-seed-ca -days 1 -out ca.crt 2>/dev/null
openssl req -new -key ec-traditional.pem -subj /CN=fuzz-seed-leaf -out leaf.csr
openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -set_serial 0x8F01 -days 1 \
	-out leaf.crt 2>/dev/null
openssl pkcs12 -export -in leaf.crt -inkey ec-traditional.pem -certfile ca.crt \
	-passout "pass:$pass" -iter 1 -maciter -out ec-chain.p12
openssl pkcs12 -export -in ec.crt -inkey ec-traditional.pem -keypbe NONE -certpbe NONE \
	-passout pass: -maciter -out ec-unencrypted.p12
# A bundle whose first certificate is the CA: the fuzzer takes it as the issuer of the rest.
cat ca.crt leaf.crt ec-pkcs8.pem >ca-then-leaf.pem
rm ca.key ca.crt leaf.csr leaf.crt
# A key inline in a CRLF .env, one line with "\n" escapes, and a bundle of key and certificate.
{
	printf 'APP=1\r\nTLS_KEY="'
	awk '{ printf "%s\\n", $0 }' ec-pkcs8.pem
	printf '"\r\nDEBUG=0\r\n'
} >inline.env
cat ec-traditional.pem ec.crt >key-and-cert.pem
rm ec.crt
