#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 13): `rekey run` of the two
# compromises that keep the CA, on the estate of e2e_lib.sh, each checked from outside rekey.
#   server key: db1's key leaked. After the run both servers serve the certificates of the
#     incident folder (openssl s_client), the old one fails `openssl verify -crl_check` with
#     reason keyCompromise and db2's old one does not, every pushed file has its mode and
#     owner, app1's four client files say verify-full and their logins work, the ledger holds
#     each certificate once, the journal is sound and holds no secret; a second `rekey run`
#     says nothing to do, exits 0 and changes no byte.
#   client certificate: app1's client certificate leaked. Before the run it logs in to both
#     servers; after it, PostgreSQL (hostssl ... cert) and MariaDB (REQUIRE X509) refuse it and
#     accept the new one. This run uses --json: one JSON event per line, the summary last.
# Then the playbooks users copy (issue 17), rewritten onto the estate by the lab's tool
# (scripts/lab-adapt.py, as `scripts/lab adapt` does on the lab):
#   adapted: every playbook of playbooks/ adapts and plans (`rekey plan`, no connection), every
#     host and service on 127.0.0.1; intermediate-compromise.yml is refused on this one-level
#     CA, naming the chain it needs (e2e_intermediate.sh runs it on a two-level one).
#   db-server-key-compromise.yml: rehearsed first (go, no host file, CRL or ledger changed),
#     then run. PostgreSQL serves the incident's RSA 3072 certificate, which verifies with
#     the IP; the old one is revoked (keyCompromise) in the CA's CRL and in the one PostgreSQL
#     loads, and so is the playbook's serial; MariaDB, not in the playbook, is left alone;
#     app1's .env says verify-full (two lines changed) and its login with the new client
#     certificate works; files have the playbook's modes and owners; the record verifies.
#   mariadb-client-cert-rotation.yml: rehearsed first, then run. MariaDB refuses the leaked
#     client certificate (REQUIRE X509, its CRL reloaded) and takes the new Ed25519 one;
#     openssl verify -crl_check says revoked (keyCompromise) with MariaDB's CRL file; app1's
#     my.cnf login and its DATABASE_URL (now with sslcert and sslkey) log in with the new
#     certificate, kept rkuser's with 0644 and 0600 though rekey wrote them through sudo; the
#     servers keep their certificates; the record verifies.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/compromise
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_compromise.sh REKEY}"
work=$E2E_WORK

