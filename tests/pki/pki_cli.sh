#!/usr/bin/env bash
# rekey pki end to end, checked with the openssl CLI: init, issue for every key type, inspect
# against `openssl x509`, revoke by serial, file, folder and CN, and the CRL keeping entries;
# then the hostile inputs: FIFOs, keys and passphrases others can read, rewrites that must keep
# modes, outputs that must be all or nothing, terminal escapes in a certificate.
set -euo pipefail

rekey=$(realpath "${1:?usage: pki_cli.sh REKEY}")
shape=$(dirname -- "$(realpath -- "$0")")/cert_shape.py
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
prompt() {	# prompt DESCRIPTION PATTERN COMMAND...: must fail within 10 s, saying PATTERN
	local what=$1 pattern=$2 status=0
	shift 2
	timeout 10 "$@" >"$tmp/out" 2>&1 </dev/null || status=$?
	if [ "$status" = 124 ]; then bad "$what: still running after 10 s (blocked)"
	elif [ "$status" = 0 ]; then bad "$what: succeeded"
	elif grep -q -- "$pattern" "$tmp/out"; then ok
	else bad "$what: no '$pattern' in:"; sed 's/^/    /' "$tmp/out"
	fi
}
mode_of() { stat -c %a "$1"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print(d$1)"; }
rfc3339() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

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
refuse "init into a folder that holds files" "dev is not empty" "$rekey" pki init dev
openssl x509 -in dev/server.crt -noout -text >text.out
grep -q "DNS:localhost, IP Address:127.0.0.1" text.out && ok || bad "init SANs"
grep -q "TLS Web Server Authentication" text.out && ok || bad "server EKU"
openssl x509 -in dev/client.crt -noout -text | grep -q "TLS Web Client Authentication" &&
	ok || bad "client EKU"
openssl x509 -in dev/ca.crt -noout -text >ca.out
grep -q "CA:TRUE" ca.out && grep -q "Certificate Sign, CRL Sign" ca.out && ok || bad "CA extensions"

# init --intermediate: a root, an issuing CA under it (pathlen 0) that signs the leaves, each
# leaf file holding the issuing CA after the leaf; openssl judges the chain and both CRLs.
expect "init --intermediate" "$rekey" pki init --intermediate --name DNS:localhost \
	--ca-cn "test issuing CA" --root-cn "test root CA" two
for f in root.crt root.crl ca.crt ca.crl chain.crt server.crt client.crt ledger.json; do
	[ "$(mode_of "two/$f")" = 644 ] && ok || bad "two/$f mode $(mode_of "two/$f")"
done
for f in root.key ca.key server.key client.key; do
	[ "$(mode_of "two/$f")" = 600 ] && ok || bad "two/$f mode $(mode_of "two/$f")"
done
[ "$(ls two | wc -l)" = 12 ] && ok || bad "init --intermediate wrote $(ls two | tr '\n' ' ')"
for f in root ca server client chain ledger; do
	grep -q "^  $f\.\(crt\|json\) " "$tmp/out" && ok || bad "init's output does not name $f"
done
expect "openssl verifies the leaves up to the root" \
	openssl verify -x509_strict -CAfile two/root.crt -untrusted two/ca.crt two/server.crt \
	two/client.crt
expect "openssl verifies them with both CRLs" openssl verify -x509_strict -crl_check_all \
	-CAfile two/root.crt -CRLfile two/root.crl -CRLfile two/ca.crl -untrusted two/ca.crt \
	two/server.crt two/client.crt
expect "the chain file and ca.crt verify up to the root" openssl verify -x509_strict \
	-CAfile two/chain.crt two/ca.crt
# The root does not sign the leaves itself: without the issuing CA there is no path.
refuse "a leaf without the issuing CA" "unable to get local issuer certificate" \
	openssl verify -CAfile two/root.crt two/server.crt
openssl x509 -in two/ca.crt -noout -ext basicConstraints >bc.out
grep -q "critical" bc.out && grep -q "CA:TRUE, pathlen:0" bc.out && ok ||
	{ bad "ca.crt is not pathlen:0"; cat bc.out; }
openssl x509 -in two/root.crt -noout -ext basicConstraints >bc.out
grep -q "CA:TRUE" bc.out && ! grep -q pathlen bc.out && ok || { bad "root.crt: $(cat bc.out)"; }
subject_of() { openssl x509 -in "$1" -noout -subject -nameopt compat | sed 's/^subject=//'; }
[ "$(subject_of two/root.crt)" = "/O=rekey/CN=test root CA" ] && ok || bad "--root-cn"
[ "$(subject_of two/ca.crt)" = "/O=rekey/CN=test issuing CA" ] && ok || bad "--ca-cn"
certs_in() { openssl crl2pkcs7 -nocrl -certfile "$1" | openssl pkcs7 -print_certs -noout |
	grep -c '^subject='; }
nth_cert() { awk -v n="$2" '/-----BEGIN CERTIFICATE-----/ { i++ } i == n' "$1"; }
fp_of() { openssl x509 -noout -fingerprint -sha256 | cut -d= -f2; }
for f in server client; do
	[ "$(certs_in "two/$f.crt")" = 2 ] && ok || bad "two/$f.crt holds $(certs_in "two/$f.crt")"
	[ "$(nth_cert "two/$f.crt" 2 | fp_of)" = "$(fp_of <two/ca.crt)" ] && ok ||
		bad "the second certificate of two/$f.crt is not ca.crt"
done
[ "$(certs_in two/ca.crt)" = 1 ] && [ "$(certs_in two/chain.crt)" = 1 ] && ok ||
	bad "ca.crt or chain.crt holds more than one certificate"
cmp -s two/chain.crt two/root.crt && ok || bad "chain.crt is not the root"
openssl crl -in two/root.crl -CAfile two/root.crt -noout >crl.out 2>&1 &&
	grep -q "verify OK" crl.out && ok || { bad "root.crl not signed by the root"; cat crl.out; }
openssl crl -in two/ca.crl -CAfile two/ca.crt -noout >crl.out 2>&1 &&
	grep -q "verify OK" crl.out && ok || { bad "ca.crl not signed by ca.crt"; cat crl.out; }
[ "$(python3 -c 'import json; print(" ".join(c["profile"] + ":" + c["cn"] for c in
	json.load(open("two/ledger.json"))["certificates"]))')" = \
	"ca:test issuing CA server:localhost client:rkclient" ] && ok ||
	bad "the ledger does not hold the issuing CA, server and client (and not the root)"
