#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 13): a `rekey rehearse`
# (it changes no host file), one `rekey run` of the
# server-key compromise under valgrind memcheck (worker threads, ssh sessions, TLS probes,
# libpq and MariaDB logins, the journal), then `rekey run` again (nothing to do) and
# `rekey rollback`, each with no error and no leak, and each doing its job: the new
# certificates served after the run, the old ones after the rollback. Still reachable memory
# counts too, but for libpq's one BIO method (e2e_valgrind.supp). Only in the normal build
# (valgrind and ASan cannot share a process).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/valgrind
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
command -v valgrind >/dev/null || { echo "e2e/valgrind: SKIP: no valgrind" >&2; exit 77; }
e2e_build_estate "${1:?usage: e2e_valgrind.sh REKEY}"
work=$E2E_WORK
id="E2E-VALGRIND"
pb=$E2E/valgrind.yml
inc=$(e2e_incident_dir "$id")
# Everything is some 20 times slower under valgrind: a roomy timeout per host.
e2e_write_playbook "$pb" id=$id scenario=server timeout=120

# under_valgrind WHAT WANT ARGS...: rekey ARGS under memcheck exits WANT with no error and no
# leak of any kind.
under_valgrind() {
	local what=$1 want=$2 status=0 started
	shift 2
	started=${EPOCHREALTIME/./}
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
		--show-leak-kinds=all --child-silent-after-fork=yes --log-file="$work/$what.vg" \
		--suppressions="$here/e2e_valgrind.supp" \
		"$E2E_REKEY" "$@" >"$work/$what.out" 2>&1 || status=$?
	rk_t_note "rekey $what under valgrind took $(e2e_elapsed "$started")"
	if ((status == 99)) || [[ -s $work/$what.vg ]]; then
		e2e_bad "rekey $what: valgrind reports errors or leaks$(rk_t_show "$(<"$work/$what.vg")")"
	else
		e2e_ok "rekey $what: no valgrind error, no leak"
	fi
	if ((status == want)); then
		e2e_ok "rekey $what exits $want under valgrind"
	else
		e2e_bad "rekey $what exits $status under valgrind, want $want$(rk_t_show \
			"$(<"$work/$what.out")")"
	fi
}

# The estate's certificates end within 30 days: expiry flags them (exit 1), and the plan of a
# scheduled rotation reads the estate the same way first.
under_valgrind expiry 1 expiry --json --prometheus "$work/rekey.prom" "$pb"
under_valgrind only-expiring 0 plan --only-expiring 30d "$pb"
e2e_matches "plan --only-expiring under valgrind rotates db1-server" 'rotate db1-server' \
	"$(<"$work/only-expiring.out")"
under_valgrind rehearse 0 rehearse "$pb"
e2e_same "the rehearsal under valgrind changed no host file" "$E2E_SNAP_HOST_DIGEST" \
	"$(e2e_host_digest)"
under_valgrind run 0 run "$pb"
e2e_check_served "after the run PostgreSQL serves the new db1-server" \
	postgres "$RK_H_PG_PORT" "$inc/certs/db1-server.crt"
e2e_check_served "after the run MariaDB serves the new db2-server" \
	mysql "$RK_H_MY_PORT" "$inc/certs/db2-server.crt"
e2e_summary_all_verified "under valgrind" "$work/run.out"
under_valgrind again 0 run "$pb"
e2e_matches "the second run says nothing to do" '[Nn]othing to do' "$(<"$work/again.out")"
under_valgrind rollback 0 rollback "$pb"
e2e_same "after the rollback every host file is back (bytes, modes, owners)" \
	"$E2E_SNAP_HOST_DIGEST" "$(e2e_host_digest)"
e2e_check_served "after the rollback PostgreSQL serves the old certificate" \
	postgres "$RK_H_PG_PORT" "$E2E/snap/pki/issued/db1-server.crt"
e2e_finish
