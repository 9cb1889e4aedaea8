# shellcheck shell=bash
#
# testlib.sh: assertions for the harness smoke tests (smoke_*.sh). Source it; every assertion
# prints "NAME: ok - what" or exits 1 after "NAME: FAIL: what: why" with the command's output.
#
# The last checked command's combined output is in rk_t_out, for follow-up assertions.

rk_t_name=${RK_T_NAME:-$(basename -- "$0" .sh)}
rk_t_out=
rk_t_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

rk_t_note() {
	printf '%s: %s\n' "$rk_t_name" "$*"
}

rk_t_ok() {
	printf '%s: ok - %s\n' "$rk_t_name" "$*"
}

rk_t_fail() {
	printf '%s: FAIL: %s\n' "$rk_t_name" "$*" >&2
	exit 1
}

# Last 20 lines of a command's output, indented, for failure messages.
rk_t_show() {
	# Error lines first: the cause is often far above the tail (mariadb-install-db's advice).
	printf '\n%s' "$( { grep -m 10 -iE 'error|fatal|failed' <<<"$1" || true
		echo '    ...'; tail -n 12 <<<"$1"; } | sed 's/^/    | /')"
}

# rk_t_succeeds WHAT COMMAND...: COMMAND must exit 0.
rk_t_succeeds() {
	local what=$1 status=0
	shift
	rk_t_out=$("$@" 2>&1) || status=$?
	((status == 0)) || rk_t_fail "$what: exit status $status$(rk_t_show "$rk_t_out")"
	rk_t_ok "$what"
}

# rk_t_exits_with WHAT STATUS COMMAND...: COMMAND must exit with STATUS.
rk_t_exits_with() {
	local what=$1 want=$2 status=0
	shift 2
	rk_t_out=$("$@" 2>&1) || status=$?
	((status == want)) ||
		rk_t_fail "$what: exit status $status, expected $want$(rk_t_show "$rk_t_out")"
	rk_t_ok "$what"
}

# rk_t_refused WHAT REGEX COMMAND...: COMMAND must fail, and say something matching REGEX (so
# that it failed for the reason under test, not because of a typo or an unreachable server).
rk_t_refused() {
	local what=$1 pattern=$2 status=0
	shift 2
	rk_t_out=$("$@" 2>&1) || status=$?
	((status != 0)) || rk_t_fail "$what: succeeded, expected a refusal$(rk_t_show "$rk_t_out")"
	[[ $rk_t_out =~ $pattern ]] ||
		rk_t_fail "$what: failed (status $status) but not with /$pattern/$(rk_t_show "$rk_t_out")"
	rk_t_ok "$what"
}

# rk_t_equals WHAT EXPECTED ACTUAL
rk_t_equals() {
	[[ $2 == "$3" ]] || rk_t_fail "$1: expected '$2', got '$3'"
	rk_t_ok "$1"
}

# rk_t_matches WHAT REGEX ACTUAL
rk_t_matches() {
	[[ $3 =~ $2 ]] || rk_t_fail "$1: '$3' does not match /$2/"
	rk_t_ok "$1"
}

# rk_t_within SECONDS WHAT COMMAND...: polls COMMAND (every 100 ms) until it succeeds.
rk_t_within() {
	local seconds=$1 what=$2 deadline
	shift 2
	deadline=$((${EPOCHREALTIME/./} + seconds * 1000000))
	until "$@"; do
		((${EPOCHREALTIME/./} < deadline)) || rk_t_fail "$what: not true after ${seconds}s"
		sleep 0.1
	done
	rk_t_ok "$what"
}

rk_t_fingerprint_of_file() {
	openssl x509 -in "$1" -noout -fingerprint -sha256
}

# Fingerprint of the first certificate in `openssl s_client` output.
rk_t_fingerprint_of_output() {
	openssl x509 -noout -fingerprint -sha256 <<<"$1"
}

