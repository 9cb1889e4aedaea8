#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 16): the estate of e2e_lib.sh
# on a two-level PKI (`rekey pki init --intermediate`): PostgreSQL and MariaDB serve leaves of
# the issuing intermediate, followed by it; servers and app1 trust the root alone.
#   - `rekey verify` passes, and names the missing intermediate once PostgreSQL serves its
#     leaf alone (exit 1);
#   - the intermediate's key leaks: a rehearsal says go, then `rekey run` with ca.rotate:
#     intermediate. Afterwards both servers serve leaves of a new intermediate (pathlen 0,
#     signed by the root) followed by it; `openssl verify -crl_check_all -CAfile root
#     -untrusted new-intermediate` with the CRLs the servers load accepts the new leaves and
#     refuses a leaf of the old intermediate (revoked in the root's CRL, cACompromise); psql
#     and mariadb with verify-full and only the root connect, psql checking the CRLs too; no
#     client file changed, and app1's client certificate, a leaf of the old intermediate the
#     playbook does not re-issue, is refused by both servers; the record verifies.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/intermediate
E2E_HIERARCHY=intermediate
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_intermediate.sh REKEY}"
work=$E2E_WORK
pki=$E2E_PKI
root=$pki/root.crt
app=$E2E_APP

# served_chain PROTO PORT: every certificate the server sends, PEM, in its order.
served_chain() {
	openssl s_client -starttls "$1" -connect "127.0.0.1:$2" -showcerts </dev/null 2>/dev/null |
		awk '/-----BEGIN CERTIFICATE-----/ { on = 1 } on { print } /-----END CERTIFICATE-----/ { on = 0 }'
}

# check_chain_served WHAT PROTO PORT LEAF INTERMEDIATE: the server sends LEAF, then INTERMEDIATE.
check_chain_served() {
	local what=$1 got want
	got=$(served_chain "$2" "$3" >"$work/chain.pem" && e2e_bundle_fingerprints "$work/chain.pem")
	want=$(e2e_fingerprint "$4")$'\n'$(e2e_fingerprint "$5")
	e2e_equal "$what" "$want" "$got"
}

# The CRLs are openssl's judge here: every link's, as the servers load them (CRL_CHECK_ALL).
verify_all() {	# verify_all CERT INTERMEDIATE CRLFILE
	openssl verify -crl_check_all -CAfile "$root" -untrusted "$2" -CRLfile "$3" "$1"
}

# ---- before: leaves of the intermediate, served with it -------------------------------------

check_chain_served "before: PostgreSQL sends its leaf, then the intermediate" postgres \
	"$RK_H_PG_PORT" "$pki/issued/db1-server.crt" "$pki/ca.crt"
check_chain_served "before: MariaDB sends its leaf, then the intermediate" mysql \
	"$RK_H_MY_PORT" "$pki/issued/db2-server.crt" "$pki/ca.crt"
e2e_check "before: psql verify-full with only the root connects" \
	e2e_psql "$root" "$RK_H_PG_USER"
e2e_check "before: mariadb --ssl-verify-server-cert with only the root connects" \
	e2e_mariadb "$root"
e2e_check "before: PostgreSQL takes app1's client certificate (leaf, then intermediate)" \
	e2e_psql_cert "$root" "$app/certs/app.crt" "$app/certs/app.key"
e2e_check "before: MariaDB takes it too" \
	e2e_mariadb_cert "$root" "$app/certs/app.crt" "$app/certs/app.key"
e2e_check "before: pki init --intermediate's server certificate verifies with crl_check_all" \
	verify_all "$pki/server.crt" "$pki/ca.crt" "$E2E_PG/ca.crl"

# ---- rekey verify: the chain, and a server that sends its leaf alone ------------------------

