#!/usr/bin/env bash
# What `rekey plan` tells a reader, checked line by line on playbooks written here: service
# kinds as the playbook names them, reload: none said (and no new fingerprint promised), text
# from the playbook escaped, --debug after the command, and the closing line.
#
# usage: plan-text.sh REKEY_BINARY
# Prints one line per check and a last line "N passed, M failed"; exits 1 on any failure.
set -euo pipefail

rekey=${1:?usage: plan-text.sh REKEY_BINARY}
work="$(mktemp -d "${TMPDIR:-/tmp}/rekey-plantext.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
cd "$work"
mkdir -p home pki
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=plan-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -days 30 -keyout pki/ca.key -out pki/ca.crt 2>/dev/null
chmod 0600 pki/ca.key

passed=0
failed=0
check() {
	local what=$1
	shift
	if "$@"; then
		printf 'ok    %s\n' "$what"
		passed=$((passed + 1))
	else
		printf 'FAIL  %s\n' "$what"
		failed=$((failed + 1))
	fi
}
plan() {
	env NO_COLOR=1 LC_ALL=C HOME="$work/home" timeout 60 "$rekey" "$@"
}
has() { grep -qF -- "$1" "$2"; }
lacks() { ! grep -qF -- "$1" "$2"; }

# Two services: a MariaDB with reload: none, a PostgreSQL reloaded by SQL; a summary holding a
# right-to-left override and an isolate, which must never reach the terminal raw. (The parser
# refuses C0 and C1 controls itself, checked below.) YAML's own escapes carry them.
cat >estate.yml <<'YAML'
version: 1
incident: {id: INC-TEXT, summary: "leak \u2066of key.\u202etxt"}
ca: {cert: pki/ca.crt, key: pki/ca.key}
certificates:
  my1: {profile: server, subject: "/CN=my1", san: ["IP:127.0.0.1"]}
  pg1: {profile: server, subject: "/CN=pg1", san: ["IP:127.0.0.1"]}
hosts:
  h: {transport: local}
services:
  - name: maria
    host: h
    kind: mariadb
    certificate: my1
    files: {cert: {path: /etc/my/server.crt}, key: {path: /etc/my/server.key}}
    reload: none
  - name: pg
    host: h
    kind: postgresql
    certificate: pg1
    files: {cert: {path: /etc/pg/server.crt}, key: {path: /etc/pg/server.key}}
    connect: {user: rekey}
policy: {canary: 0}
YAML
rc=0
plan plan estate.yml >out 2>err || rc=$?
check "plan exits 0 with warnings only" test "$rc" -eq 0
check "kind: mariadb is shown as mariadb" has "probe maria (mariadb) at" out
check "kind: postgresql is shown as postgresql" has "probe pg (postgresql) at" out
check "reload: none is warned about" has "service 'maria': reload: none: the server keeps serving" err
check "the reload phase names the service not reloaded" has \
    "maria is not reloaded (reload: none): it keeps serving its old files until it is restarted" out
check "no new fingerprint is promised without a reload" has \
    "verify maria at 127.0.0.1:3306: verify-full, TLSv1.2 or later (reload: none, so the old certificate may still be served)" out
check "the reloaded service is promised its new fingerprint" has \
    "serves the new fingerprint of pg1" out
check "the old-certificate check appears only for the reloaded service" \
    test "$(grep -c 'the old certificate is no longer served' out)" -eq 1
check "the summary's bidi characters are escaped" has 'leak \u2066of key.\u202etxt' out
check "no raw U+2066 reaches the output" lacks $'\xe2\x81\xa6' out
check "no raw U+202E reaches the output" lacks $'\xe2\x80\xae' out
check "the last line names the command that carries the plan out" has \
    "\` carries this plan out." out

# A C1 control (CSI, which terminals read as ESC [), NEL and the line separator are control
# characters and line breaks too: refused on their line, as C0 ones are.
for ch in '\u009b2J' '\u0085' '\u2028'; do
	text=$(<estate.yml)
	printf '%s\n' "${text/'leak \u2066of key.\u202etxt'/"leak $ch here"}" >c1.yml
	rc=0
	plan plan c1.yml >out 2>err || rc=$?
	check "a summary holding $ch is refused (exit 2)" test "$rc" -eq 2
	check "on its line" has "c1.yml:2:" err
	check "and says why" has "incident summary holds a control character" err
done

