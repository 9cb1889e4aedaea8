#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 13): one fault at a time,
# under each failure policy given by --on-failure (the playbook names another, which must
# lose), on a scheduled rotation of the estate of e2e_lib.sh (nothing revoked, so an old
# certificate put back still verifies):
#   unreachable  db2's ssh port has no listener: preflight says no before any change
#   unwritable   db2 logs in as rkuser without sudo: MariaDB's folder is not writable
#   reload       db1's reload command fails while the new files are in place (as a reload
#                does that refuses them), and works again once the old ones are back
#   not-taken    db1's new key is written root:root 0640, which postgres cannot read, so
#                PostgreSQL keeps serving the old certificate (the output quotes its log)
#   name         db2's new certificate has no SAN and CN 127.0.0.1 (plan only warns): served,
#                it fails the name check for 127.0.0.1 (OpenSSL's, as `openssl s_client
#                -verify_ip` makes it; libpq and MariaDB's client fall back to the CN)
# For each: exit 1, the cause named, the resume or rollback command printed, every service and
# client in the state its summary row says (checked from outside: served fingerprint, bytes,
# modes and owners), the state the policy promises (rollback: the failed service rolled back,
# after a wave-1 failure nothing else touched, later phases not started; halt: nothing started
# after the failure; continue: every other service verified, and every client but those of
# the failed server), and a sound journal. After halt and continue, `rekey rollback` puts
# every host file back byte for byte.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/faults
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_faults.sh REKEY}"
work=$E2E_WORK
dead_port=$(harness_pick_free_port)

# fault_options FAULT: e2e_write_playbook options that inject it.
fault_options() {
	case $1 in
	unreachable) echo "db2_port=$dead_port" ;;
	unwritable) echo "db2_login=rkuser" ;;
	reload)
		# sudo -n: as the login or as root, whichever the reload runs as.
		printf '%s\n' "pg_reload={command: \"cmp -s $E2E_PG/server.crt $E2E/snap/pg/server.crt && sudo -n kill -HUP \$(sudo -n head -n 1 $RK_H_PG_DATA/postmaster.pid)\"}" ;;
	not-taken) echo "pg_key_owner=root" ;;
	name) echo "db2_name=cn" ;;
	esac
}

# The service each fault hits, and what the output must say about it.
fault_service() {
	case $1 in
	unreachable | unwritable | name) echo mariadb-e2e ;;
	*) echo pg-e2e ;;
	esac
}

fault_cause() {
	case $1 in
	unreachable) echo 'db2.*([Cc]onnection refused|unreachable|connect)' ;;
	unwritable) echo 'db2.*([Pp]ermission denied|not writable|[Rr]ead-only)' ;;
	reload) echo 'pg-e2e.*reload|reload.*pg-e2e|db1.*reload' ;;
	not-taken) echo 'could not load private key file .*server.key.*: Permission denied' ;;
	name) echo "mariadb-e2e: 127.0.0.1 is not among the certificate's names" ;;
	esac
}

# A policy the playbook names that differs from the command line's.
other_policy() {
	case $1 in
	rollback) echo continue ;;
	halt) echo rollback ;;
	continue) echo halt ;;
	esac
}

