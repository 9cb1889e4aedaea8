#!/usr/bin/env bash
# What `rekey verify` says when something is wrong, on the harness's real PostgreSQL and
# MariaDB (run under with-servers.sh --pg --mariadb): a server on another CA is named as such
# with both issuers, an unset password variable is named, a failed login is said once (not
# "pg: pg 127.0.0.1:...: login as ..."), and verify-ca is not said to have checked the name.
set -euo pipefail

rekey=$(realpath "${1:?usage: verify_messages.sh REKEY}")
: "${RK_H_PG_PORT:?run under with-servers.sh --pg --mariadb}" "${RK_H_MY_PORT:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt compat | sed 's/^subject=//'; }

cp "$RK_H_CA" "$tmp/ca.crt"
cp "$RK_H_CA_KEY" "$tmp/ca.key"
chmod 600 "$tmp/ca.key"
install -m 0600 "$RK_H_PG_PASSWORD_FILE" "$tmp/pg.pass"
install -m 0600 "$RK_H_MY_PASSWORD_FILE" "$tmp/my.pass"
# Another CA, which signed neither server.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/O=Elsewhere/CN=other-ca" -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$tmp/other.key" -out "$tmp/other.crt" 2>/dev/null
chmod 600 "$tmp/other.key"

write_playbook() {	# write_playbook CA_BASENAME PG_PASSWORD_KEY MY_SSLMODE
	cat >"$tmp/verify.yml" <<YML
version: 1
ca: {cert: $1.crt, key: $1.key}
hosts:
  db: {transport: local}
services:
  - name: pg
    host: db
    kind: postgresql
    reload: none
    connect: {address: 127.0.0.1, port: $RK_H_PG_PORT, user: $RK_H_PG_USER, $2}
  - name: my
    host: db
    kind: mariadb
    reload: none
    connect: {address: 127.0.0.1, port: $RK_H_MY_PORT, user: $RK_H_MY_USER, password_file: my.pass}
    verify: {sslmode: $3}
YML
}
run_verify() {
	status=0
	"$rekey" verify "$tmp/verify.yml" >"$tmp/out" 2>&1 || status=$?
}

# A server on another CA: the message names both issuers, not OpenSSL's "self-signed ...".
write_playbook other "password_file: pg.pass" verify-full
run_verify
[ "$status" = 1 ] && ok || bad "other CA: exit $status, want 1"
want="not issued by ca.cert (served: issuer $(subject "$RK_H_CA"); expected /O=Elsewhere/CN=other-ca)"
[ "$(grep -cF -- "$want" "$tmp/out")" = 2 ] && ok ||
	{ bad "other CA not named for both services: want '$want'"; cat "$tmp/out"; }
grep -q "self-signed certificate" "$tmp/out" && bad "OpenSSL's self-signed wording shown" || ok

# An unset password variable is named as such.
unset REKEY_VERIFY_NEVER_SET
write_playbook ca "password_env: REKEY_VERIFY_NEVER_SET" verify-full
run_verify
[ "$status" = 1 ] && ok || bad "unset variable: exit $status, want 1"
grep -qF "  pg: login as $RK_H_PG_USER: environment variable REKEY_VERIFY_NEVER_SET is not set" \
	"$tmp/out" && ok || { bad "the unset variable is not named"; cat "$tmp/out"; }
grep -q "warning: .*environment variable REKEY_VERIFY_NEVER_SET is not set" "$tmp/out" && ok ||
	bad "the playbook check does not warn about the unset variable"

# A wrong password: one prefix, the server's words.
printf 'not-the-password' >"$tmp/pg.pass"
write_playbook ca "password_file: pg.pass" verify-ca
run_verify
[ "$status" = 1 ] && ok || bad "wrong password: exit $status, want 1"
grep -qE "^  pg: login as $RK_H_PG_USER: .*password authentication failed" "$tmp/out" && ok ||
	{ bad "the failed login is not said once, plainly"; cat "$tmp/out"; }
grep -qE "^  pg: pg " "$tmp/out" && bad "the service is named twice" || ok

# verify-ca: the chain is verified, the name is not claimed.
grep -qF "  my: chain verified (verify-ca: the name is not checked)" "$tmp/out" && ok ||
	{ bad "verify-ca result wording"; cat "$tmp/out"; }
grep -qF "  my: chain and name verified" "$tmp/out" && bad "verify-ca claims the name" || ok
"$rekey" verify --json "$tmp/verify.yml" >"$tmp/out.json" 2>/dev/null || true
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
my = [s for s in d["services"] if s["service"] == "my"][0]["checks"]
pg = [s for s in d["services"] if s["service"] == "pg"][0]["checks"]
assert my["name"] is None and my["has_name"] is True, my
assert pg["name"] is True and pg["has_name"] is True, pg
' "$tmp/out.json" && ok || bad "verify-ca: --json claims the name was checked"

# A server's words are escaped: MariaDB quotes the user name it refused, here holding a
# right-to-left override, which must not reach the terminal raw.
cat >"$tmp/verify.yml" <<YML
version: 1
ca: {cert: ca.crt, key: ca.key}
hosts:
  db: {transport: local}
services:
  - name: my
    host: db
    kind: mariadb
    reload: none
    connect: {address: 127.0.0.1, port: $RK_H_MY_PORT, user: "rk\\u202eevil", password_file: my.pass}
YML
run_verify
[ "$status" = 1 ] && ok || bad "unknown user: exit $status, want 1"
grep -qF 'rk\u202eevil' "$tmp/out" && ok || { bad "the refused user is not shown escaped"; cat "$tmp/out"; }
grep -q $'\xe2\x80\xae' "$tmp/out" && bad "a raw U+202E reached the output" || ok

echo "verify messages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
