#!/usr/bin/env bash
# with-servers.sh [--ssh N] [--pg] [--mariadb] -- COMMAND [ARGS...]
#
# Starts the servers asked for (plus the test CA, always) in a private folder, exports the RK_H_
# variables documented at the top of harness.sh, runs COMMAND and exits with its status. The
# servers are stopped and the folder removed afterwards, also when COMMAND fails, when this
# script gets INT/TERM/HUP, and (through the watchdog) when it is killed by SIGKILL.
#
# Exit status: COMMAND's; 77 (ctest SKIP_RETURN_CODE) with a one-line reason when this machine
# cannot run the servers (not root, a server binary missing); 1 when a server did not start;
# 2 on a usage error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$here/harness.sh"

usage() {
	sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

ssh_count=0
want_pg=0
want_mariadb=0
while (($# > 0)); do
	case $1 in
	--ssh)
		[[ ${2:-} =~ ^[1-9][0-9]?$ ]] || usage
		ssh_count=$2
		shift 2
		;;
	--pg) want_pg=1; shift ;;
	--mariadb) want_mariadb=1; shift ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
(($# > 0)) || usage

kinds=()
((ssh_count == 0)) || kinds+=(ssh)
((want_pg == 0)) || kinds+=(pg)
((want_mariadb == 0)) || kinds+=(mariadb)
if ! reason=$(harness_why_not_able "${kinds[@]}"); then
	printf 'with-servers: SKIP: %s\n' "$reason" >&2
	exit 77
fi

# Values from an enclosing run must not leak into this one.
for name in $(compgen -v RK_H_); do
	case $name in
	RK_H_PG_BIN | RK_H_QUIET | RK_H_REKEY | RK_H_SSH_USER | RK_H_SSH_ADMIN) ;;
	*) unset "$name" ;;
	esac
done

# shellcheck disable=SC2119 # no options: a new mktemp folder, watched by a watchdog
harness_init
harness_make_ca "$RK_H_DIR/pki"
if ((ssh_count > 0)); then
	harness_make_ssh_client_key "$RK_H_DIR/ssh"
	harness_start_ssh_hosts "$ssh_count" "$RK_H_DIR/hosts"
fi
if ((want_pg)); then
	harness_start_postgresql "$RK_H_DIR/pg" "$RK_H_SERVER_CERT" "$RK_H_SERVER_KEY" \
		"$RK_H_DIR/secrets/pg_password"
fi
if ((want_mariadb)); then
	harness_start_mariadb "$RK_H_DIR/mariadb" "$RK_H_SERVER_CERT" "$RK_H_SERVER_KEY" \
		"$RK_H_DIR/secrets/mariadb_password"
fi
harness_write_env "$RK_H_ENV_FILE"
harness_export_env

# COMMAND runs in the background so that a signal to this script is handled at once: it is passed
# on to COMMAND, and the EXIT trap cleans up once COMMAND is gone. `<&0` keeps our stdin for it
# (bash would give a background command /dev/null).
"$@" <&0 &
child=$!
# shellcheck disable=SC2317 # called from the traps below
forward_signal() {
	kill -s "$1" "$child" 2>/dev/null || true
}
trap 'forward_signal TERM' TERM
trap 'forward_signal HUP' HUP
trap 'forward_signal INT' INT
status=0
wait "$child" || status=$?
# wait returns early when a trapped signal arrives; keep waiting until COMMAND really ended.
while kill -0 "$child" 2>/dev/null; do
	status=0
	wait "$child" || status=$?
done
harness_install_traps
exit "$status"