# rk_t_check_starttls PROTO PORT SERVED_CERT: the STARTTLS handshake (postgres or mysql)
# verifies against the test CA for IP 127.0.0.1 and presents SERVED_CERT; the same check for
# an IP the certificate does not carry fails, or the first check would prove nothing.
rk_t_check_starttls() {
	local proto=$1 port=$2 cert=$3
	rk_t_succeeds "STARTTLS handshake verifies against the test CA and IP 127.0.0.1" \
		openssl s_client -starttls "$proto" -connect "127.0.0.1:$port" \
		-CAfile "$RK_H_CA" -verify_ip 127.0.0.1 -verify_return_error </dev/null
	rk_t_equals "the served certificate is the server.crt the server loads" \
		"$(rk_t_fingerprint_of_file "$cert")" "$(rk_t_fingerprint_of_output "$rk_t_out")"
	rk_t_refused "the handshake check fails for an IP not in the certificate" \
		'verify error|IP address mismatch' \
		openssl s_client -starttls "$proto" -connect "127.0.0.1:$port" \
		-CAfile "$RK_H_CA" -verify_ip 127.0.0.2 -verify_return_error </dev/null
}

# rk_t_run_under_servers SECONDS WITH_SERVERS_ARGS...: a smoke test's main. Runs the calling
# script's `inside STATE` function under with-servers.sh (the script runs itself again there),
# then checks that every server it started is gone within SECONDS. Exits 77 when skipped.
rk_t_run_under_servers() {
	local wait=$1 state status=0
	shift
	if [[ -n ${RK_T_INSIDE_STATE:-} ]]; then
		inside "$RK_T_INSIDE_STATE"
		exit 0
	fi
	state=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: state is local
	trap "rm -rf -- '$state'" EXIT
	RK_T_INSIDE_STATE=$state bash "$rk_t_here/with-servers.sh" "$@" -- bash "$0" ||
		status=$?
	((status != 77)) || exit 77
	((status == 0)) || rk_t_fail "the checks under with-servers.sh failed (exit $status)"
	rk_t_servers_are_gone "$state" "$wait"
}

# Writes into STATE what the servers of the current run are (folder, and "kind pid port" lines),
# so that the test can check after the run that they are gone.
rk_t_record_servers() {
	local state=$1 dir
	printf '%s\n' "$RK_H_DIR" >"$state/dir"
	: >"$state/servers"
	for dir in ${RK_H_SSH_DIRS:-}; do
		printf 'sshd %s %s\n' "$(<"$dir/sshd.pid")" "$(<"$dir/port")" >>"$state/servers"
	done
	if [[ -n ${RK_H_PG_DIR:-} ]]; then
		printf 'postgresql %s %s\n' "$(head -n 1 "$RK_H_PG_DATA/postmaster.pid")" \
			"$RK_H_PG_PORT" >>"$state/servers"
	fi
	if [[ -n ${RK_H_MY_DIR:-} ]]; then
		printf 'mariadb %s %s\n' "$(<"$RK_H_MY_PID_FILE")" "$RK_H_MY_PORT" >>"$state/servers"
	fi
}

rk_t_pid_is_gone() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	stat=${stat##*) }
	[[ ${stat%% *} == Z ]]	# a zombie waiting for PID 1 to reap it holds nothing
}

# Nobody listens on PORT but maybe a stranger: a port freed by our server may be handed to another
# test at once, so a listener counts as ours only when its command line names our folder.
rk_t_port_is_free_of() {
	local port=$1 folder=$2 pid
	for pid in $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
		[[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) != *"$folder"* ]] || return 1
	done
	return 0
}

rk_t_no_process_mentions() {
	! pgrep -f -- "$1" >/dev/null
}

# rk_t_servers_are_gone STATE SECONDS: every server recorded in STATE stopped, its port is free,
# no process mentions the run folder, and the folder is removed; all within SECONDS.
rk_t_servers_are_gone() {
	local state=$1 seconds=$2 folder kind pid port
	folder=$(<"$state/dir")
	[[ -s $state/servers ]] || rk_t_fail "no servers were recorded"
	while read -r kind pid port; do
		rk_t_within "$seconds" "$kind (pid $pid) is stopped" rk_t_pid_is_gone "$pid"
		rk_t_within 5 "$kind port $port is no longer ours" rk_t_port_is_free_of "$port" "$folder"
	done <"$state/servers"
	rk_t_within "$seconds" "no process mentions $folder" rk_t_no_process_mentions "$folder"
	rk_t_within "$seconds" "$folder is removed" test ! -e "$folder"
}
