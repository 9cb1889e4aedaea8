#!/usr/bin/env bash
# harness/cleanup: when the process that started the servers dies by SIGKILL (as under a ctest
# timeout), the watchdog stops every server and removes the folder: no process, no listening port,
# no folder is left.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=harness/cleanup
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$here/testlib.sh"

# Runs under with-servers.sh: records the servers, then waits to be killed.
if [[ ${1:-} == --inside ]]; then
	state=$2
	rk_t_record_servers "$state"
	touch "$state/ready"
	exec sleep 600
fi

state=$(mktemp -d)
victim=
cleanup_test() {
	# If an assertion failed before the kill, do not leave the victim (and its servers) behind:
	# SIGTERM lets with-servers.sh clean up normally.
	if [[ -n $victim ]] && kill -0 "$victim" 2>/dev/null; then
		kill -TERM -- "-$victim" 2>/dev/null || true
		wait "$victim" 2>/dev/null || true
	fi
	rm -rf -- "$state"
}
trap cleanup_test EXIT

# The victim gets a process group of its own (setsid without a fork: a background job is not a
# group leader), so that one kill reaches it and the command it runs, as ctest's kill would.
setsid bash "$here/with-servers.sh" --ssh 1 --pg --mariadb -- \
	bash "${BASH_SOURCE[0]}" --inside "$state" </dev/null >"$state/victim.log" 2>&1 &
victim=$!

victim_is_ready_or_gone() {
	[[ -e $state/ready ]] || ! kill -0 "$victim" 2>/dev/null
}
rk_t_within 60 "the victim started sshd, PostgreSQL and MariaDB" victim_is_ready_or_gone
if [[ ! -e $state/ready ]]; then
	status=0
	wait "$victim" || status=$?
	victim=
	((status != 77)) || { cat "$state/victim.log"; exit 77; }
	rk_t_fail "with-servers.sh exited with $status before the servers were up$(rk_t_show \
		"$(cat "$state/victim.log")")"
fi
rk_t_equals "three servers recorded" 3 "$(wc -l <"$state/servers")"
rk_t_equals "the victim leads its own process group" "$victim" \
	"$(ps -o pgid= -p "$victim" | tr -d ' ')"

kill -KILL -- "-$victim"
wait "$victim" 2>/dev/null || true
victim=
rk_t_ok "SIGKILL sent to the victim's process group"

# Deadline: the watchdog polls twice a second; MariaDB takes up to a few seconds to stop.
rk_t_servers_are_gone "$state" 40
