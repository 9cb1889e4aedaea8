#!/usr/bin/env bash
# rekey verify on the harness's real PostgreSQL and MariaDB (run under with-servers.sh --pg
# --mariadb): a healthy estate passes with the served fingerprints reported; a revoked server
# certificate and a server that is down each fail with exit 1 and the cause named; servers
# that trickle bytes or never answer fail at the host's timeout while the real ones pass.
set -euo pipefail

rekey=$(realpath "${1:?usage: verify_cli.sh REKEY}")
trickle_server=$(dirname "$(realpath "$0")")/trickle_server.py
: "${RK_H_PG_PORT:?run under with-servers.sh --pg --mariadb}" "${RK_H_MY_PORT:?}"
tmp=$(mktemp -d)
tricklers=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	local pid
	for pid in "${tricklers[@]}"; do
		kill "$pid" 2>/dev/null || true	# ours, by pid
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# A verify-only playbook: the CA clients trust, its CRL, the two services.
cp "$RK_H_CA" "$tmp/ca.crt"
cp "$RK_H_CA_KEY" "$tmp/ca.key"
chmod 600 "$tmp/ca.key"
cp "$RK_H_CA_CRL" "$tmp/ca.crl"
install -m 0600 "$RK_H_PG_PASSWORD_FILE" "$tmp/pg.pass"
install -m 0600 "$RK_H_MY_PASSWORD_FILE" "$tmp/my.pass"
write_playbook() {	# write_playbook PG_PORT
	cat >"$tmp/verify.yml" <<YML
version: 1
ca: {cert: ca.crt, key: ca.key, crl: ca.crl}
hosts:
  db: {transport: local}
services:
  - name: pg
    host: db
    kind: postgresql
    reload: none
    connect: {address: 127.0.0.1, port: $1, user: $RK_H_PG_USER, password_file: pg.pass}
  - name: my
    host: db
    kind: mariadb
    reload: none
    connect: {address: 127.0.0.1, port: $RK_H_MY_PORT, user: $RK_H_MY_USER, password_file: my.pass}
YML
}
write_playbook "$RK_H_PG_PORT"

status=0
"$rekey" verify "$tmp/verify.yml" >"$tmp/out" 2>&1 || status=$?
[ "$status" = 0 ] && ok || { bad "healthy estate: exit $status"; cat "$tmp/out"; }
grep -q "TLS older than TLSv1.2 refused" "$tmp/out" && ok || bad "no older-TLS check in the table"
[ "$(grep -c "login as rekey verified; plaintext refused" "$tmp/out")" = 2 ] && ok ||
	{ bad "logins and plaintext refusal not shown for both"; cat "$tmp/out"; }
"$rekey" verify --json "$tmp/verify.yml" >"$tmp/out.json"
py() { python3 -c "import json,sys; d=json.load(open('$tmp/out.json')); print($1)"; }
[ "$(py 'd["ok"]')" = True ] && ok || bad "JSON ok is not true"
[ "$(py 'd["services"][0]["certificate"]["sha256"]')" = "$(fp "$RK_H_PG_SERVER_CERT")" ] &&
	ok || bad "PostgreSQL fingerprint differs from the served file"
[ "$(py 'd["services"][1]["certificate"]["sha256"]')" = "$(fp "$RK_H_MY_SERVER_CERT")" ] &&
	ok || bad "MariaDB fingerprint differs from the served file"
[ "$(py 'd["services"][0]["checks"]["older_tls_refused"]')" = True ] && ok ||
	bad "older TLS not proven refused"
[ "$(py 'd["services"][1]["checks"]["plaintext_refused"]')" = True ] && ok ||
	bad "plaintext not proven refused"
[ "$(py 'd["services"][0]["login"]["protocol"]')" = "$(py 'd["services"][0]["tls"]["protocol"]')" ] &&
	ok || bad "the login's TLS version differs from the probe's"
# The served certificate has the shape pki inspect --json gives a certificate (README).
python3 "$(dirname -- "$(realpath -- "$0")")/../pki/cert_shape.py" verify <"$tmp/out.json" \
	>"$tmp/shape.out" 2>&1 && ok || { bad "verify --json certificate shape"; cat "$tmp/shape.out"; }
# notBefore and the key come from the served leaf, as openssl reads the file it was made of.
want_nb=$(date -u -d "$(openssl x509 -in "$RK_H_PG_SERVER_CERT" -noout -startdate | cut -d= -f2)" \
	+%Y-%m-%dT%H:%M:%SZ)
[ "$(py 'd["services"][0]["certificate"]["not_before"]')" = "$want_nb" ] && ok ||
	bad "verify --json not_before differs from openssl's"
[ "$(py 'd["services"][0]["certificate"]["ca"]')" = False ] && ok || bad "served leaf said a CA"
want_san=$(openssl x509 -in "$RK_H_PG_SERVER_CERT" -noout -ext subjectAltName | tail -n +2 |
	sed 's/^ *//; s/IP Address:/IP:/g')
[ "$(py '", ".join(d["services"][0]["certificate"]["san"])')" = "$want_san" ] &&
	ok || bad "SANs: $(py 'd["services"][0]["certificate"]["san"]'), want $want_san"
want_end=$(date -u -d "$(openssl x509 -in "$RK_H_PG_SERVER_CERT" -noout -enddate | cut -d= -f2)" \
	+%Y-%m-%dT%H:%M:%SZ)
