#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 13): a CA compromise
# (ca.rotate with ca.new), once with policy.trust_overlap true and once false. While each run
# runs, a client loop connects to PostgreSQL and MariaDB with full verification against the
# trust file the playbook manages on app1 (certs/db-ca.crt) and counts what failed; with the
# overlap not one connection may fail. After each run: both servers serve the incident's
# certificates, which chain to the new CA and not to the old; the servers and app1 trust the
# new CA alone; a client trusting the old CA is refused; the old certificates are revoked with
# reason cACompromise; the new client certificate logs in and the old one is refused; `rekey
# verify` by the playbook as it stands (the old ca.cert) fails and names the incident's new
# CA, and by the playbook pointed at the new CA, as the run's last line says, passes.
# The run with the overlap is the playbook users copy, playbooks/ca-compromise.yml, rewritten
# onto the estate by the lab's tool (scripts/lab-adapt.py, as `scripts/lab adapt` does): it
# keeps trust_overlap true, is rehearsed first (go, no host file, CRL or ledger changed), and
# after its run ca.crl's nextUpdate is its crl_days (3) ahead and the record verifies. The run
# without is the generated playbook of e2e_lib.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/ca
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_ca.sh REKEY}"
work=$E2E_WORK
loop_pid=

# shellcheck disable=SC2317 # called by the trap
stop_loop() {
	if [[ -n $loop_pid ]]; then
		touch -- "$work/stop"
		wait "$loop_pid" 2>/dev/null || true	# ours, by pid
		loop_pid=
	fi
}
trap stop_loop EXIT

# client_loop LOG: psql then mariadb, verify-full against app1's trust file, until $work/stop
# exists; one line per connection, "ok pg" or "fail my: <last line of the client>".
client_loop() {
	local log=$1 trust=$E2E_APP/certs/db-ca.crt why
	while [[ ! -e $work/stop ]]; do
		if why=$(e2e_psql "$trust" "$RK_H_PG_USER" 2>&1); then
			echo "ok pg"
		else
			echo "fail pg: $(tail -n 1 <<<"$why")"
		fi
		if why=$(e2e_mariadb "$trust" 2>&1); then
			echo "ok my"
		else
			echo "fail my: $(tail -n 1 <<<"$why")"
		fi
	done >>"$log"
}