server_key_compromise() {
	local id=E2E-KEY pb=$E2E/server.yml dir out=$work/server.out name file before
	local snap=$E2E/snap
	e2e_write_playbook "$pb" id=$id scenario=server
	dir=$(e2e_incident_dir "$id")
	e2e_run_ok "server key" "$out" run "$pb"

	# The servers, as a client sees them.
	e2e_check_served "server key: PostgreSQL serves the incident's db1-server" \
		postgres "$RK_H_PG_PORT" "$dir/certs/db1-server.crt"
	e2e_check_served "server key: MariaDB serves the incident's db2-server" \
		mysql "$RK_H_MY_PORT" "$dir/certs/db2-server.crt"
	e2e_check "server key: PostgreSQL's chain and IP verify (openssl s_client)" \
		openssl s_client -starttls postgres -connect "127.0.0.1:$RK_H_PG_PORT" \
		-CAfile "$E2E_PKI/ca.crt" -verify_ip 127.0.0.1 -verify_return_error
	e2e_check "server key: MariaDB's chain and IP verify (openssl s_client)" \
		openssl s_client -starttls mysql -connect "127.0.0.1:$RK_H_MY_PORT" \
		-CAfile "$E2E_PKI/ca.crt" -verify_ip 127.0.0.1 -verify_return_error
	for name in db1-server db2-server app-client; do
		e2e_check "server key: the new $name passes openssl verify -crl_check" \
			openssl verify -crl_check -CAfile "$E2E_PKI/ca.crt" -CRLfile "$E2E_PKI/ca.crl" \
			"$dir/certs/$name.crt"
	done

	# Revocation: exactly what the incident names, every earlier entry kept.
	e2e_check_revoked "server key: the old db1-server (ca.crl)" "$snap/pki/issued/db1-server.crt" \
		"$E2E_PKI/ca.crt" "$E2E_PKI/ca.crl" "Key Compromise"
	e2e_check_revoked "server key: the old db1-server (the CRL PostgreSQL loads)" \
		"$snap/pki/issued/db1-server.crt" "$E2E_PKI/ca.crt" "$E2E_PG/ca.crl" "Key Compromise"
	e2e_check_revoked "server key: the old db1-server (the CRL MariaDB loads)" \
		"$snap/pki/issued/db1-server.crt" "$E2E_PKI/ca.crt" "$E2E_MY/ca.crl" "Key Compromise"
	e2e_check_not "server key: the harness's revoked client stays revoked" 'certificate revoked' \
		openssl verify -crl_check -CAfile "$E2E_PKI/ca.crt" -CRLfile "$E2E_PKI/ca.crl" \
		"$RK_H_REVOKED_CERT"
	e2e_check "server key: db2's old certificate, not named, is not revoked" \
		openssl verify -crl_check -CAfile "$E2E_PKI/ca.crt" -CRLfile "$E2E_PKI/ca.crl" \
		"$snap/pki/issued/db2-server.crt"

	# What landed on the hosts: the incident's files, byte for byte, with their modes.
	e2e_check "server key: db1's server.crt is the incident's" \
		e2e_same_bytes "$E2E_PG/server.crt" "$dir/certs/db1-server.crt"
	e2e_check "server key: db1's server.key is the incident's" \
		e2e_same_bytes "$E2E_PG/server.key" "$dir/keys/db1-server.key"
	e2e_check "server key: db2's server.crt is the incident's" \
		e2e_same_bytes "$E2E_MY/server.crt" "$dir/certs/db2-server.crt"
	e2e_check "server key: db2's server.key is the incident's" \
		e2e_same_bytes "$E2E_MY/server.key" "$dir/keys/db2-server.key"
	e2e_check "server key: app1's app.crt is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.crt" "$dir/certs/app-client.crt"
	e2e_check "server key: app1's app.key is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.key" "$dir/keys/app-client.key"
	e2e_check "server key: db1's CRL is the CA's new one" \
		e2e_same_bytes "$E2E_PG/ca.crl" "$E2E_PKI/ca.crl"
	e2e_check_pushed_modes
	e2e_equal "server key: the incident folder is 0700" 700 "$(stat -c %a -- "$dir" 2>&1)"
	e2e_equal "server key: the journal is 0600" 600 "$(stat -c %a -- "$dir/journal.jsonl" 2>&1)"
	e2e_equal "server key: the incident's keys are 0600" "600 600 600" \
		"$(stat -c %a -- "$dir"/keys/{db1-server,db2-server,app-client}.key 2>&1 | xargs)"
	# A backup of a key is a key: never wider than the key.
	for file in "$E2E_PG"/server.key.rekey-bak-* "$E2E_MY"/server.key.rekey-bak-* \
		"$E2E_APP"/certs/app.key.rekey-bak-*; do
		[[ -e $file ]] || { e2e_bad "server key: no backup beside ${file%%.rekey-bak-*}"; continue; }
		e2e_matches "server key: backup ${file##*/} is 0600" '^600 ' "$(stat -c '%a %U' -- "$file")"
	done
	e2e_check "server key: db1's key backup holds the old key" e2e_same_bytes \
		"$(find "$E2E_PG" -maxdepth 1 -name 'server.key.rekey-bak-*' | head -n 1)" "$snap/pg/server.key"

	# app1's clients: the files say verify-full, and their own commands log in with it.
	e2e_matches "server key: .env says DB_SSL_MODE=verify-full" $'(^|\n)DB_SSL_MODE=verify-full\n' \
		"$(<"$E2E_APP/.env")"
	e2e_matches "server key: DATABASE_URL says verify-full and the CA" \
		"DATABASE_URL='postgresql://app:[^@]+@127.0.0.1:$RK_H_PG_PORT/postgres\?sslmode=verify-full&sslrootcert=$E2E_APP/certs/db-ca.crt'" \
		"$(<"$E2E_APP/.env")"
	e2e_equal "server key: .env: exactly the two lines that differ changed" 4 \
		"$(diff "$snap/app/.env" "$E2E_APP/.env" | grep -c '^[<>]')"
	e2e_matches "server key: pg_service.conf's [e2e-pg-cert] says verify-full" \
		$'\\[e2e-pg-cert\\][^[]*sslmode=verify-full' "$(<"$E2E_APP/pg_service.conf")"
	e2e_matches "server key: pg_service.conf's [e2e-pg] is left alone" \
		$'\\[e2e-pg\\]\n[^[]*sslmode=require\n' "$(<"$E2E_APP/pg_service.conf")"
	e2e_matches "server key: my.cnf verifies the server" 'ssl-verify-server-cert = 1' \
		"$(<"$E2E_APP/my.cnf")"
	e2e_check "server key: app1's .env login (rkclient, verify-full)" \
		e2e_as_app "$(e2e_verify_env_command)"
	e2e_check "server key: app1's DATABASE_URL login" e2e_as_app "$(e2e_verify_url_command)"
	e2e_check "server key: app1's pg_service.conf login" \
		e2e_as_app "$(e2e_verify_pgservice_command)"
	e2e_check "server key: app1's my.cnf login" e2e_as_app "$(e2e_verify_mycnf_command)"
	e2e_check "server key: psql verify-full trusting app1's CA file" \
		e2e_psql "$E2E_APP/certs/db-ca.crt" "$RK_H_PG_USER"
	e2e_check "server key: mariadb --ssl-verify-server-cert trusting app1's CA file" \
		e2e_mariadb "$E2E_APP/certs/db-ca.crt"

	e2e_summary_all_verified "server key" "$out"
	e2e_equal "server key: each certificate once in the ledger" "" \
		"$(e2e_ledger_problems "$id" db1-server db2-server app-client)"
	e2e_equal "server key: the journal is sound and holds no secret" "" \
		"$(e2e_journal_problems "$id")"
	e2e_equal "server key: every journaled step is done" "" "$(e2e_journal_unfinished "$id")"
	e2e_matches "server key: the output names the journal" "$dir/journal.jsonl" "$(<"$out")"

	# Once more: nothing to do, nothing changed (not even the journal).
	before=$(e2e_estate_digest; sha256sum -- "$dir/journal.jsonl" 2>&1; e2e_transport_leftovers)
	e2e_rekey "$work/again.out" run "$pb"
	e2e_equal "server key: a second rekey run exits 0" 0 "$e2e_status"
	e2e_matches "server key: a second rekey run says nothing to do" '[Nn]othing to do' \
		"$(<"$work/again.out")"
	e2e_same "server key: a second rekey run changes no file" "$before" \
		"$(e2e_estate_digest; sha256sum -- "$dir/journal.jsonl" 2>&1; e2e_transport_leftovers)"
}