[ "$(py 'd["services"][0]["certificate"]["not_after"]')" = "$want_end" ] && ok ||
	bad "notAfter is not the served certificate's, in RFC 3339"

# A wrong password: the login fails, named, and the password is not printed.
printf 'not-the-password' >"$tmp/pg.pass"
status=0
"$rekey" verify "$tmp/verify.yml" >"$tmp/out" 2>&1 || status=$?
[ "$status" = 1 ] && ok || bad "wrong password: exit $status, want 1"
grep -q "login as rekey: .*password authentication failed" "$tmp/out" && ok ||
	{ bad "the failed login is not named"; cat "$tmp/out"; }
grep -q "not-the-password" "$tmp/out" && bad "the password was printed" || ok
install -m 0600 "$RK_H_PG_PASSWORD_FILE" "$tmp/pg.pass"

# The servers' certificate revoked in the CRL clients check: both fail, and say why.
"$rekey" pki revoke --ca-cert "$tmp/ca.crt" --ca-key "$tmp/ca.key" --crl "$tmp/ca.crl" \
	--ledger "$tmp/ledger.json" --cert "$RK_H_PG_SERVER_CERT" >/dev/null
status=0
"$rekey" verify "$tmp/verify.yml" >"$tmp/out" 2>&1 || status=$?
[ "$status" = 1 ] && ok || bad "revoked: exit $status, want 1"
[ "$(grep -c 'chain: certificate revoked' "$tmp/out")" = 2 ] && ok ||
	{ bad "revocation not named for both"; cat "$tmp/out"; }

# A server that is down: exit 1, the other service still checked.
cp "$RK_H_CA_CRL" "$tmp/ca.crl"
write_playbook 1
status=0
"$rekey" verify "$tmp/verify.yml" >"$tmp/out" 2>&1 || status=$?
[ "$status" = 1 ] && ok || bad "server down: exit $status, want 1"
grep -q "pg: 127.0.0.1:1: connect: Connection refused" "$tmp/out" && ok ||
	{ bad "the refused connection is not named"; cat "$tmp/out"; }
grep -qE "^my .* ok$" "$tmp/out" && ok || bad "the healthy service was not reported ok"

# Servers that answer a byte a second (PostgreSQL: S, then a TLS record of 16384 bytes;
# MySQL: the greeting) or never: each fails at its host's timeout of 2 s, saying what timed
# out, and the real services in the same run still pass. With per-read timeouts alone the
# tricklers kept verify busy for minutes.
start_trickler() {	# start_trickler MODE: its port in $port once it listens
	local file=$tmp/$1.port i
	python3 "$trickle_server" "$1" "$file" </dev/null >/dev/null &
	tricklers+=("$!")
	for ((i = 0; i < 500; i++)); do
		[ -s "$file" ] && { port=$(cat "$file"); return; }
		sleep 0.02
	done
	echo "trickle server $1 did not start" >&2
	return 1
}
start_trickler pg-tls && pg_trickle=$port
start_trickler mysql-greeting && my_trickle=$port
start_trickler silent && silent=$port
write_playbook "$RK_H_PG_PORT"
cat >>"$tmp/verify.yml" <<YML
  - {name: pg-trickle, host: slow, kind: postgresql, reload: none, connect: {address: 127.0.0.1, port: $pg_trickle, user: rekey, password_file: pg.pass}}
  - {name: my-trickle, host: slow, kind: mariadb, reload: none, connect: {address: 127.0.0.1, port: $my_trickle, user: rekey, password_file: my.pass}}
  - {name: pg-silent, host: slow, kind: postgresql, reload: none, connect: {address: 127.0.0.1, port: $silent}}
YML
sed -i 's/^  db: {transport: local}$/&\n  slow: {transport: local, timeout: 2}/' "$tmp/verify.yml"
status=0
started=$(date +%s%N)
"$rekey" verify "$tmp/verify.yml" >"$tmp/out" 2>&1 || status=$?
took_ms=$((($(date +%s%N) - started) / 1000000))
[ "$status" = 1 ] && ok || { bad "trickling servers: exit $status, want 1"; cat "$tmp/out"; }
[ "$took_ms" -lt 6000 ] && ok || bad "trickling servers: verify took $took_ms ms, timeout 2 s"
grep -q "pg-trickle: 127.0.0.1:$pg_trickle: TLS handshake: no answer within 2 s" "$tmp/out" &&
	ok || { bad "the PostgreSQL trickle is not named"; cat "$tmp/out"; }
grep -q "my-trickle: 127.0.0.1:$my_trickle: MySQL greeting: no answer within 2 s" "$tmp/out" &&
	ok || { bad "the MySQL trickle is not named"; cat "$tmp/out"; }
grep -q "pg-silent: 127.0.0.1:$silent: SSLRequest: no answer within 2 s" "$tmp/out" &&
	ok || { bad "the silent server is not named"; cat "$tmp/out"; }
grep -qE "^pg .* ok$" "$tmp/out" && grep -qE "^my .* ok$" "$tmp/out" && ok ||
	{ bad "the real services were not verified ok beside the tricklers"; cat "$tmp/out"; }
[ "$(grep -c "login as rekey verified; plaintext refused" "$tmp/out")" = 2 ] && ok ||
	{ bad "the real services' logins were not all checked"; cat "$tmp/out"; }

echo "verify: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