# The issuing CA signs what pki issue makes; revoking it at the root fails every leaf.
expect "issue from the issuing CA" "$rekey" pki issue --ca-cert two/ca.crt --ca-key two/ca.key \
	--profile server --subject /CN=under.example --cert-out under.crt --key-out under.key
expect "its leaf verifies up to the root" openssl verify -CAfile two/root.crt \
	-untrusted two/ca.crt under.crt
cp -a two two-revoked
expect "revoke the issuing CA at the root" "$rekey" pki revoke --ca-cert two-revoked/root.crt \
	--ca-key two-revoked/root.key --crl two-revoked/root.crl --cert two-revoked/ca.crt
refuse "a leaf under a revoked issuing CA" "certificate revoked" openssl verify -crl_check_all \
	-CAfile two-revoked/root.crt -CRLfile two-revoked/root.crl -CRLfile two-revoked/ca.crl \
	-untrusted two-revoked/ca.crt two-revoked/server.crt
"$rekey" pki init --intermediate default-names >/dev/null
[ "$(subject_of default-names/root.crt)" = "/O=rekey/CN=rekey development root CA" ] &&
	[ "$(subject_of default-names/ca.crt)" = "/O=rekey/CN=rekey development CA" ] && ok ||
	bad "the default names of the root and the issuing CA"
refuse "--root-cn without --intermediate" "--root-cn names the root of --intermediate" \
	"$rekey" pki init --root-cn x lonely
refuse "one name for the root and the issuing CA" "need different names" "$rekey" pki init \
	--intermediate --root-cn same --ca-cn same samename
[ ! -e lonely ] && [ ! -e samename ] && ok || bad "a refused init made its folder"
"$rekey" pki init --help | grep -q -- "--intermediate" && ok || bad "init --help"

