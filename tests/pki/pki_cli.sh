#!/usr/bin/env bash
# rekey pki end to end, checked with the openssl CLI: init, issue for every key type, inspect
# against `openssl x509`, revoke by serial, file, folder and CN, and the CRL keeping entries.
set -euo pipefail

rekey=$(realpath "${1:?usage: pki_cli.sh REKEY}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
expect() {	# expect DESCRIPTION COMMAND...: the command must succeed
	local what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok; else bad "$what"; sed 's/^/    /' "$tmp/out"; fi
}
refuse() {	# refuse DESCRIPTION PATTERN COMMAND...: must fail, saying PATTERN
	local what=$1 pattern=$2
	shift 2
	if "$@" >"$tmp/out" 2>&1; then
		bad "$what: succeeded"
	elif grep -q -- "$pattern" "$tmp/out"; then ok
	else bad "$what: no '$pattern' in:"; sed 's/^/    /' "$tmp/out"
	fi
}
mode_of() { stat -c %a "$1"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print(d$1)"; }

# init: the files the seeds' users make by hand, with the right modes, verifiable.
expect "init" "$rekey" pki init --name DNS:localhost --name IP:127.0.0.1 dev
for f in ca.crt server.crt client.crt ca.crl; do
	[ "$(mode_of "dev/$f")" = 644 ] && ok || bad "dev/$f mode $(mode_of "dev/$f")"
done
for f in ca.key server.key client.key; do
	[ "$(mode_of "dev/$f")" = 600 ] && ok || bad "dev/$f mode $(mode_of "dev/$f")"
done
expect "openssl verifies init's certificates" \
	openssl verify -CAfile dev/ca.crt -crl_check -CRLfile dev/ca.crl dev/server.crt dev/client.crt
refuse "init never overwrites" "File exists" "$rekey" pki init dev
openssl x509 -in dev/server.crt -noout -text >text.out
grep -q "DNS:localhost, IP Address:127.0.0.1" text.out && ok || bad "init SANs"
grep -q "TLS Web Server Authentication" text.out && ok || bad "server EKU"
openssl x509 -in dev/client.crt -noout -text | grep -q "TLS Web Client Authentication" &&
	ok || bad "client EKU"
openssl x509 -in dev/ca.crt -noout -text >ca.out
grep -q "CA:TRUE" ca.out && grep -q "Certificate Sign, CRL Sign" ca.out && ok || bad "CA extensions"

# issue, for every key type; inspect agrees with openssl x509 on fingerprint, serial, dates.
for key in rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ed25519; do
	expect "issue $key" "$rekey" pki issue --ca-cert dev/ca.crt --ca-key dev/ca.key \
		--profile server --subject "/O=t/CN=$key.example" --san "DNS:$key.example" \
		--san IP:10.1.2.3 --key "$key" --days 20 --cert-out "$key.crt" --key-out "$key.key"
	[ "$(mode_of "$key.key")" = 600 ] && ok || bad "$key.key mode"
	expect "verify $key" openssl verify -CAfile dev/ca.crt "$key.crt"
	"$rekey" pki inspect --json "$key.crt" >inspect.json
	want_fp=$(openssl x509 -in "$key.crt" -noout -fingerprint -sha256 | cut -d= -f2)
	[ "$(json '["sha256"]' <inspect.json)" = "$want_fp" ] && ok || bad "$key fingerprint"
	want_serial=$(openssl x509 -in "$key.crt" -noout -serial | cut -d= -f2)
	[ "$(json '["serial"]' <inspect.json | tr -d :)" = "$want_serial" ] && ok ||
		bad "$key serial"
	want_end=$(date -u -d "$(openssl x509 -in "$key.crt" -noout -enddate | cut -d= -f2)" +%s)
	[ "$(json '["not_after_epoch"]' <inspect.json)" = "$want_end" ] && ok || bad "$key notAfter"
	want_start=$(date -u -d "$(openssl x509 -in "$key.crt" -noout -startdate | cut -d= -f2)" +%s)
	[ "$(json '["not_before_epoch"]' <inspect.json)" = "$want_start" ] && ok ||
		bad "$key notBefore"
	"$rekey" pki inspect "$key.key" | grep -q "private key" && ok || bad "$key key inspect"
	# inspect never prints key material.
	if "$rekey" pki inspect --json "$key.key" | grep -q "BEGIN\|PRIVATE KEY-"; then
		bad "inspect printed key material"; else ok; fi
done
[ "$(python3 -c 'import json; print(len(json.load(open("dev/ledger.json"))["certificates"]))')" = 8 ] &&
	ok || bad "ledger holds init's 2 and issue's 6 certificates"

# Encrypted key output, and a wrong CA passphrase path.
export RK_TEST_PASS="s3cret pass"
expect "issue with an encrypted key" "$rekey" pki issue --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--profile client --subject /CN=enc --cert-out enc.crt --key-out enc.key \
	--key-passphrase-env RK_TEST_PASS
grep -q "BEGIN ENCRYPTED PRIVATE KEY" enc.key && ok || bad "key not encrypted"
expect "openssl reads the encrypted key" openssl pkey -in enc.key -passin env:RK_TEST_PASS -noout
refuse "mismatched CA key" "does not match" "$rekey" pki issue --ca-cert dev/ca.crt \
	--ca-key dev/server.key --profile server --subject /CN=x --cert-out x.crt --key-out x.key
refuse "a server certificate is no CA" "not a CA certificate" "$rekey" pki issue \
	--ca-cert dev/server.crt --ca-key dev/server.key --profile server --subject /CN=x \
	--cert-out x.crt --key-out x.key
refuse "RSA 1024" "unsupported key type" "$rekey" pki issue --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --profile server --subject /CN=x --key rsa-1024 --cert-out x.crt \
	--key-out x.key
refuse "bad SAN" "not a DNS name" "$rekey" pki issue --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--profile server --subject /CN=x --san "DNS:a b" --cert-out x.crt --key-out x.key

# Revoke: by certificate; the revoked one fails openssl verify -crl_check, others pass.
expect "revoke by cert" "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--reason keyCompromise --cert ec-p256.crt
refuse "revoked fails verify" "certificate revoked" openssl verify -CAfile dev/ca.crt \
	-crl_check -CRLfile dev/ca.crl ec-p256.crt
expect "others still verify" openssl verify -CAfile dev/ca.crt -crl_check -CRLfile dev/ca.crl \
	ec-p384.crt
openssl crl -in dev/ca.crl -noout -text >crl.out
grep -q "Key Compromise" crl.out && ok || bad "reason code"
grep -q "X509v3 CRL Number: *$" crl.out && grep -A1 "CRL Number" crl.out | grep -q "2" &&
	ok || bad "CRL number 2"
grep -q "X509v3 Authority Key Identifier" crl.out && ok || bad "CRL AKI"

# By folder (only certificates of this CA), by CN through the ledger, by serial.
mkdir other folder
"$rekey" pki init other >/dev/null
cp rsa-2048.crt ed25519.crt other/server.crt folder/
echo "not a certificate" >folder/junk.pem
expect "revoke by folder" "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--folder folder
grep -q "2 certificates issued by this CA" "$tmp/out" && ok || bad "folder count"
expect "revoke by CN" "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--cn rsa-4096.example
expect "revoke by serial" "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--serial "$(openssl x509 -in ec-p384.crt -noout -serial | cut -d= -f2)"
for k in rsa-2048 ed25519 rsa-4096 ec-p384 ec-p256; do
	refuse "$k revoked" "certificate revoked" openssl verify -CAfile dev/ca.crt -crl_check \
		-CRLfile dev/ca.crl "$k.crt"
done
expect "rsa-3072 untouched" openssl verify -CAfile dev/ca.crt -crl_check -CRLfile dev/ca.crl \
	rsa-3072.crt
# A later revocation keeps every earlier entry (Ansible's x509_crl would drop them).
count=$(openssl crl -in dev/ca.crl -noout -text | grep -c "Serial Number:")
[ "$count" = 5 ] && ok || bad "CRL has $count entries, want 5"
refuse "certificate of another CA" "was not issued by the CA" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --cert other/server.crt
refuse "unknown CN" "holds no certificate for CN" "$rekey" pki revoke --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --cn nobody
refuse "CRL of another CA is not replaced" "not signed by this CA" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --crl other/ca.crl --serial 01
[ "$(openssl crl -in dev/ca.crl -noout -text | grep -c 'Serial Number:')" = 5 ] && ok ||
	bad "a failed revoke changed the CRL"

# inspect refuses what is none of its types, and oversize input.
echo hello >plain.txt
refuse "inspect junk" "not a certificate, CRL or private key" "$rekey" pki inspect plain.txt
head -c 1000001 /dev/zero >huge.crt
refuse "inspect oversize" "over the limit" "$rekey" pki inspect huge.crt

echo "pki cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