one_fault() {
	local fault=$1 policy=$2 id=E2E-F-$1-$2 pb=$E2E/fault-$1-$2.yml out=$work/$1-$2.out
	local what="$1/$2" failed started name result others="" opts
	failed=$(fault_service "$fault")
	e2e_reset
	mapfile -t opts < <(fault_options "$fault")
	e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=5 \
		on_failure="$(other_policy "$policy")" "${opts[@]}"
	started=${EPOCHREALTIME/./}
	e2e_rekey "$out" run --on-failure "$policy" "$pb"
	rk_t_note "$what: rekey run took $(e2e_elapsed "$started")"
	e2e_equal "$what: rekey run exits 1" 1 "$e2e_status"
	e2e_matches "$what: the output names the cause" "$(fault_cause "$fault")" "$(<"$out")"
	e2e_matches "$what: the output gives the command to resume or roll back" \
		"rekey (resume|rollback) [^ ]*$pb" "$(<"$out")"
	for name in "${E2E_SERVICES[@]}"; do
		e2e_check_service_state "$what" "$out" "$id" "$name"
	done
	e2e_check_clients_state "$what" "$out" "$id"
	for name in "${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}"; do
		[[ $name == "$failed" ]] || others+="$name $(e2e_result "$out" "$name")"$'\n'
	done
	others=${others%$'\n'}
	result=$(e2e_result "$out" "$failed")

	if [[ $fault == unreachable ]]; then
		# Preflight said no: nothing was issued, revoked or pushed, under every policy.
		e2e_results_are "$what: the unreachable host's service failed" 'failed|not started' \
			"$failed $result"
		e2e_results_are "$what: nothing else was started" 'not started|skipped' "$others"
		e2e_same "$what: nothing changed (host files, CRL, ledger)" "$E2E_SNAP_DIGEST" \
			"$(e2e_estate_digest)"
		e2e_equal "$what: no certificate was issued" "" \
			"$(ls -A -- "$(e2e_incident_dir "$id")/certs" 2>/dev/null)"
		return
	fi
	case $policy in
	rollback)
		e2e_equal "$what: $failed is rolled back" "rolled back" "$result"
		if [[ $failed == pg-e2e ]]; then
			# A canary (wave 1) failed: the run stops there, nothing else is touched.
			e2e_results_are "$what: nothing after the canary was started" \
				'not started|skipped' "$others"
		else
			e2e_results_are "$what: no client was started after db2 failed" \
				'not started|skipped' "$(grep '^app1-' <<<"$others")"
		fi ;;
	halt)
		e2e_equal "$what: $failed failed" failed "$result"
		if [[ $failed == pg-e2e ]]; then
			e2e_results_are "$what: no later host was started" 'not started|skipped' "$others"
		else
			e2e_results_are "$what: no client was started after db2 failed" \
				'not started|skipped' "$(grep '^app1-' <<<"$others")"
		fi ;;
	continue)
		e2e_equal "$what: $failed failed" failed "$result"
		# A client of the failed server may fail with it (my.cnf reaches MariaDB).
		[[ $failed != mariadb-e2e ]] || others=$(grep -v '^app1-mycnf ' <<<"$others")
		e2e_results_are "$what: every other service and client verified" verified "$others" ;;
	esac
	if [[ $fault == name && $result == failed ]]; then
		# Left in place, the new certificate fails OpenSSL's name check for 127.0.0.1 (the
		# one rekey applies; libpq's and MariaDB's clients still fall back to the CN).
		e2e_check_not "$what: openssl s_client refuses MariaDB's certificate for 127.0.0.1" \
			'IP address mismatch|verify error' openssl s_client -starttls mysql \
			-connect "127.0.0.1:$RK_H_MY_PORT" -CAfile "$E2E_PKI/ca.crt" -verify_ip 127.0.0.1 \
			-verify_return_error
	fi
	e2e_equal "$what: the journal is sound and holds no secret" "" "$(e2e_journal_problems "$id")"
	if [[ $policy != rollback ]]; then
		e2e_rekey "$work/$1-$2.rollback.out" rollback "$pb"
		e2e_equal "$what: rekey rollback exits 0" 0 "$e2e_status"
		e2e_same "$what: after rekey rollback every host file is back (bytes, modes, owners)" \
			"$E2E_SNAP_HOST_DIGEST" "$(e2e_host_digest)"
		e2e_check_served "$what: after rekey rollback PostgreSQL serves its old certificate" \
			postgres "$RK_H_PG_PORT" "$E2E/snap/pki/issued/db1-server.crt"
		e2e_check_served "$what: after rekey rollback MariaDB serves its old certificate" \
			mysql "$RK_H_MY_PORT" "$E2E/snap/pki/issued/db2-server.crt"
	fi
}

for fault in unreachable unwritable reload not-taken name; do
	for policy in rollback halt continue; do
		one_fault "$fault" "$policy"
	done
done
e2e_finish