# inspect: how the certificates of a file link in its order, and where the last one's chain
# goes, in this file or in another given; openssl verify agrees with each verdict.
link_is() {	# link_is DESCRIPTION LINK TEXT: inspect's last output says TEXT for LINK
	if grep -qxF -- "  $(printf '%-11s' "$2") $3" "$tmp/out"; then ok
	else bad "$1: no '$2: $3' in:"; sed 's/^/    /' "$tmp/out"
	fi
}
nth_cert two/server.crt 1 >leaf.crt
expect "inspect a server's bundle" "$rekey" pki inspect two/server.crt
grep -qx "two/server.crt: certificate 1 of 2" "$tmp/out" &&
	grep -qx "two/server.crt: certificate 2 of 2" "$tmp/out" && ok || bad "bundle places"
link_is "leaf then issuing CA" "link 1-2" \
	"certificate 1 is issued by certificate 2, a CA (pathlen 0)"
link_is "bundle without the root" top \
	"certificate 2's issuer \"/O=rekey/CN=test root CA\" is not in this file"
expect "openssl: the bundle is the leaf's path to the root" openssl verify -x509_strict \
	-CAfile two/root.crt -untrusted two/server.crt two/server.crt
expect "inspect a bundle and its chain" "$rekey" pki inspect two/server.crt two/chain.crt
link_is "the chain goes on in the next file" top \
	"certificate 2 is issued by certificate 1 of two/chain.crt, a CA"
link_is "the chain file ends at the root" top "certificate 1 is self-signed: a root CA"
{ cat two/ca.crt; cat leaf.crt; } >reversed.crt
expect "inspect a reversed bundle" "$rekey" pki inspect reversed.crt
link_is "reversed order" "link 1-2" "certificate 1 is not issued by certificate 2; certificate 2 is issued by certificate 1: the order is reversed, the leaf goes first"
link_is "reversed order's top" top \
	"certificate 2 is issued by certificate 1 of this file, which should come after it"
cat two/root.crt two/ca.crt >reversed-cas.crt
expect "inspect a reversed chain of CAs" "$rekey" pki inspect reversed-cas.crt
link_is "reversed CAs" "link 1-2" "certificate 1 is not issued by certificate 2; certificate 2 is issued by certificate 1: the order is reversed, each certificate goes before its issuer"
# The issuing CA's name with another key: what a second init makes, easy to mix up.
"$rekey" pki init --intermediate --ca-cn "test issuing CA" --root-cn "test root CA" twin \
	>/dev/null
{ cat leaf.crt; cat twin/ca.crt; } >wrong-key.crt
expect "inspect a bundle whose CA did not sign the leaf" "$rekey" pki inspect wrong-key.crt
link_is "another key of the issuer's name" "link 1-2" "certificate 1 names certificate 2 as its issuer, but certificate 2's key does not verify its signature: another key of that name signed it"
refuse "openssl: the twin CA did not sign the leaf" "unable to get local issuer certificate" \
	openssl verify -partial_chain -CAfile twin/ca.crt leaf.crt
expect "openssl: the issuing CA did" openssl verify -partial_chain -CAfile two/ca.crt leaf.crt
"$rekey" pki init --ca-cn "stranger CA" stranger >/dev/null
{ cat leaf.crt; cat stranger/ca.crt; } >stranger.crt
expect "inspect a bundle with an unrelated CA" "$rekey" pki inspect stranger.crt
link_is "an unrelated CA" "link 1-2" "certificate 1 is not issued by certificate 2: its issuer \"/O=rekey/CN=test issuing CA\" is not in this file, and certificate 2 is \"/O=rekey/CN=stranger CA\""
link_is "an unrelated root on top" top "certificate 2 is self-signed: a root CA"
# A leaf alone: its issuer is missing, unless another file given holds it.
expect "inspect a leaf alone" "$rekey" pki inspect leaf.crt
link_is "a leaf alone" top \
	"certificate 1's issuer \"/O=rekey/CN=test issuing CA\" is not in this file"
expect "inspect a leaf and another CA" "$rekey" pki inspect leaf.crt stranger/ca.crt
link_is "a leaf and another CA" top "certificate 1's issuer \"/O=rekey/CN=test issuing CA\" is not in this file nor in the others given"
expect "inspect a leaf and its CA" "$rekey" pki inspect leaf.crt twin/ca.crt two/server.crt
link_is "a leaf and its CA, the twin passed over" top \
	"certificate 1 is issued by certificate 2 of two/server.crt, a CA"