verify_pb=$E2E/verify.yml
cat >"$verify_pb" <<EOF
version: 1
ca: {cert: "$pki/ca.crt", key: "$pki/ca.key", crl: "$pki/ca.crl", chain: "$pki/chain.crt", parent: {cert: "$root", crl: "$pki/root.crl"}}
hosts:
  db: {transport: local}
services:
  - name: pg
    host: db
    kind: postgresql
    reload: none
    connect: {address: 127.0.0.1, port: $RK_H_PG_PORT, dbname: postgres, user: $RK_H_PG_USER, password_file: "$RK_H_PG_PASSWORD_FILE"}
  - name: my
    host: db
    kind: mariadb
    reload: none
    connect: {address: 127.0.0.1, port: $RK_H_MY_PORT, user: $RK_H_MY_USER, password_file: "$RK_H_MY_PASSWORD_FILE"}
EOF
e2e_rekey "$work/verify.out" verify "$verify_pb"
e2e_equal "rekey verify: the intermediate estate passes" 0 "$e2e_status"
[[ $e2e_status == 0 ]] || rk_t_note "$(<"$work/verify.out")"

install -o postgres -g postgres -m 0644 -- "$pki/issued/db1-server.crt" "$E2E_PG/server.crt"
e2e_reload_servers
e2e_wait_served postgres "$RK_H_PG_PORT" "$pki/issued/db1-server.crt" || true
e2e_equal "leaf alone: PostgreSQL sends one certificate" 1 \
	"$(served_chain postgres "$RK_H_PG_PORT" | grep -c 'BEGIN CERTIFICATE')"
e2e_rekey "$work/verify-alone.out" verify "$verify_pb"
e2e_equal "leaf alone: rekey verify exits 1" 1 "$e2e_status"
e2e_check "leaf alone: rekey verify names the missing intermediate" \
	grep -Eq 'pg: .*without the intermediate CA that signed it \(.*CN=rekey e2e issuing CA\)' \
	"$work/verify-alone.out"
e2e_equal "leaf alone: MariaDB, which sends it, still passes" 1 \
	"$(grep -c 'without the intermediate' "$work/verify-alone.out")"
e2e_reset

# ---- the intermediate's key leaks: rotate it under the same root ----------------------------

# The playbook users copy, playbooks/intermediate-compromise.yml, on this estate: its ca
# section as shipped (rotate: intermediate, chain, trust: root, parent), every address and
# path replaced by the estate's and the passphrases dropped (pki init's keys have none), by the
# tool `scripts/lab adapt` uses (scripts/lab-adapt.py).
pb=$E2E/intermediate.yml
id="E2E-INTERMEDIATE"
e2e_adapt "intermediate" intermediate-compromise.yml "$pb" "$id" || { e2e_finish; exit 1; }

"$E2E_REKEY" plan --json "$pb" >"$work/plan.json" 2>/dev/null || true

client_digest() {
	sha256sum -- "$app/.env" "$app/my.cnf" "$app/pg_service.conf" "$app/certs/db-ca.crt" \
		"$app/certs/app.crt" "$app/certs/app.key"
}
clients_before=$(client_digest)
old_serial=$(e2e_serial "$pki/ca.crt")

e2e_rehearse_changes_nothing "rehearse" "$pb" "$id"
e2e_check "rehearse: the old intermediate's leaf proven refused on the scratch CRLs" \
	grep -q 'refuse the certificate pg-primary serves now' "$work/rehearse-$id.out"
e2e_equal "rehearse: the root's CRL is left as it is" \
	"$(sha256sum <"$E2E/snap/pki/root.crl")" "$(sha256sum <"$pki/root.crl")"

e2e_run_ok "intermediate" "$work/run.out" run "$pb"
dir=$(e2e_incident_dir "$id")
new_int=$dir/ca/ca.crt

e2e_check "the new intermediate is signed by the root" openssl verify -CAfile "$root" "$new_int"
e2e_check "the new intermediate has pathlen 0" \
	grep -q 'CA:TRUE, pathlen:0' <(openssl x509 -in "$new_int" -noout -ext basicConstraints)