client_certificate_compromise() {
	local id=E2E-CLIENT pb=$E2E/client.yml dir out=$work/client.out old_key new_key
	local snap=$E2E/snap
	e2e_reset
	old_key=$(e2e_private_copy "$snap/app/certs/app.key" old-app.key)
	# The check can fail: before the run, the leaked certificate logs in to both.
	e2e_check "client cert: before the run the leaked certificate logs in to PostgreSQL" \
		e2e_psql_cert "$E2E_PKI/ca.crt" "$snap/app/certs/app.crt" "$old_key"
	e2e_check "client cert: before the run the leaked certificate logs in to MariaDB" \
		e2e_mariadb_cert "$E2E_PKI/ca.crt" "$snap/app/certs/app.crt" "$old_key"

	e2e_write_playbook "$pb" id=$id scenario=client
	dir=$(e2e_incident_dir "$id")
	# This one with --json: what a tool reads is one JSON event per line, the summary last.
	e2e_run_ok "client cert" "$out" run --json "$pb"
	e2e_equal "client cert: --json prints one JSON event per line, the summary last" "" \
		"$(e2e_json_problems "$out")"
	e2e_check_not "client cert: PostgreSQL refuses the revoked certificate (hostssl cert)" \
		'revoked|certificate|SSL' \
		e2e_psql_cert "$E2E_PKI/ca.crt" "$snap/app/certs/app.crt" "$old_key"
	e2e_check_not "client cert: MariaDB refuses the revoked certificate (REQUIRE X509)" \
		"$E2E_MY_REFUSED" \
		e2e_mariadb_cert "$E2E_PKI/ca.crt" "$snap/app/certs/app.crt" "$old_key"
	new_key=$(e2e_private_copy "$dir/keys/app-client.key" new-app.key)
	e2e_check "client cert: PostgreSQL accepts the new certificate" \
		e2e_psql_cert "$E2E_PKI/ca.crt" "$dir/certs/app-client.crt" "$new_key"
	e2e_check "client cert: MariaDB accepts the new certificate" \
		e2e_mariadb_cert "$E2E_PKI/ca.crt" "$dir/certs/app-client.crt" "$new_key"
	e2e_check_revoked "client cert: the old app-client (ca.crl)" "$snap/app/certs/app.crt" \
		"$E2E_PKI/ca.crt" "$E2E_PKI/ca.crl" "Key Compromise"
	e2e_check_revoked "client cert: the old app-client (PostgreSQL's CRL)" \
		"$snap/app/certs/app.crt" "$E2E_PKI/ca.crt" "$E2E_PG/ca.crl" "Key Compromise"
	e2e_check_revoked "client cert: the old app-client (MariaDB's CRL)" \
		"$snap/app/certs/app.crt" "$E2E_PKI/ca.crt" "$E2E_MY/ca.crl" "Key Compromise"
	e2e_check_served "client cert: PostgreSQL keeps its certificate" \
		postgres "$RK_H_PG_PORT" "$snap/pki/issued/db1-server.crt"
	e2e_check_served "client cert: MariaDB keeps its certificate" \
		mysql "$RK_H_MY_PORT" "$snap/pki/issued/db2-server.crt"
	e2e_check "client cert: app1's app.crt is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.crt" "$dir/certs/app-client.crt"
	e2e_check "client cert: app1's app.key is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.key" "$dir/keys/app-client.key"
	e2e_equal "client cert: app1's key and certificate keep rkuser, 0600 and 0644" \
		"600 $RK_H_SSH_USER 644 $RK_H_SSH_USER" \
		"$(stat -c '%a %U' -- "$E2E_APP/certs/app.key" "$E2E_APP/certs/app.crt" | xargs)"
	e2e_check "client cert: app1's pg_service.conf login with the new certificate" \
		e2e_as_app "$(e2e_verify_pgservice_command)"
	e2e_check "client cert: app1's my.cnf login with the new certificate" \
		e2e_as_app "$(e2e_verify_mycnf_command)"
	e2e_summary_all_verified "client cert" "$out"
	e2e_equal "client cert: the new certificate once in the ledger" "" \
		"$(e2e_ledger_problems "$id" app-client)"
	e2e_equal "client cert: the journal is sound and holds no secret" "" \
		"$(e2e_journal_problems "$id")"
}