# A CA under the pathlen:0 issuing CA (openssl makes it: rekey never would), and a leaf of it.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sub.key \
	-subj "/CN=sub CA" -out sub.csr 2>/dev/null
chmod 600 sub.key
printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
	"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >sub.ext
openssl x509 -req -in sub.csr -CA two/ca.crt -CAkey two/ca.key -set_serial 0x5AB -days 2 \
	-extfile sub.ext -out sub.crt 2>/dev/null
expect "issue under the sub CA" "$rekey" pki issue --ca-cert sub.crt --ca-key sub.key \
	--ledger sub-ledger.json --profile server --subject /CN=deep.example --cert-out deep.crt \
	--key-out deep.key
cat deep.crt sub.crt two/ca.crt >deep-bundle.crt
expect "inspect a bundle that breaks a pathlen" "$rekey" pki inspect deep-bundle.crt
link_is "the leaf of the sub CA" "link 1-2" "certificate 1 is issued by certificate 2, a CA"
link_is "a CA under pathlen 0" "link 2-3" "certificate 2 is issued by certificate 3, but certificate 3's pathlen 0 allows 0 CAs under it and this file puts 1 there"
refuse "openssl: the pathlen is broken" "path length constraint exceeded" openssl verify \
	-CAfile two/root.crt -untrusted deep-bundle.crt deep.crt
# The same in JSON, where the chain is a member of each file's object.
"$rekey" pki inspect --json reversed.crt two/server.crt two/chain.crt leaf.crt >chain.json
python3 "$shape" inspect <chain.json >"$tmp/out" 2>&1 && ok ||
	{ bad "inspect --json chains are not the shape"; cat "$tmp/out"; }
python3 - chain.json >"$tmp/out" 2>&1 <<'PY' && ok || { bad "inspect --json chains"; cat "$tmp/out"; }
import json, sys
rev, server, chain, leaf = (d["chain"] for d in json.load(open(sys.argv[1])))
assert not rev["ok"] and rev["links"][0]["reversed"] and not rev["links"][0]["ok"], rev
assert rev["top"]["issuer_found"] == {"file": "reversed.crt", "certificate": 1, "ca": True}
assert server["ok"] and server["links"][0]["issued"], server
assert server["links"][0]["issuer_path_len"] == 0, server
assert server["top"]["issuer_found"] == {"file": "two/chain.crt", "certificate": 1, "ca": True}
assert chain["top"]["self_signed"] and chain["top"]["issuer_found"] is None, chain
# A lone leaf's issuer is looked for in the other files in the order given: reversed.crt
# holds it first (as certificate 1), two/server.crt too (as certificate 2).
assert leaf["links"] == [] and leaf["ok"], leaf
assert leaf["top"]["issuer_found"] == {"file": "reversed.crt", "certificate": 1, "ca": True}
assert leaf["top"]["issuer"] == "/O=rekey/CN=test issuing CA", leaf
PY
"$rekey" pki inspect --help | grep -q "how they link" && ok || bad "inspect --help"

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
	want_end=$(rfc3339 "$(openssl x509 -in "$key.crt" -noout -enddate | cut -d= -f2)")
	[ "$(json '["not_after"]' <inspect.json)" = "$want_end" ] && ok || bad "$key notAfter"
	want_start=$(rfc3339 "$(openssl x509 -in "$key.crt" -noout -startdate | cut -d= -f2)")
	[ "$(json '["not_before"]' <inspect.json)" = "$want_start" ] && ok ||
		bad "$key notBefore"
	python3 "$shape" inspect <inspect.json >"$tmp/out" 2>&1 && ok ||
		{ bad "$key: inspect --json is not the certificate shape"; cat "$tmp/out"; }
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
# By CN, the newest certificate of the name is spared: rsa-4096.example has only that one.
refuse "revoke by CN spares the newest" "include-current" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --cn rsa-4096.example
expect "revoke by CN with --include-current" "$rekey" pki revoke --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --cn rsa-4096.example --include-current
grep -q "^revoked $(openssl x509 -in rsa-4096.crt -noout -serial | cut -d= -f2 |
	sed 's/../&:/g; s/:$//') (--cn rsa-4096.example)$" "$tmp/out" && ok ||
	{ bad "revoke by CN does not print the serial"; cat "$tmp/out"; }
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
refuse "the CA's own certificate, as --folder skips it" "is the CA's own certificate" \
	"$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key --cert dev/ca.crt