# ca_compromise OVERLAP [shipped]: the generated playbook with policy.trust_overlap OVERLAP, or
# playbooks/ca-compromise.yml (which says true).
ca_compromise() {
	local overlap=$1 id=E2E-CA-$1 pb=$E2E/ca-$1.yml dir out=$work/ca-$1.out log=$work/loop-$1
	local what="CA, overlap $1" snap=$E2E/snap made failed name served new_ca key port line next
	local -a names=("${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}")
	e2e_reset
	if [[ ${2:-} == shipped ]]; then
		what="ca-compromise.yml, overlap $1" id=E2E-PB-CA
		names=(pg-primary mariadb-orders app1-env app1-mycnf)
		e2e_adapt "$what" ca-compromise.yml "$pb" "$id" || return 0
		e2e_equal "$what: the playbook says trust_overlap: $overlap" "$overlap" \
			"$(python3 -c 'import sys, yaml
print(str(yaml.safe_load(open(sys.argv[1]))["policy"]["trust_overlap"]).lower())' "$pb")"
		e2e_rehearse_changes_nothing "$what" "$pb" "$id"
	else
		e2e_write_playbook "$pb" id="$id" scenario=ca overlap="$overlap"
	fi
	dir=$(e2e_incident_dir "$id")
	rm -f -- "$work/stop" "$log"
	client_loop "$log" &
	loop_pid=$!
	# The loop is connecting before the run starts.
	rk_t_within 30 "$what: the client loop connects" grep -q '^ok my' "$log"
	e2e_run_ok "$what" "$out" run "$pb"
	stop_loop
	made=$(wc -l <"$log")
	failed=$(grep -c '^fail' "$log" || true)
	rk_t_note "$what: connections made $made, failed $failed"
	{ grep '^fail' "$log" || true; } | sort | uniq -c | head -n 5 | while IFS= read -r line; do
		rk_t_note "$what: $line"
	done
	if [[ $overlap == true ]]; then
		e2e_equal "$what: no connection of the client loop failed ($made made)" 0 "$failed"
	fi

	new_ca=$dir/ca/ca.crt
	e2e_matches "$what: the run says the playbook must now name the new CA" \
		"next: the new CA is $dir/ca/ca.crt" "$(<"$out")"
	e2e_check "$what: the new CA is in the incident folder" openssl x509 -in "$new_ca" -noout
	e2e_equal "$what: the new CA's key is 0600" 600 "$(stat -c %a -- "$dir/ca/ca.key" 2>&1)"
	e2e_check_served "$what: PostgreSQL serves the incident's db1-server" \
		postgres "$RK_H_PG_PORT" "$dir/certs/db1-server.crt"
	e2e_check_served "$what: MariaDB serves the incident's db2-server" \
		mysql "$RK_H_MY_PORT" "$dir/certs/db2-server.crt"
	for name in postgres mysql; do
		case $name in postgres) port=$RK_H_PG_PORT ;; *) port=$RK_H_MY_PORT ;; esac
		served=$work/served-$name.pem
		e2e_served_cert "$name" "$port" >"$served"
		e2e_check "$what: $name's served certificate chains to the new CA" \
			openssl verify -CAfile "$new_ca" "$served"
		e2e_check_not "$what: $name's served certificate does not chain to the old CA" \
			'unable to get local issuer|error' openssl verify -CAfile "$snap/pki/ca.crt" "$served"
		e2e_check_not "$what: $name refuses a client trusting only the old CA" \
			'verify|certificate|SSL' "e2e_client_of_$name" "$snap/pki/ca.crt"
	done
	# Trust: the new CA alone, everywhere the playbook puts it.
	for file in "$E2E_PG/ca.crt" "$E2E_MY/ca.crt" "$E2E_APP/certs/db-ca.crt"; do
		e2e_equal "$what: ${file#"$RK_H_DIR"/} holds the new CA alone" \
			"$(e2e_fingerprint "$new_ca")" "$(e2e_bundle_fingerprints "$file")"
	done
	e2e_check_not "$what: app1's trust file no longer verifies the old db1 certificate" \
		'unable to get local issuer|error' \
		openssl verify -CAfile "$E2E_APP/certs/db-ca.crt" "$snap/pki/issued/db1-server.crt"
	# The CRLs the servers load cover the new CA too: a client certificate it issued checks.
	e2e_check "$what: the new client certificate passes -crl_check with PostgreSQL's CRL file" \
		openssl verify -crl_check -CAfile "$new_ca" -CRLfile "$E2E_PG/ca.crl" \
		"$dir/certs/app-client.crt"
	for name in db1-server db2-server app-client; do
		e2e_check_revoked "$what: the old $name" "$snap/pki/issued/$name.crt" \
			"$snap/pki/ca.crt" "$E2E_PKI/ca.crl" "CA Compromise"
	done
	key=$(e2e_private_copy "$dir/keys/app-client.key" "ca-$overlap-app.key")
	e2e_check "$what: PostgreSQL accepts the new client certificate" \
		e2e_psql_cert "$new_ca" "$dir/certs/app-client.crt" "$key"
	e2e_check "$what: MariaDB accepts the new client certificate" \
		e2e_mariadb_cert "$new_ca" "$dir/certs/app-client.crt" "$key"
	key=$(e2e_private_copy "$snap/app/certs/app.key" "ca-$overlap-old-app.key")
	e2e_check_not "$what: PostgreSQL refuses the old CA's client certificate" \
		'certificate|SSL|revoked' e2e_psql_cert "$new_ca" "$snap/app/certs/app.crt" "$key"
	e2e_check_not "$what: MariaDB refuses the old CA's client certificate" \
		"$E2E_MY_REFUSED" \
		e2e_mariadb_cert "$new_ca" "$snap/app/certs/app.crt" "$key"
	e2e_check "$what: app1's .env login" e2e_as_app "$(e2e_verify_env_command)"
	e2e_check "$what: app1's my.cnf login" e2e_as_app "$(e2e_verify_mycnf_command)"
	e2e_check_pushed_modes
	e2e_summary_verified "$what" "$out" "${names[@]}"
	e2e_equal "$what: each certificate once in the ledger" "" \
		"$(e2e_ledger_problems "$id" db1-server db2-server app-client)"
	e2e_equal "$what: the journal is sound and holds no secret" "" "$(e2e_journal_problems "$id")"
	# rekey verify by the playbook as it is (the old CA): fails, and says where the new one
	# is; by the playbook pointed at the new CA, as the run's last line says: passes.
	e2e_rekey "$work/verify-old-$overlap.out" verify "$pb"
	e2e_equal "$what: rekey verify by the old ca.cert exits 1" 1 "$e2e_status"
	e2e_matches "$what: and names the incident's new CA" \
		"note: incident $id made a new CA, $new_ca, and ca.cert still names" \
		"$(<"$work/verify-old-$overlap.out")"
	python3 - "$pb" "$work/verify-new-$overlap.yml" "$dir" <<'PY'