# Every shipped playbook adapts to the estate and plans; each host and service is on 127.0.0.1.
playbooks_adapt() {
	local src name out hosts
	for src in "$here"/../../playbooks/*.yml; do
		name=${src##*/}
		out=$E2E/adapted-$name
		if [[ $name == intermediate-compromise.yml ]]; then
			e2e_check_not "adapted: $name needs a two-level PKI" 'chain.crt, which the estate lacks' \
				e2e_adapt_to "$name" "$out"
			continue
		fi
		e2e_adapt "adapted" "$name" "$out" || continue
		e2e_rekey "$work/plan-$name.out" plan "$out"
		e2e_equal "adapted: rekey plan accepts $name" 0 "$e2e_status"
		hosts=$(python3 - "$out" <<'PY'
import sys, yaml
pb = yaml.safe_load(open(sys.argv[1]))
print(" ".join(sorted({h["address"] for h in pb.get("hosts", {}).values()} |
                      {s["connect"]["address"] for s in pb.get("services", [])})))
PY
)
		e2e_equal "adapted: $name reaches 127.0.0.1 only" 127.0.0.1 "$hosts"
	done
}

# playbooks/db-server-key-compromise.yml: PostgreSQL's key leaked.
shipped_server_key() {
	local what="db-server-key-compromise.yml" id=E2E-PB-KEY pb=$E2E/pb-server-key.yml dir
	local out=$work/pb-server-key.out snap=$E2E/snap u=$RK_H_SSH_USER key
	e2e_reset
	e2e_adapt "$what" db-server-key-compromise.yml "$pb" "$id" || return 0
	e2e_rehearse_changes_nothing "$what" "$pb" "$id"
	e2e_run_ok "$what" "$out" run "$pb"
	dir=$(e2e_incident_dir "$id")

	e2e_check_served "$what: PostgreSQL serves the incident's db1-server" \
		postgres "$RK_H_PG_PORT" "$dir/certs/db1-server.crt"
	e2e_check "$what: PostgreSQL's chain and IP verify (openssl s_client)" \
		openssl s_client -starttls postgres -connect "127.0.0.1:$RK_H_PG_PORT" \
		-CAfile "$E2E_PKI/ca.crt" -verify_ip 127.0.0.1 -verify_return_error
	e2e_matches "$what: the new db1-server has the playbook's RSA 3072 key" \
		'Public-Key: \(3072 bit\)' "$(openssl x509 -in "$dir/certs/db1-server.crt" -noout -text)"
	e2e_check_served "$what: MariaDB, not in the playbook, keeps its certificate" \
		mysql "$RK_H_MY_PORT" "$snap/pki/issued/db2-server.crt"
	e2e_check_revoked "$what: the old db1-server (ca.crl)" "$snap/pki/issued/db1-server.crt" \
		"$E2E_PKI/ca.crt" "$E2E_PKI/ca.crl" "Key Compromise"
	e2e_check_revoked "$what: the old db1-server (the CRL PostgreSQL loads)" \
		"$snap/pki/issued/db1-server.crt" "$E2E_PKI/ca.crt" "$E2E_PG/ca.crl" "Key Compromise"
	e2e_equal "$what: the playbook's serial is revoked too" "Key Compromise" \
		"$(e2e_crl_reason "$E2E_PG/ca.crl" 5D3A910C77E21408)"
	e2e_check "$what: db2's old certificate, not named, is not revoked" \
		openssl verify -crl_check -CAfile "$E2E_PKI/ca.crt" -CRLfile "$E2E_PKI/ca.crl" \
		"$snap/pki/issued/db2-server.crt"

	e2e_check "$what: db1's server.key is the incident's" \
		e2e_same_bytes "$E2E_PG/server.key" "$dir/keys/db1-server.key"
	e2e_check "$what: app1's app.crt is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.crt" "$dir/certs/app-client.crt"
	e2e_check "$what: app1's app.key is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.key" "$dir/keys/app-client.key"
	e2e_same "$what: modes and owners of the files the playbook names (stat)" \
		"$E2E_PG/server.crt 644 postgres postgres
$E2E_PG/server.key 600 postgres postgres
$E2E_PG/ca.crt 644 postgres postgres
$E2E_PG/ca.crl 644 postgres postgres
$E2E_APP/.env 600 $u $u
$E2E_APP/certs/db-ca.crt 644 $u $u
$E2E_APP/certs/app.crt 644 $u $u
$E2E_APP/certs/app.key 600 $u $u" \
		"$(e2e_modes "$E2E_PG"/{server.crt,server.key,ca.crt,ca.crl} "$E2E_APP/.env" \
			"$E2E_APP"/certs/{db-ca.crt,app.crt,app.key} 2>&1)"
	e2e_matches "$what: .env says DB_SSL_MODE=verify-full" $'(^|\n)DB_SSL_MODE=verify-full\n' \
		"$(<"$E2E_APP/.env")"
	e2e_equal "$what: .env: only DB_SSL_MODE changed (its paths were right)" 2 \
		"$(diff "$snap/app/.env" "$E2E_APP/.env" | grep -c '^[<>]')"
	e2e_check "$what: app1's .env login (rkclient, verify-full, the new certificate)" \
		e2e_as_app "$(e2e_verify_env_command)"
	key=$(e2e_private_copy "$dir/keys/app-client.key" pb-key-app.key)
	e2e_check "$what: psql verify-full trusting app1's CA file, with the new client certificate" \
		e2e_psql_cert "$E2E_APP/certs/db-ca.crt" "$dir/certs/app-client.crt" "$key"
	e2e_summary_verified "$what" "$out" pg-primary app1-env
	e2e_equal "$what: each certificate once in the ledger" "" \
		"$(e2e_ledger_problems "$id" db1-server app-client)"
	e2e_equal "$what: the journal is sound and holds no secret" "" "$(e2e_journal_problems "$id")"
	e2e_check "$what: the record verifies" "$E2E_REKEY" record verify "$E2E_RECORDS/$id.tar.gz"
}