# A certificate that outlives its CA is issued, with a note of the day clients refuse it.
mkdir short
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=short-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-days 20 -keyout short/ca.key -out short/ca.crt 2>/dev/null
chmod 600 short/ca.key
expect "a leaf outliving its CA is issued" "$rekey" pki issue --ca-cert short/ca.crt \
	--ca-key short/ca.key --profile server --subject /CN=long --days 365 \
	--cert-out short/long.crt --key-out short/long.key
grep -q "note: the CA ends before this certificate, on $(date -u -d "$(openssl x509 -in \
	short/ca.crt -noout -enddate | cut -d= -f2)" +%Y-%m-%d)" "$tmp/out" && ok ||
	{ bad "no note that the CA ends first"; cat "$tmp/out"; }
expect "one inside its CA's life has no note" "$rekey" pki issue --ca-cert short/ca.crt \
	--ca-key short/ca.key --profile server --subject /CN=brief --days 10 \
	--cert-out short/brief.crt --key-out short/brief.key
! grep -q "note:" "$tmp/out" && ok || { bad "a note for a leaf inside its CA"; cat "$tmp/out"; }
refuse "CRL of another CA is not replaced" "not signed by this CA" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --crl other/ca.crl --serial 01
[ "$(openssl crl -in dev/ca.crl -noout -text | grep -c 'Serial Number:')" = 5 ] && ok ||
	bad "a failed revoke changed the CRL"
# --renew signs the CRL again with nothing added: the same five entries, the next number, the
# nextUpdate asked for, still trusted by openssl and still refusing what it refused.
number=$(openssl crl -in dev/ca.crl -noout -crlnumber | cut -d= -f2)
expect "revoke --renew" "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key --renew \
	--crl-days 45
[ "$(openssl crl -in dev/ca.crl -noout -text | grep -c 'Serial Number:')" = 5 ] && ok ||
	bad "--renew changed the CRL's entries"