import sys, yaml
pb = yaml.safe_load(open(sys.argv[1]))
for key in ("cert", "key", "crl"):
    pb["ca"][key] = "%s/ca/ca.%s" % (sys.argv[3], "crt" if key == "cert" else key)
yaml.safe_dump(pb, open(sys.argv[2], "w"))
PY
	e2e_rekey "$work/verify-new-$overlap.out" verify --json "$work/verify-new-$overlap.yml"
	e2e_equal "$what: rekey verify by the new CA passes" 0 "$e2e_status"
	[[ $e2e_status == 0 ]] || rk_t_note "$(head -c 3000 "$work/verify-new-$overlap.out")"
	e2e_equal "$what: and has no new_ca to point at" "None" "$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["new_ca"])' "$work/verify-new-$overlap.out" 2>&1)"
	[[ ${2:-} == shipped ]] || return 0
	next=$(date -d "$(openssl crl -in "$E2E_PKI/ca.crl" -noout -nextupdate | cut -d= -f2)" +%s)
	e2e_equal "$what: ca.crl's nextUpdate is the playbook's crl_days (3) ahead" 3 \
		"$(((next - $(date +%s) + 43200) / 86400))"
	e2e_check "$what: the record verifies" "$E2E_REKEY" record verify "$E2E_RECORDS/$id.tar.gz"
	# Rollback of the whole re-root, retire phase included: every file back, and each
	# reload's undo waits for what the restored files serve (the old certificates).
	e2e_run_ok "$what: rollback" "$work/ca-rollback.out" rollback "$pb"
	e2e_same "$what: after the rollback every host file is back (bytes, modes, owners)" \
		"$E2E_SNAP_HOST_DIGEST" "$(e2e_host_digest)"
	e2e_check_served "$what: after the rollback PostgreSQL serves its old certificate" \
		postgres "$RK_H_PG_PORT" "$snap/pki/issued/db1-server.crt"
	e2e_check_served "$what: after the rollback MariaDB serves its old certificate" \
		mysql "$RK_H_MY_PORT" "$snap/pki/issued/db2-server.crt"
}

# Clients of each server with full verification, trusting the CA file given.
e2e_client_of_postgres() {
	e2e_psql "$1" "$RK_H_PG_USER"
}

e2e_client_of_mysql() {
	e2e_mariadb "$1"
}

ca_compromise true shipped
ca_compromise false
e2e_finish