# playbooks/mariadb-client-cert-rotation.yml: the application's client certificate leaked.
shipped_client_cert() {
	local what="mariadb-client-cert-rotation.yml" id=E2E-PB-CLIENT pb=$E2E/pb-client.yml dir
	local out=$work/pb-client.out snap=$E2E/snap u=$RK_H_SSH_USER old_key new_key
	e2e_reset
	e2e_adapt "$what" mariadb-client-cert-rotation.yml "$pb" "$id" || return 0
	old_key=$(e2e_private_copy "$snap/app/certs/app.key" pb-old-app.key)
	e2e_check "$what: before, the leaked certificate logs in to MariaDB" \
		e2e_mariadb_cert "$E2E_PKI/ca.crt" "$snap/app/certs/app.crt" "$old_key"
	e2e_rehearse_changes_nothing "$what" "$pb" "$id"
	e2e_run_ok "$what" "$out" run "$pb"
	dir=$(e2e_incident_dir "$id")

	e2e_check_not "$what: MariaDB refuses the leaked certificate (REQUIRE X509)" \
		"$E2E_MY_REFUSED" \
		e2e_mariadb_cert "$E2E_PKI/ca.crt" "$snap/app/certs/app.crt" "$old_key"
	new_key=$(e2e_private_copy "$dir/keys/orders-app.key" pb-new-app.key)
	e2e_check "$what: MariaDB takes the new certificate" \
		e2e_mariadb_cert "$E2E_PKI/ca.crt" "$dir/certs/orders-app.crt" "$new_key"
	e2e_matches "$what: the new certificate has the playbook's Ed25519 key" 'ED25519' \
		"$(openssl x509 -in "$dir/certs/orders-app.crt" -noout -text)"
	e2e_check_revoked "$what: the leaked certificate (ca.crl)" "$snap/app/certs/app.crt" \
		"$E2E_PKI/ca.crt" "$E2E_PKI/ca.crl" "Key Compromise"
	e2e_check_revoked "$what: the leaked certificate (the CRL MariaDB loads)" \
		"$snap/app/certs/app.crt" "$E2E_PKI/ca.crt" "$E2E_MY/ca.crl" "Key Compromise"
	e2e_check_served "$what: MariaDB keeps its certificate" \
		mysql "$RK_H_MY_PORT" "$snap/pki/issued/db2-server.crt"
	e2e_check_served "$what: PostgreSQL, not in the playbook, keeps its certificate" \
		postgres "$RK_H_PG_PORT" "$snap/pki/issued/db1-server.crt"
	e2e_check "$what: app1's app.crt is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.crt" "$dir/certs/orders-app.crt"
	e2e_check "$what: app1's app.key is the incident's" \
		e2e_same_bytes "$E2E_APP/certs/app.key" "$dir/keys/orders-app.key"
	e2e_same "$what: modes and owners (stat): the new files are rkuser's, through sudo" \
		"$E2E_MY/ca.crl 644 mysql mysql
$E2E_APP/.env 600 $u $u
$E2E_APP/my.cnf 640 $u $u
$E2E_APP/certs/app.crt 644 $u $u
$E2E_APP/certs/app.key 600 $u $u" \
		"$(e2e_modes "$E2E_MY/ca.crl" "$E2E_APP"/{.env,my.cnf} "$E2E_APP"/certs/{app.crt,app.key} 2>&1)"
	e2e_matches "$what: DATABASE_URL names the new certificate and key" \
		"DATABASE_URL='[^']*sslcert=$E2E_APP/certs/app.crt&sslkey=$E2E_APP/certs/app.key'" \
		"$(<"$E2E_APP/.env")"
	e2e_check "$what: app1's my.cnf login (rkclient, the new certificate)" \
		e2e_as_app "$(e2e_verify_mycnf_command)"
	e2e_check "$what: app1's DATABASE_URL login, sending the new certificate" \
		e2e_as_app "$(e2e_verify_url_command)"
	e2e_summary_verified "$what" "$out" mariadb-orders orders-mycnf orders-url
	e2e_equal "$what: the new certificate once in the ledger" "" \
		"$(e2e_ledger_problems "$id" orders-app)"
	e2e_equal "$what: the journal is sound and holds no secret" "" "$(e2e_journal_problems "$id")"
	e2e_check "$what: the record verifies" "$E2E_REKEY" record verify "$E2E_RECORDS/$id.tar.gz"
}

server_key_compromise
client_certificate_compromise
playbooks_adapt
shipped_server_key
shipped_client_cert
e2e_finish