[ $((16#$(openssl crl -in dev/ca.crl -noout -crlnumber | cut -d= -f2 | sed 's/^0x//'))) = \
	$((16#${number#0x} + 1)) ] && ok || bad "--renew did not take the next CRL number"
next=$(date -d "$(openssl crl -in dev/ca.crl -noout -nextupdate | cut -d= -f2)" +%s)
(((next - $(date +%s)) / 86400 >= 44)) && ok || bad "--renew: nextUpdate is not 45 days out"
refuse "rsa-2048 still revoked after --renew" "certificate revoked" openssl verify \
	-CAfile dev/ca.crt -crl_check -CRLfile dev/ca.crl rsa-2048.crt
refuse "revoke with nothing to revoke and no --renew" "or --renew" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key

# A certificate block with Proc-Type headers never makes OpenSSL ask for a passphrase (its
# default callback reads the terminal, or stdin): rekey's loaders answer for it.
awk 'NR == 1 { print; print "Proc-Type: 4,ENCRYPTED"
	print "DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF"; print ""; next } { print }' \
	dev/server.crt >proc-type.crt
timeout 10 "$rekey" pki inspect proc-type.crt </dev/null >"$tmp/out" 2>&1 || true
! grep -q "pass phrase" "$tmp/out" && ok ||
	{ bad "a Proc-Type certificate block made OpenSSL ask for a passphrase"; cat "$tmp/out"; }
timeout 10 "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key --cert proc-type.crt \
	</dev/null >"$tmp/out" 2>&1 || true
! grep -q "pass phrase" "$tmp/out" && ok ||
	{ bad "revoke --cert of a Proc-Type block asked for a passphrase"; cat "$tmp/out"; }

# inspect refuses what is none of its types, and oversize input.
echo hello >plain.txt
refuse "inspect junk" "not a certificate, CRL or private key" "$rekey" pki inspect plain.txt
head -c 1000001 /dev/zero >huge.crt
refuse "inspect oversize" "over the limit" "$rekey" pki inspect huge.crt

# revoke --cn with an older and a newer certificate of one name: only the older is revoked,
# its serial printed; the newer is named as kept.
for n in 1 2; do
	"$rekey" pki issue --ca-cert dev/ca.crt --ca-key dev/ca.key --profile server \
		--subject /CN=twice.example --cert-out "twice$n.crt" --key-out "twice$n.key" >/dev/null
done
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | sed 's/../&:/g; s/:$//'; }
expect "revoke by CN, older only" "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--cn twice.example
grep -q "^revoked $(serial_of twice1.crt) (--cn twice.example)$" "$tmp/out" && ok ||
	{ bad "the older certificate's serial is not printed"; cat "$tmp/out"; }
grep -q "kept serial $(serial_of twice2.crt), the newest certificate for CN twice.example" \
	"$tmp/out" && ok || { bad "the kept newest certificate is not named"; cat "$tmp/out"; }
refuse "older of the name revoked" "certificate revoked" openssl verify -CAfile dev/ca.crt \
	-crl_check -CRLfile dev/ca.crl twice1.crt
expect "newest of the name still valid" openssl verify -CAfile dev/ca.crt -crl_check \
	-CRLfile dev/ca.crl twice2.crt
expect "revoke by serial prints it" "$rekey" pki revoke --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --serial "$(serial_of twice1.crt)"
grep -q "^already revoked $(serial_of twice1.crt) (--serial)$" "$tmp/out" && ok ||
	{ bad "a serial revoked before is not reported as such"; cat "$tmp/out"; }

# Each subcommand has its own help; a near-miss reason is matched to what it means, by pki
# revoke and by the playbook's reason: alike.
for sub in inspect init issue revoke; do
	if out=$("$rekey" pki "$sub" --help) && [ "$(head -1 <<<"$out" | cut -d' ' -f1-4)" = \
		"usage: rekey pki $sub" ]; then ok; else bad "pki $sub --help: $out"; fi
done
refuse "--reason compromised" "did you mean 'keyCompromise'" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --serial 01 --reason compromised
refuse "--reason ca compromised" "did you mean 'cACompromise'" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --serial 01 --reason "CA compromised"
printf 'version: 1\nincident:\n  reason: compromised\nca:\n  cert: dev/ca.crt\n  key: dev/ca.key\n' \
	>reason.yml
refuse "playbook reason: compromised" "reason: unsupported value 'compromised' (did you mean 'keyCompromise'?)" \
	"$rekey" plan reason.yml

# An encrypted key without its passphrase is named for what it is.
"$rekey" pki inspect enc.key >"$tmp/out" 2>&1
grep -q "key         encrypted PKCS#8 (its type shows with" "$tmp/out" && ok ||
	{ bad "encrypted key without passphrase"; cat "$tmp/out"; }
"$rekey" pki inspect --passphrase-env RK_TEST_PASS enc.key >"$tmp/out" 2>&1
grep -q "key         EC P-256 (encrypted PKCS#8)" "$tmp/out" && ok ||
	{ bad "encrypted key with passphrase"; cat "$tmp/out"; }

# FIFOs where files are expected: each is refused at once, named, never waited on.
mkfifo fifo fifo.crt fifo.yml
prompt "inspect FIFO" "fifo: not a regular file (it is a FIFO)" "$rekey" pki inspect fifo
prompt "plan FIFO" "not a regular file (it is a FIFO)" "$rekey" plan fifo.yml
prompt "verify FIFO" "not a regular file (it is a FIFO)" "$rekey" verify fifo.yml
issue_args=(--profile server --subject /CN=f --cert-out f.crt --key-out f.key)
prompt "issue --ca-cert FIFO" "it is a FIFO" "$rekey" pki issue --ca-cert fifo \
	--ca-key dev/ca.key "${issue_args[@]}"
prompt "issue --ca-key FIFO" "it is a FIFO" "$rekey" pki issue --ca-cert dev/ca.crt \
	--ca-key fifo "${issue_args[@]}"
prompt "issue --ledger FIFO" "it is a FIFO" "$rekey" pki issue --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --ledger fifo "${issue_args[@]}"
prompt "issue --ca-passphrase-file FIFO" "it is a FIFO" "$rekey" pki issue \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --ca-passphrase-file fifo "${issue_args[@]}"
prompt "issue --key-passphrase-file FIFO" "it is a FIFO" "$rekey" pki issue \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --key-passphrase-file fifo "${issue_args[@]}"
prompt "inspect --passphrase-file FIFO" "it is a FIFO" "$rekey" pki inspect \
	--passphrase-file fifo enc.key
[ ! -e f.crt ] && [ ! -e f.key ] && ok || bad "a refused issue left files"
prompt "revoke --crl FIFO" "it is a FIFO" "$rekey" pki revoke --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --crl fifo --serial 01
prompt "revoke --cert FIFO" "it is a FIFO" "$rekey" pki revoke --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --cert fifo.crt
prompt "revoke --ledger FIFO" "it is a FIFO" "$rekey" pki revoke --ca-cert dev/ca.crt \
	--ca-key dev/ca.key --ledger fifo --cn twice.example
mkdir fifo-folder
cp rsa-3072.crt fifo-folder/
mkfifo fifo-folder/planted.crt
status=0
timeout 10 "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key --folder fifo-folder \
	>"$tmp/out" 2>&1 </dev/null || status=$?
[ "$status" = 0 ] && ok || { bad "revoke --folder with a FIFO: exit $status"; cat "$tmp/out"; }
grep -q "skipped fifo-folder/planted.crt: not a regular file (it is a FIFO)" "$tmp/out" &&
	grep -q "^revoked $(serial_of rsa-3072.crt) (fifo-folder/rsa-3072.crt)$" "$tmp/out" && ok ||
	{ bad "revoke --folder: the FIFO not named or the certificate not revoked"; cat "$tmp/out"; }

# Keys and passphrase files that others can read, or that another user owns, are refused
# when signing, as plan refuses them.
cp -p dev/ca.key open.key
chmod 0644 open.key
refuse "issue with a 0644 CA key" "open.key is readable by group or others (mode 0644)" \
	"$rekey" pki issue --ca-cert dev/ca.crt --ca-key open.key "${issue_args[@]}"
refuse "revoke with a 0644 CA key" "open.key is readable by group or others (mode 0644)" \
	"$rekey" pki revoke --ca-cert dev/ca.crt --ca-key open.key --serial 01
chmod 0604 open.key
refuse "a CA key others may read" "readable by group or others (mode 0604)" \
	"$rekey" pki revoke --ca-cert dev/ca.crt --ca-key open.key --serial 01
printf 'pass\n' >open.pass
chmod 0644 open.pass
refuse "issue with a 0644 CA passphrase file" "open.pass is readable by group or others" \
	"$rekey" pki issue --ca-cert dev/ca.crt --ca-key dev/ca.key --ca-passphrase-file open.pass \
	"${issue_args[@]}"
refuse "revoke with a 0644 CA passphrase file" "open.pass is readable by group or others" \
	"$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key --ca-passphrase-file open.pass \
	--serial 01
refuse "issue with a 0644 key passphrase file" "open.pass is readable by group or others" \
	"$rekey" pki issue --ca-cert dev/ca.crt --ca-key dev/ca.key --key-passphrase-file open.pass \
	"${issue_args[@]}"
if [ "$(id -u)" = 0 ]; then
	cp -p dev/ca.key other.key
	chown nobody other.key
	refuse "a CA key another user owns" "other.key is owned by uid $(id -u nobody)" \
		"$rekey" pki issue --ca-cert dev/ca.crt --ca-key other.key "${issue_args[@]}"
fi
[ ! -e f.crt ] && [ ! -e f.key ] && ok || bad "a refused issue left files"

# Rewritten files keep their mode, owner and group; a symlinked CRL is refused, not replaced.
chmod 0600 dev/ledger.json dev/ca.crl
if [ "$(id -u)" = 0 ]; then chgrp daemon dev/ledger.json dev/ca.crl; fi
ledger_was=$(stat -c '%a %U:%G' dev/ledger.json) crl_was=$(stat -c '%a %U:%G' dev/ca.crl)
expect "issue rewrites the ledger" "$rekey" pki issue --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--profile client --subject /CN=modes --cert-out modes.crt --key-out modes.key
[ "$(stat -c '%a %U:%G' dev/ledger.json)" = "$ledger_was" ] && ok ||
	bad "ledger.json became $(stat -c '%a %U:%G' dev/ledger.json), was $ledger_was"
expect "revoke rewrites the CRL" "$rekey" pki revoke --ca-cert dev/ca.crt --ca-key dev/ca.key \
	--cert modes.crt
[ "$(stat -c '%a %U:%G' dev/ca.crl)" = "$crl_was" ] && ok ||
	bad "ca.crl became $(stat -c '%a %U:%G' dev/ca.crl), was $crl_was"
ln -s dev/ca.crl linked.crl
refuse "a symlinked CRL" "linked.crl is a symbolic link" "$rekey" pki revoke \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --crl linked.crl --serial 01
[ -L linked.crl ] && ok || bad "the CRL symlink was replaced"

# All or nothing: a certificate that cannot be written leaves no key, no temporary file, and
# nothing in the ledger; init leaves no file when one of its files cannot be written.
count_ledger() { python3 -c 'import json; print(len(json.load(open("dev/ledger.json"))["certificates"]))'; }
entries=$(count_ledger)
echo taken >taken.crt
refuse "issue onto an existing certificate" "taken.crt: File exists" "$rekey" pki issue \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --profile server --subject /CN=x \
	--cert-out taken.crt --key-out taken.key
[ ! -e taken.key ] && [ "$(cat taken.crt)" = taken ] && ok || bad "issue left the key or replaced the certificate"
refuse "issue into a missing folder" "no-such-folder/x.crt" "$rekey" pki issue \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --profile server --subject /CN=x \
	--cert-out no-such-folder/x.crt --key-out lost.key
[ ! -e lost.key ] && ok || bad "issue left the key of a certificate it could not write"
echo taken >taken.key
refuse "issue onto an existing key" "taken.key: File exists" "$rekey" pki issue \
	--ca-cert dev/ca.crt --ca-key dev/ca.key --profile server --subject /CN=x \
	--cert-out new.crt --key-out taken.key
[ ! -e new.crt ] && ok || bad "issue left a certificate without its key"
[ "$(count_ledger)" = "$entries" ] && ok || bad "a failed issue changed the ledger"
mkdir blocked
echo '{}' >blocked/ledger.json
refuse "init into a folder with a ledger.json" "blocked is not empty" "$rekey" pki init blocked
[ "$(ls blocked)" = ledger.json ] && [ "$(cat blocked/ledger.json)" = '{}' ] && ok ||
	bad "init wrote into a folder it refused: $(ls blocked)"
if compgen -G "*.rekey-*" >/dev/null || compgen -G "dev/*.rekey-*" >/dev/null ||
	compgen -G "blocked/*.rekey-*" >/dev/null; then
	bad "temporary files left behind"; else ok; fi

# Terminal escapes in a certificate (ESC, BEL, U+202E in its SANs) are shown escaped as text,
# and stay themselves in JSON.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout esc.key \
	-out esc.crt -days 2 -subj /CN=escapes \
	-addext "subjectAltName=DNS:a$(printf '\033]0;pwned\007')b.example,DNS:$(printf '\342\200\256')evil.example" \
	2>/dev/null
"$rekey" pki inspect esc.crt >esc.out 2>&1
if LC_ALL=C grep -q "$(printf '[\033\007]')" esc.out || grep -q "$(printf '\342\200\256')" esc.out; then
	bad "inspect wrote a raw escape or bidi override to the terminal"; else ok; fi
grep -qF 'DNS:a\x1b]0;pwned\x07b.example' esc.out && grep -qF 'DNS:\u202eevil.example' esc.out &&
	ok || { bad "escaped SANs not shown"; cat esc.out; }
"$rekey" pki inspect --json esc.crt >esc.json
[ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["san"] == ["DNS:a\x1b]0;pwned\x07b.example", "DNS:\u202eevil.example"])' <esc.json)" = True ] &&
	ok || { bad "inspect --json SANs"; cat esc.json; }

echo "pki cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