e2e_equal "the new intermediate's key is 0600" 600 "$(stat -c %a -- "$dir/ca/ca.key")"
e2e_equal "the shipped playbook's rotation is intermediate" intermediate \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ca"]["rotation"])' \
	<"$work/plan.json")"
check_chain_served "after: PostgreSQL sends its new leaf, then the new intermediate" postgres \
	"$RK_H_PG_PORT" "$dir/certs/db1-server.crt" "$new_int"
check_chain_served "after: MariaDB sends its new leaf, then the new intermediate" mysql \
	"$RK_H_MY_PORT" "$dir/certs/db2-server.crt" "$new_int"
for crl in "$E2E_PG/ca.crl" "$E2E_MY/ca.crl"; do
	e2e_check "after: db1-server verifies with crl_check_all and $crl" \
		verify_all "$dir/certs/db1-server.crt" "$new_int" "$crl"
	e2e_check "after: db2-server verifies with crl_check_all and $crl" \
		verify_all "$dir/certs/db2-server.crt" "$new_int" "$crl"
	e2e_check_not "after: a leaf of the old intermediate is refused with $crl" \
		'certificate revoked' verify_all "$pki/issued/db1-server.crt" "$pki/ca.crt" "$crl"
done
e2e_check_not "after: so is pki init's own server certificate" 'certificate revoked' \
	verify_all "$pki/server.crt" "$pki/ca.crt" "$E2E_PG/ca.crl"
e2e_equal "after: the root's CRL revokes the old intermediate for cACompromise" \
	"CA Compromise" "$(e2e_crl_reason "$pki/root.crl" "$old_serial")"
e2e_check "after: the root's CRL is signed by the root" \
	openssl crl -in "$pki/root.crl" -CAfile "$root" -noout
e2e_equal "after: the servers trust the root, as before" \
	"$(e2e_fingerprint "$root")" "$(e2e_fingerprint "$E2E_PG/ca.crt")"
e2e_check "after: psql verify-full with only the root connects" \
	e2e_psql "$root" "$RK_H_PG_USER"
e2e_check "after: psql verify-full with the root and every CRL (sslcrl) connects" \
	e2e_psql "$root" "$RK_H_PG_USER" "sslcrl=$E2E_PG/ca.crl"
e2e_check "after: mariadb --ssl-verify-server-cert with only the root connects" \
	e2e_mariadb "$root"
# app1's client certificate is a leaf of the old intermediate the playbook does not re-issue:
# both servers check every link's CRL and refuse it now.
e2e_check_not "after: PostgreSQL refuses app1's client certificate of the old intermediate" \
	'revoked|certificate|SSL' e2e_psql_cert "$root" "$app/certs/app.crt" "$app/certs/app.key"
e2e_check_not "after: MariaDB refuses app1's client certificate of the old intermediate" \
	"$E2E_MY_REFUSED" e2e_mariadb_cert "$root" "$app/certs/app.crt" "$app/certs/app.key"
e2e_equal "after: no client file changed" "$clients_before" "$(client_digest)"
# The plan's old-intermediate-refused steps (one per service) are done in the journal.
e2e_equal "after: the journal has both refusals of the old intermediate's leaf done" 2 \
	"$(python3 - "$work/plan.json" "$dir/journal.jsonl" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
steps = {s["id"] for p in plan["phases"] for s in p["steps"]
         if s.get("check") == "old-intermediate-refused"}
done = {r["step"] for r in map(json.loads, open(sys.argv[2])) if r.get("state") == "done"}
print(len(steps & done))
PY
)"
e2e_check "after: the record verifies" "$E2E_REKEY" record verify "$E2E_RECORDS/$id.tar.gz"
e2e_check "after: the record holds the root's new CRL" \
	grep -q 'certs/parent.crl' <(tar -tzf "$E2E_RECORDS/$id.tar.gz")

e2e_finish