# --debug is accepted after the command's name as well as before it.
rc=0
plan plan --debug estate.yml >/dev/null 2>&1 || rc=$?
check "plan --debug PLAYBOOK is accepted" test "$rc" -eq 0
rc=0
plan --debug plan estate.yml >/dev/null 2>&1 || rc=$?
check "--debug plan PLAYBOOK is accepted" test "$rc" -eq 0
rc=0
plan plan -- --debug >/dev/null 2>err || rc=$?
check "after --, --debug is a file name" has "rekey: --debug:" err

# Revocations are resolved on this machine as run will resolve them: each serial is listed,
# and the revoked-client check is promised only when a client certificate is revoked.
"$rekey" pki init dev >/dev/null
revoking() {	# revoking TARGET_LINE...: a playbook revoking these, with a server loading the CRL
	{
		printf 'version: 1\nca: {cert: dev/ca.crt, key: dev/ca.key}\nrevoke:\n'
		printf '  - %s\n' "$@"
		cat <<'YAML'
hosts:
  h: {transport: local}
services:
  - {name: pg, host: h, kind: postgresql, reload: none, files: {crl: {path: /etc/pg/ca.crl}}}
YAML
	} >revoke.yml
	rc=0
	plan plan revoke.yml >out 2>err || rc=$?
}
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//; s/../&:/g; s/:$//'; }
revoking "cert: dev/client.crt"
check "a revocation plan exits 0" test "$rc" -eq 0
check "the client certificate's serial is listed" has "serial $(serial_of dev/client.crt), client" out
check "revoking a client certificate promises the revoked-client check" has \
    "a revoked client certificate is refused" out
revoking "cert: dev/server.crt"
check "the server certificate's serial is listed" has "serial $(serial_of dev/server.crt), server" out
check "revoking only a server certificate promises no revoked-client check" lacks \
    "a revoked client certificate is refused" out
check "no compromise, no word on what rollback puts back" lacks "rollback puts a failed" out
revoking "{cert: dev/server.crt, reason: keyCompromise}"
check "under rollback, a compromise says rollback puts the revoked certificate back" has \
    "rollback puts a failed service's or client's old certificate and key back: where this incident revokes that certificate as compromised" out
echo 'policy: {on_failure: halt}' >>revoke.yml
plan plan revoke.yml >out 2>err || true
check "under halt, no such word" lacks "rollback puts a failed" out
check "and the policy line says halt" has "policy    on failure halt;" out
revoking "folder: dev"
check "a folder lists what the CA issued there" has "serial $(serial_of dev/server.crt), server (" out
check "a folder never revokes the CA's own certificate" has \
    "ca.crt: it is the CA's own certificate" out
revoking "cn: rkclient"
check "by name, the newest certificate is spared and the plan says so" has \
    "not resolved now: CN rkclient: the ledger" out
plan plan --json revoke.yml >out.json 2>/dev/null || true
check "--json gives each revocation's serials" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = [st["serials"] for p in d["phases"] for st in p["steps"] if st["action"] == "revoke"]
assert len(s) == 1 and s[0]["resolved"] is False and "newest" in s[0]["error"], s
' out.json

# A host no service or client is on is in no step: the plan warns on its line, and a host
# that is another's jump is not idle.
cat >idle.yml <<'YAML'
version: 1
ca: {cert: pki/ca.crt, key: pki/ca.key}
hosts:
  spare: {transport: local}
  bastion: {address: 127.0.0.1, known_hosts: known_hosts}
  db: {address: 127.0.0.2, jump: bastion, known_hosts: known_hosts}
services:
  - {name: pg, host: db, kind: postgresql, reload: none, files: {ca: {path: /etc/pg/ca.crt}}}
YAML
: >known_hosts
rc=0
plan plan idle.yml >out 2>err || rc=$?
check "a playbook with an idle host is still planned" test "$rc" -eq 0
check "the idle host is warned about on its line" has \
    "idle.yml:4:3: warning: host 'spare' has no service or client: the run does not contact it" err
check "a jump host is not idle" lacks "host 'bastion' has no service" err

# An error naming a file the user gave is escaped too.
rc=0
plan plan "$(printf 'no\033[2Jsuch.yml')" >out 2>err || rc=$?
check "a missing playbook is a usage error" test "$rc" -eq 2
check "its name is shown escaped" has 'no\x1b[2Jsuch.yml' err
check "no raw ESC in the error" lacks $'\033' err

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
