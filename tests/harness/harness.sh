# shellcheck shell=bash
# The RK_H_ variables are this library's output, read by the scripts that source it:
# shellcheck disable=SC2034
#
# harness.sh: real sshd, PostgreSQL 15 and MariaDB servers on 127.0.0.1 for rekey's tests and lab.
#
# Source it from bash running as root, with `set -euo pipefail`; do not execute it. A function
# that cannot do its job prints one line ("harness: ...") to stderr and returns non-zero.
#
# Everything one run creates lives under one folder, RK_H_DIR, marked as ours by
# RK_H_DIR/.harness/. Servers are written into RK_H_DIR/.harness/servers before they start, so
# `harness_cleanup` can stop each of them (even half-started ones) and then remove the folder.
# Servers run detached (own session, stdio on log files): a test killed by ctest neither takes them
# down uncleanly nor leaves them holding ctest's output pipe. The watchdog started by
# `harness_init` cleans up instead when the process that owns the run dies, even by SIGKILL.
#
# Typical use (with-servers.sh does exactly this):
#   harness_init                        # RK_H_DIR, traps, watchdog
#   harness_make_ca "$RK_H_DIR/pki"
#   harness_make_ssh_client_key "$RK_H_DIR/ssh"
#   harness_start_ssh_hosts 2 "$RK_H_DIR/hosts"
#   harness_start_postgresql "$RK_H_DIR/pg" "$RK_H_SERVER_CERT" "$RK_H_SERVER_KEY" \
#       "$RK_H_DIR/secrets/pg_password"
#   harness_start_mariadb "$RK_H_DIR/mariadb" "$RK_H_SERVER_CERT" "$RK_H_SERVER_KEY" \
#       "$RK_H_DIR/secrets/mariadb_password"
#   harness_write_env                   # RK_H_DIR/env.sh; `harness_export_env` exports
#
# Variables. Only those of what was started are set. with-servers.sh exports all of them.
#   RK_H_DIR               root folder of the run (mktemp -d, mode 0755); cleanup removes it
#   RK_H_ENV_FILE          RK_H_DIR/env.sh: `export` lines for all the variables below
#  test CA (harness_make_ca; rekey pki init/issue/revoke, EC P-384 CA, EC P-256 leaves):
#   RK_H_CA_DIR            the CA folder, made by `rekey pki init` (ledger.json beside the CA)
#   RK_H_CA                CA certificate (PEM)
#   RK_H_CA_KEY            CA private key (PEM, mode 0600)
#   RK_H_CA_CRL            CRL made by `openssl ca -gencrl`; it lists RK_H_REVOKED_CERT
#   RK_H_SERVER_CERT, RK_H_SERVER_KEY     server cert, SAN DNS:localhost,IP:127.0.0.1, key 0600
#   RK_H_CLIENT_CERT, RK_H_CLIENT_KEY     client cert CN=rkclient (the cert-auth database user)
#   RK_H_REVOKED_CERT, RK_H_REVOKED_KEY   another CN=rkclient client cert, revoked in the CRL
#  sshd (harness_make_ssh_client_key, harness_start_sshd / harness_start_ssh_hosts):
#   RK_H_SSH_HOST          127.0.0.1
#   RK_H_SSH_PORTS         ports of the instances, space-separated, in start order
#   RK_H_SSH_PORT          the first of them
#   RK_H_SSH_DIRS          instance folders (sshd_config, host keys, sshd.log, known_hosts with
#                          that instance's line only), space-separated, same order
#   RK_H_SSH_SCRATCH_DIRS  a folder per instance owned by rkuser (DIR/scratch), same order
#   RK_H_SSH_KEY           client private key: ed25519, OpenSSH format, no passphrase, mode 0600
#   RK_H_SSH_PUBKEY        its public half, authorized for rkuser and rkadmin on every instance
#   RK_H_KNOWN_HOSTS       known_hosts: one `[127.0.0.1]:PORT ssh-ed25519 ...` line per instance
#   RK_H_SSH_USER          rkuser: plain login, no sudo rights
#   RK_H_SSH_ADMIN         rkadmin: login, `sudo -n` to anything (/etc/sudoers.d/rekey-test)
#  PostgreSQL 15 (harness_start_postgresql), run as user postgres:
#   RK_H_PG_BIN            folder of initdb/pg_ctl (default /usr/lib/postgresql/15/bin)
#   RK_H_PG_HOST, RK_H_PG_PORT            127.0.0.1 and the TCP port (TLS only)
#   RK_H_PG_DIR            instance folder, owned by postgres: server.crt, server.key (0600),
#                          ca.crt, ca.crl (the files the server loads), data/, run/, postgresql.log
#   RK_H_PG_DATA           data folder (PGDATA)
#   RK_H_PG_SOCKET_DIR     Unix socket folder: `psql -h $RK_H_PG_SOCKET_DIR -U postgres` is
#                          superuser without password (root only: the folder is 0700 postgres)
#   RK_H_PG_LOG            server log
#   RK_H_PG_SERVER_CERT, RK_H_PG_SERVER_KEY, RK_H_PG_CA, RK_H_PG_CRL   files the server loads
#   RK_H_PG_USER           rekey: scram-sha-256 password role, may run pg_reload_conf()
#   RK_H_PG_PASSWORD_FILE  its password alone (no newline), mode 0600
#   RK_H_PG_PGPASS         a libpq PGPASSFILE for that role, mode 0600
#   RK_H_PG_CERT_USER      rkclient: role that logs in with RK_H_CLIENT_CERT (hostssl ... cert)
#  MariaDB (harness_start_mariadb), run as user mysql, --require-secure-transport=ON:
#   RK_H_MY_HOST, RK_H_MY_PORT            127.0.0.1 and the TCP port
#   RK_H_MY_DIR            instance folder, owned by mysql: server.crt, server.key (0600), ca.crt,
#                          ca.crl, data/, run/, mariadb.err, mariadb.pid
#   RK_H_MY_DATA, RK_H_MY_SOCKET, RK_H_MY_PID_FILE, RK_H_MY_LOG
#   RK_H_MY_SERVER_CERT, RK_H_MY_SERVER_KEY, RK_H_MY_CA, RK_H_MY_CRL   files the server loads
#   RK_H_MY_USER           rekey: password user, REQUIRE SSL, RELOAD (may FLUSH SSL)
#   RK_H_MY_PASSWORD_FILE  its password alone (no newline), mode 0600
#   RK_H_MY_DEFAULTS_FILE  [client] user= password= for `mariadb --defaults-file=...`, mode 0600
#   RK_H_MY_CERT_USER      rkclient: REQUIRE X509, RELOAD; logs in with RK_H_CLIENT_CERT
#   (root may use `mariadb --no-defaults --socket=$RK_H_MY_SOCKET -uroot` without password.)
#
# Settings read from the environment: RK_H_PG_BIN, RK_H_QUIET=1 (no progress lines), RK_H_REKEY
# (the rekey binary that makes the test CA; ctest sets it to the build's own, and tests may
# run it too; default: build/bin/rekey in the repository).

# Root's tools (useradd, visudo, runuser, sshd) live in sbin, which a minimal PATH may lack.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/sbin:/sbin ;;
esac

# Where this file is: the watchdog sources it again in its own process.
_rkh_lib="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/harness.sh"
_rkh_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

: "${RK_H_PG_BIN:=/usr/lib/postgresql/15/bin}"
RK_H_SSH_USER=rkuser
RK_H_SSH_ADMIN=rkadmin

# sshd re-executes itself and refuses unless started by absolute path; look it up once.
_rkh_sshd=$(command -v sshd || true)
_rkh_mariadbd=$(command -v mariadbd || true)

# Start timeouts, in seconds. Generous: a loaded CI machine is slow, and they only bound failures.
_rkh_start_timeout=30
_rkh_stop_timeout=30

# ---------------------------------------------------------------------------------------------
# Small tools

harness_say() {
	[[ ${RK_H_QUIET:-0} == 1 ]] || printf 'harness: %s\n' "$*" >&2
}

# Prints why and returns 1, so that a sourcing script decides whether to exit.
harness_fail() {
	printf 'harness: %s\n' "$*" >&2
	return 1
}

# Runs a command with its output captured; shows the output only when the command fails.
harness_run_or_show() {
	local what=$1 out
	shift
	if ! out=$("$@" 2>&1); then
		printf 'harness: %s failed:\n%s\n' "$what" "$out" >&2
		return 1
	fi
}

harness_now_us() {
	printf '%s\n' "${EPOCHREALTIME/./}"
}

# harness_wait_until SECONDS WHAT COMMAND...: polls COMMAND every 50 ms until it succeeds.
harness_wait_until() {
	local seconds=$1 what=$2 deadline
	shift 2
	deadline=$(($(harness_now_us) + seconds * 1000000))
	until "$@"; do
		if (($(harness_now_us) >= deadline)); then
			harness_fail "timed out after ${seconds}s waiting until $what"
			return 1
		fi
		sleep 0.05
	done
}

# Closes every descriptor above stderr, so a server or the watchdog started from a test never
# holds a pipe of ctest (which would then wait for it) or any other file of the caller.
harness_close_fds_above_stderr() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then
			exec {fd}>&- 2>/dev/null || true
		fi
	done
}

# harness_run_logged LOG COMMAND...: runs COMMAND in the foreground, all its output into LOG and
# no inherited descriptor but stdio, so a daemon it forks cannot hold anything of ours.
harness_run_logged() {
	local log=$1
	shift
	(
		harness_close_fds_above_stderr
		exec "$@" </dev/null >>"$log" 2>&1
	)
}

# Writes a secret alone in a file created mode 0600 (no moment with a wider mode).
harness_write_secret_file() {
	local file=$1 value=$2
	(
		umask 077
		rm -f -- "$file"
		printf '%s' "$value" >"$file"
	)
}

harness_make_private_folder() {
	mkdir -p -- "$1"
	chmod 0700 -- "$1"
}

harness_random_password() {
	openssl rand -hex 16
}

# Port selection: the kernel hands out a free port for port 0; we close the socket and the server
# binds it a moment later. Another process may take it in between, so every start retries on a
# new port when the bind fails. The kernel never hands out 22, 5432 or 3306 here (they are below
# the ephemeral range), and we refuse them anyway.
harness_pick_free_port() {
	local port
	port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || {
		harness_fail "could not get a free port from the kernel (python3)"
		return 1
	}
	case $port in
	22 | 5432 | 3306) harness_pick_free_port ;;
	*) printf '%s\n' "$port" ;;
	esac
}

# True when process PID itself listens on 127.0.0.1:PORT: a readiness check that another
# process holding the port cannot fool.
harness_pid_listens_on() {
	ss -Hltnp "src 127.0.0.1:$2" 2>/dev/null | grep -q "pid=$1,"
}

# True while PID exists and is not a zombie. PID 1 of some containers reaps orphans only now and
# then, so a stopped daemon may linger as a zombie for a moment; it holds no port and no file.
harness_pid_is_alive() {
	local stat
	[[ ${1:-} =~ ^[0-9]+$ ]] || return 1
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# Field 22 of /proc/PID/stat (start time in clock ticks): with the pid it names one process
# for good, so a recycled pid is never mistaken for the owner or a server.
harness_process_start_time() {
	local stat fields
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	read -r -a fields <<<"$stat"
	printf '%s\n' "${fields[19]}"
}

# True when PID is alive and its command line contains NEEDLE (our instance folder): before a
# kill, this proves the pid still is our server and not a stranger that got the number later.
harness_pid_runs_with() {
	local pid=$1 needle=$2 cmdline
	harness_pid_is_alive "$pid" || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$needle"* ]]
}

harness_read_pid_file() {
	local pid=
	[[ -r $1 ]] && read -r pid <"$1" 2>/dev/null
	[[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
}

# All descendants of PID (children first found, then theirs), one per line.
harness_descendants_of() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END {
			want[root] = 1
			do {
				added = 0
				for (i in pids) {
					p = pids[i]
					if (!(p in want) && (parent[p] in want)) { want[p] = 1; added = 1; print p }
				}
			} while (added)
		}'
}

# harness_stop_pid PID NEEDLE: SIGTERM, wait up to the stop timeout, then SIGKILL. Does nothing
# unless PID still runs with NEEDLE in its command line.
harness_stop_pid() {
	local pid=$1 needle=$2
	harness_pid_runs_with "$pid" "$needle" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! RK_H_QUIET=1 harness_wait_until "$_rkh_stop_timeout" "pid $pid exits" \
		harness_pid_is_gone "$pid"; then
		harness_say "pid $pid ignored SIGTERM for ${_rkh_stop_timeout}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		harness_wait_until 5 "pid $pid exits after SIGKILL" harness_pid_is_gone "$pid" || true
	fi
}

harness_pid_is_gone() {
	! harness_pid_is_alive "$1"
}

# Every path we write into a server configuration or the playbook is unquoted there; keep to
# characters that need no quoting anywhere.
harness_path_is_plain() {
	[[ $1 == /* && $1 =~ ^[A-Za-z0-9._/+@-]+$ && $1 != *..* ]]
}

# Servers run as postgres, mysql and the test users, so every folder above the ones they use must
# be searchable by others (mktemp -d makes 0700 folders; /root is 0700).
harness_check_folder_reachable() {
	local dir=$1 mode
	while [[ $dir != / && -n $dir ]]; do
		dir=$(dirname -- "$dir")
		[[ -d $dir ]] || continue
		mode=$(stat -c %A -- "$dir")
		if [[ $mode != *x && $mode != *t ]]; then
			harness_fail "$dir is not searchable by other users (mode $(stat -c %a -- "$dir")):" \
				"postgres and mysql could not reach their files below it"
			return 1
		fi
	done
}

# ---------------------------------------------------------------------------------------------
# Run folder, registry, traps and watchdog

harness_folder_is_ours() {
	[[ -n ${1:-} && $1 == /* && $1 != / && -f $1/.harness/marker ]]
}

# harness_init [--folder DIR] [--no-watchdog]: creates the run folder (a new mktemp -d unless
# --folder) and installs the EXIT/INT/TERM/HUP traps that clean it up (replacing the caller's
# traps for those). Unless --no-watchdog, starts a watchdog that cleans up when this shell dies.
harness_init() {
	local folder='' watchdog=1
	while (($# > 0)); do
		case $1 in
		--folder) folder=$2; shift 2 ;;
		--no-watchdog) watchdog=0; shift ;;
		*) harness_fail "harness_init: unknown option $1"; return 1 ;;
		esac
	done
	if [[ -z $folder ]]; then
		folder=$(mktemp -d "${TMPDIR:-/tmp}/rekey-harness.XXXXXX") || {
			harness_fail "mktemp -d failed"
			return 1
		}
	fi
	mkdir -p -- "$folder/.harness"
	chmod 0755 -- "$folder"
	chmod 0700 -- "$folder/.harness"
	printf 'rekey test harness folder; created by pid %s\n' "$$" >"$folder/.harness/marker"
	: >"$folder/.harness/servers"
	RK_H_DIR=$folder
	RK_H_ENV_FILE=$folder/env.sh
	_rkh_ssh_ports=()
	_rkh_ssh_dirs=()
	_rkh_ssh_scratch=()
	harness_install_traps
	harness_path_is_plain "$folder" || {
		harness_fail "folder $folder has characters we do not quote in server configs"
		return 1
	}
	harness_check_folder_reachable "$folder/x" || return 1
	if ((watchdog)); then
		harness_start_watchdog "$$"
	fi
}

harness_install_traps() {
	trap 'harness_cleanup' EXIT
	trap 'harness_exit_after_signal 129' HUP
	trap 'harness_exit_after_signal 130' INT
	trap 'harness_exit_after_signal 143' TERM
}

# For a caller (the lab) whose servers must outlive it once everything started.
harness_remove_traps() {
	trap - EXIT HUP INT TERM
}

harness_exit_after_signal() {
	trap - EXIT HUP INT TERM
	harness_cleanup
	exit "$1"
}

# Writes one line to the registry before a server starts, so a half-started one is stopped too.
harness_register_server() {
	local kind=$1 name=$2 dir=$3
	printf '%s\t%s\t%s\n' "$kind" "$name" "$dir" >>"$RK_H_DIR/.harness/servers"
}

# Lists "kind name dir" lines of FOLDER's registry, last started first.
harness_registered_servers() {
	local folder=$1
	[[ -f $folder/.harness/servers ]] || return 0
	tac -- "$folder/.harness/servers"
}

# The watchdog is a separate bash, in its own session, child of nobody we know: started from a
# subshell that exits at once, it is re-parented away from our process tree, so ctest's timeout
# kill (which walks the tree) does not reach it. It polls the owner's pid and start time.
harness_start_watchdog() {
	local owner=$1 start
	start=$(harness_process_start_time "$owner") || {
		harness_fail "cannot read the start time of pid $owner"
		return 1
	}
	(
		# shellcheck disable=SC2016 # expanded by the watchdog's bash, from its arguments
		setsid bash -c '. "$1" && harness_watch_owner "$2" "$3" "$4"' rekey-harness-watchdog \
			"$_rkh_lib" "$RK_H_DIR" "$owner" "$start" \
			</dev/null >>"$RK_H_DIR/.harness/watchdog.log" 2>&1 &
	)
}

# Body of the watchdog process.
harness_watch_owner() {
	local folder=$1 owner=$2 start=$3 now
	harness_close_fds_above_stderr
	cd /
	printf '%s\n' "$BASHPID" >"$folder/.harness/watchdog.pid"
	while harness_folder_is_ours "$folder"; do
		now=$(harness_process_start_time "$owner" 2>/dev/null) || now=
		[[ $now == "$start" ]] || break
		sleep 0.5
	done
	if harness_folder_is_ours "$folder"; then
		printf 'watchdog: owner pid %s is gone; cleaning up %s\n' "$owner" "$folder"
		RK_H_DIR=$folder harness_cleanup
	fi
}

harness_stop_watchdog() {
	local folder=$1 pid
	pid=$(harness_read_pid_file "$folder/.harness/watchdog.pid") || return 0
	[[ $pid != "$BASHPID" ]] || return 0
	if harness_pid_runs_with "$pid" "$folder"; then
		kill -TERM "$pid" 2>/dev/null || true
	fi
}

# Stops every server of RK_H_DIR and removes the folder. Idempotent, never fails, safe to run
# from the watchdog and from a trap at once (flock), and a no-op for a folder not marked ours.
harness_cleanup() {
	local folder=${RK_H_DIR:-} lock
	harness_folder_is_ours "$folder" || return 0
	exec {lock}>>"$folder/.harness/cleanup.lock" || return 0
	flock "$lock" || true
	if harness_folder_is_ours "$folder"; then
		harness_stop_servers_of "$folder"
		harness_stop_watchdog "$folder"
		rm -rf -- "$folder" || harness_say "could not remove $folder"
	fi
	exec {lock}>&-
	return 0
}

# Stops the servers of a folder, last started first, and keeps the folder (cleanup removes it).
harness_stop_servers_of() {
	local folder=$1 kind name dir
	while IFS=$'\t' read -r kind name dir; do
		case $kind in
		sshd) harness_stop_sshd "$dir" ;;
		postgresql) harness_stop_postgresql "$dir" ;;
		mariadb) harness_stop_mariadb "$dir" ;;
		*) harness_say "registry of $folder: unknown kind '$kind'" ;;
		esac
	done < <(harness_registered_servers "$folder")
	return 0
}

# ---------------------------------------------------------------------------------------------
# Test CA (openssl CLI)

# The rekey binary that makes the test CA: $RK_H_REKEY (ctest sets it), else the build in the
# repository. The harness uses rekey's own PKI engine, as a user would, not the openssl CLI.
harness_rekey_binary() {
	local bin=${RK_H_REKEY:-$_rkh_repo/build/bin/rekey}
	if [[ ! -x $bin ]]; then
		harness_fail "no rekey binary at $bin: build it first (cmake --build build)"
		return 1
	fi
	printf '%s\n' "$bin"
}

# harness_make_ca DIR: the test CA with `rekey pki init` (EC P-384 CA, server certificate for
# DNS:localhost,IP:127.0.0.1, client certificate CN=rkclient), plus a second CN=rkclient client
# certificate revoked in the CRL with `rekey pki revoke`.
harness_make_ca() {
	local dir=$1 rekey
	rekey=$(harness_rekey_binary) || return 1
	harness_run_or_show "rekey pki init" "$rekey" pki init --ca-cn "rekey test CA" \
		--client-cn rkclient --name DNS:localhost --name IP:127.0.0.1 "$dir" || return 1
	chmod 0755 -- "$dir"
	harness_ca_issue "$dir" revoked-client client "/O=rekey test/CN=rkclient" || return 1
	harness_run_or_show "rekey pki revoke" "$rekey" pki revoke --ca-cert "$dir/ca.crt" \
		--ca-key "$dir/ca.key" --reason keyCompromise --cert "$dir/revoked-client.crt" || return 1
	RK_H_CA_DIR=$dir
	RK_H_CA=$dir/ca.crt
	RK_H_CA_KEY=$dir/ca.key
	RK_H_CA_CRL=$dir/ca.crl
	RK_H_SERVER_CERT=$dir/server.crt
	RK_H_SERVER_KEY=$dir/server.key
	RK_H_CLIENT_CERT=$dir/client.crt
	RK_H_CLIENT_KEY=$dir/client.key
	RK_H_REVOKED_CERT=$dir/revoked-client.crt
	RK_H_REVOKED_KEY=$dir/revoked-client.key
	harness_say "CA ready in $dir"
}

# harness_ca_issue DIR NAME server|client SUBJECT [SANS]: DIR/NAME.key (0600) and DIR/NAME.crt
# (EC P-256, 30 days) signed by DIR/ca.key with `rekey pki issue`; SANS is "DNS:a,IP:b".
harness_ca_issue() {
	local dir=$1 name=$2 profile=$3 subject=$4 sans=${5:-} rekey san
	local -a args=()
	rekey=$(harness_rekey_binary) || return 1
	if [[ -n $sans ]]; then
		IFS=, read -r -a list <<<"$sans"
		for san in "${list[@]}"; do
			args+=(--san "$san")
		done
	fi
	harness_run_or_show "rekey pki issue ($name)" "$rekey" pki issue --ca-cert "$dir/ca.crt" \
		--ca-key "$dir/ca.key" --profile "$profile" --subject "$subject" "${args[@]}" \
		--key ec-p256 --days 30 --cert-out "$dir/$name.crt" --key-out "$dir/$name.key"
}

harness_sha256_fingerprint_of_file() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

# Copies the TLS files a server loads into DIR, owned by OWNER: server.crt, server.key (0600),
# ca.crt and ca.crl from the current CA.
harness_install_server_tls() {
	local dir=$1 owner=$2 cert=$3 key=$4
	install -o "$owner" -g "$owner" -m 0644 -- "$cert" "$dir/server.crt"
	install -o "$owner" -g "$owner" -m 0600 -- "$key" "$dir/server.key"
	install -o "$owner" -g "$owner" -m 0644 -- "$RK_H_CA" "$dir/ca.crt"
	install -o "$owner" -g "$owner" -m 0644 -- "$RK_H_CA_CRL" "$dir/ca.crl"
}

# ---------------------------------------------------------------------------------------------
# sshd

# Test users are machine-wide and shared by every run, so they are created once and never
# removed; the lock keeps two runs from racing useradd or the sudoers file.
harness_ensure_test_users() {
	local lockdir=/run/lock lock
	[[ -d $lockdir ]] || lockdir=${TMPDIR:-/tmp}
	exec {lock}>>"$lockdir/rekey-harness-users.lock"
	flock "$lock"
	harness_ensure_user "$RK_H_SSH_USER" && harness_ensure_user "$RK_H_SSH_ADMIN" &&
		harness_ensure_admin_sudo_rule
	local rc=$?
	exec {lock}>&-
	return "$rc"
}

# A login user whose password is '*': no password login, yet not "locked" ('!'), which sshd
# refuses with UsePAM no.
harness_ensure_user() {
	local user=$1
	if ! getent passwd "$user" >/dev/null; then
		harness_run_or_show "useradd $user" useradd -m -U -s /bin/bash "$user" || return 1
	fi
	if [[ $(getent shadow "$user" | cut -d: -f2) != '*' ]]; then
		harness_run_or_show "usermod -p '*' $user" usermod -p '*' "$user" || return 1
	fi
}

harness_ensure_admin_sudo_rule() {
	local file=/etc/sudoers.d/rekey-test
	local rule="$RK_H_SSH_ADMIN ALL=(ALL:ALL) NOPASSWD: ALL"
	[[ -f $file && $(cat -- "$file") == "$rule" ]] && return 0
	# sudo ignores files in sudoers.d whose name has a dot, so the check-then-rename is atomic
	# for sudo: it sees no rule or the whole checked rule.
	local tmp=/etc/sudoers.d/.rekey-test.tmp
	printf '%s\n' "$rule" >"$tmp"
	chmod 0440 -- "$tmp"
	harness_run_or_show "visudo -cf $tmp" visudo -cf "$tmp" || { rm -f -- "$tmp"; return 1; }
	mv -f -- "$tmp" "$file"
}

# harness_make_ssh_client_key DIR: DIR/id_ed25519 (OpenSSH format, no passphrase) and an empty
# DIR/known_hosts that every sshd started afterwards adds its line to.
harness_make_ssh_client_key() {
	local dir=$1
	mkdir -p -- "$dir"
	chmod 0700 -- "$dir"
	rm -f -- "$dir/id_ed25519" "$dir/id_ed25519.pub"
	harness_run_or_show "ssh-keygen (client)" ssh-keygen -q -t ed25519 -N '' \
		-C "rekey-harness-client" -f "$dir/id_ed25519" || return 1
	: >"$dir/known_hosts"
	chmod 0644 -- "$dir/known_hosts"
	RK_H_SSH_KEY=$dir/id_ed25519
	RK_H_SSH_PUBKEY=$dir/id_ed25519.pub
	RK_H_KNOWN_HOSTS=$dir/known_hosts
}

# harness_start_ssh_hosts N BASE: N instances in BASE/host1 ... BASE/hostN.
harness_start_ssh_hosts() {
	local count=$1 base=$2 i
	local -a dirs=()
	for ((i = 1; i <= count; i++)); do
		dirs+=("$base/host$i")
	done
	harness_make_sshd_host_keys_in_parallel "${dirs[@]}"
	for ((i = 1; i <= count; i++)); do
		harness_start_sshd "host$i" "$base/host$i" || return 1
	done
}

# RSA key generation dominates start time with several hosts; make them side by side. Waits
# for these jobs only (a bare `wait` would also wait for the caller's background jobs).
harness_make_sshd_host_keys_in_parallel() {
	local dir pid
	local -a pids=()
	for dir in "$@"; do
		harness_make_sshd_host_keys "$dir" &
		pids+=("$!")
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || true	# harness_start_sshd makes what is missing, or says why not
	done
}

# Host keys ed25519 and rsa-3072 (the slow one, ~0.5 s), kept if already there.
harness_make_sshd_host_keys() {
	local dir=$1
	mkdir -p -- "$dir"
	if [[ ! -f $dir/hk_ed25519 ]]; then
		ssh-keygen -q -t ed25519 -N '' -C rekey-harness-host -f "$dir/hk_ed25519" || return 1
	fi
	if [[ ! -f $dir/hk_rsa ]]; then
		ssh-keygen -q -t rsa -b 3072 -N '' -C rekey-harness-host -f "$dir/hk_rsa" || return 1
	fi
}

# harness_start_sshd NAME DIR: a private sshd on a free port, config as in LAB.md (b), logins
# for rkuser and rkadmin with RK_H_SSH_PUBKEY. Adds its port to RK_H_SSH_PORTS and its
# `[127.0.0.1]:PORT ssh-ed25519 ...` line to RK_H_KNOWN_HOSTS and to DIR/known_hosts.
harness_start_sshd() {
	local name=$1 dir=$2 port attempt user
	[[ -n ${RK_H_SSH_PUBKEY:-} ]] || {
		harness_fail "harness_start_sshd: call harness_make_ssh_client_key first"
		return 1
	}
	[[ -n $_rkh_sshd ]] || { harness_fail "sshd not found"; return 1; }
	harness_ensure_test_users || return 1
	mkdir -p -- "$dir/ak" "$dir/scratch" /run/sshd
	chmod 0755 -- "$dir" "$dir/ak"
	chown "$RK_H_SSH_USER:$RK_H_SSH_USER" -- "$dir/scratch"
	harness_make_sshd_host_keys "$dir" || {
		harness_fail "ssh-keygen (host keys for $name) failed"
		return 1
	}
	# sshd reads authorized keys as the user, so they must be readable by the user.
	for user in "$RK_H_SSH_USER" "$RK_H_SSH_ADMIN"; do
		install -m 0644 -- "$RK_H_SSH_PUBKEY" "$dir/ak/$user"
	done
	harness_register_server sshd "$name" "$dir"
	for attempt in 1 2 3; do
		port=$(harness_pick_free_port) || return 1
		harness_write_sshd_config "$dir" "$port"
		harness_run_or_show "sshd -t ($name)" "$_rkh_sshd" -t -f "$dir/sshd_config" || return 1
		rm -f -- "$dir/sshd.pid"
		: >"$dir/sshd.log"
		# Its exit status tells nothing: sshd 9.2 exits 0 and only then its daemon finds
		# the port taken. Wait until our pid listens on the port, or the log says it failed.
		harness_run_logged "$dir/sshd.log" "$_rkh_sshd" -f "$dir/sshd_config" \
			-E "$dir/sshd.log" || true
		if harness_wait_until 10 "sshd $name listens on $port" \
			harness_sshd_listens_or_failed "$dir" "$port" &&
			harness_sshd_listens "$dir" "$port"; then
			break
		fi
		if ((attempt == 3)) || ! grep -q 'Address already in use' "$dir/sshd.log"; then
			harness_fail "sshd $name did not start; $dir/sshd.log says:" \
				"$(tail -n 3 "$dir/sshd.log" | tr '\n' ' ')"
			return 1
		fi
		harness_say "port $port taken meanwhile; sshd $name retries on another"
	done
	printf '%s\n' "$port" >"$dir/port"
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/hk_ed25519.pub")" \
		>"$dir/known_hosts"
	cat -- "$dir/known_hosts" >>"$RK_H_KNOWN_HOSTS"
	_rkh_ssh_ports+=("$port")
	_rkh_ssh_dirs+=("$dir")
	_rkh_ssh_scratch+=("$dir/scratch")
	RK_H_SSH_HOST=127.0.0.1
	RK_H_SSH_PORTS=${_rkh_ssh_ports[*]}
	RK_H_SSH_PORT=${_rkh_ssh_ports[0]}
	RK_H_SSH_DIRS=${_rkh_ssh_dirs[*]}
	RK_H_SSH_SCRATCH_DIRS=${_rkh_ssh_scratch[*]}
	harness_say "sshd $name on 127.0.0.1:$port ($dir)"
}

harness_sshd_listens() {
	local pid
	pid=$(harness_read_pid_file "$1/sshd.pid") && harness_pid_listens_on "$pid" "$2"
}

harness_sshd_listens_or_failed() {
	harness_sshd_listens "$1" "$2" ||
		grep -qE 'Cannot bind any address|fatal|FATAL' "$1/sshd.log"
}

# harness_write_sshd_config DIR PORT [ADDRESS [USERS [LOGLEVEL]]]: DIR/sshd_config for a private
# sshd with DIR's host keys (hk_ed25519, and hk_rsa when there), key logins of USERS only.
harness_write_sshd_config() {
	local dir=$1 port=$2 address=${3:-127.0.0.1} users=${4:-"$RK_H_SSH_USER $RK_H_SSH_ADMIN"}
	local loglevel=${5:-VERBOSE} rsa=""
	[[ ! -f $dir/hk_rsa ]] || rsa="HostKey $dir/hk_rsa"
	cat >"$dir/sshd_config" <<EOF
# Private sshd of the rekey test harness. Loopback only; key logins of the test users only.
Port $port
ListenAddress $address
HostKey $dir/hk_ed25519
$rsa
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/ak/%u
AllowUsers $users
# Keys live below /tmp (mode 1777), which StrictModes would refuse.
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
PrintMotd no
Subsystem sftp internal-sftp
# rekey opens many connections and channels at once; the defaults drop some (LAB.md (b)).
MaxStartups 200:30:400
MaxSessions 50
LogLevel $loglevel
EOF
}

harness_stop_sshd() {
	local dir=$1 pid child
	pid=$(harness_read_pid_file "$dir/sshd.pid") || return 0
	harness_pid_runs_with "$pid" "$dir/sshd_config" || return 0
	# Stopping the listener leaves open sessions running; stop them (and what they run) too.
	for child in $(harness_descendants_of "$pid"); do
		kill -TERM "$child" 2>/dev/null || true
	done
	harness_stop_pid "$pid" "$dir/sshd_config"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL 15

# harness_start_postgresql DIR CERT KEY PASSWORD_FILE: an instance in DIR (owned by postgres)
# serving CERT/KEY with the current CA and CRL; roles rkclient (cert) and rekey (scram, password
# generated into PASSWORD_FILE, may run pg_reload_conf()); any other TCP login is rejected.
harness_start_postgresql() {
	local dir=$1 cert=$2 key=$3 password_file=$4 port attempt password pid
	local bin=$RK_H_PG_BIN
	[[ -x $bin/initdb && -x $bin/pg_ctl ]] || { harness_fail "no PostgreSQL in $bin"; return 1; }
	((${#dir} <= 80)) || {
		harness_fail "$dir is too long for a Unix socket path"
		return 1
	}
	mkdir -p -- "$dir/run"
	harness_make_private_folder "$(dirname -- "$password_file")"
	chmod 0755 -- "$dir"
	chmod 0700 -- "$dir/run"
	chown postgres:postgres -- "$dir" "$dir/run"
	harness_install_server_tls "$dir" postgres "$cert" "$key"
	harness_register_server postgresql postgresql "$dir"
	harness_run_or_show "initdb" runuser -u postgres -- env -C / "$bin/initdb" -D "$dir/data" \
		-U postgres --auth-local=trust --auth-host=reject -N -E UTF8 --locale=C.UTF-8 ||
		return 1
	harness_write_pg_hba "$dir"
	printf "include 'rekey-harness.conf'\n" >>"$dir/data/postgresql.conf"
	for attempt in 1 2 3; do
		port=$(harness_pick_free_port) || return 1
		harness_write_pg_conf "$dir" "$port"
		if harness_run_logged "$dir/pg_ctl.log" runuser -u postgres -- env -C / \
			"$bin/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t "$_rkh_start_timeout" \
			start; then
			break
		fi
		if ((attempt == 3)) || ! grep -q 'could not bind' "$dir/postgresql.log"; then
			harness_fail "PostgreSQL did not start; $dir/postgresql.log says:" \
				"$(tail -n 4 "$dir/postgresql.log" | tr '\n' ' ')"
			return 1
		fi
		harness_say "port $port taken meanwhile; PostgreSQL retries on another"
	done
	printf '%s\n' "$port" >"$dir/port"
	pid=$(harness_read_pid_file "$dir/data/postmaster.pid") &&
		harness_wait_until 10 "the postmaster listens on $port" \
			harness_pid_listens_on "$pid" "$port" || return 1
	password=$(harness_random_password)
	harness_write_secret_file "$password_file" "$password"
	# The password goes on stdin, never on a command line (ps) or into the server log.
	harness_run_or_show "psql (roles)" harness_pg_superuser_sql "$dir" "$port" <<EOF
CREATE ROLE rkclient LOGIN;
CREATE ROLE rekey LOGIN PASSWORD '$password';
GRANT EXECUTE ON FUNCTION pg_reload_conf() TO rekey;
EOF
	RK_H_PG_HOST=127.0.0.1
	RK_H_PG_PORT=$port
	RK_H_PG_DIR=$dir
	RK_H_PG_DATA=$dir/data
	RK_H_PG_SOCKET_DIR=$dir/run
	RK_H_PG_LOG=$dir/postgresql.log
	RK_H_PG_SERVER_CERT=$dir/server.crt
	RK_H_PG_SERVER_KEY=$dir/server.key
	RK_H_PG_CA=$dir/ca.crt
	RK_H_PG_CRL=$dir/ca.crl
	RK_H_PG_USER=rekey
	RK_H_PG_CERT_USER=rkclient
	RK_H_PG_PASSWORD_FILE=$password_file
	RK_H_PG_PGPASS=$(dirname -- "$password_file")/pgpass
	harness_write_secret_file "$RK_H_PG_PGPASS" "127.0.0.1:$port:*:rekey:$password"
	harness_say "PostgreSQL on 127.0.0.1:$port ($dir)"
}

harness_write_pg_conf() {
	local dir=$1 port=$2
	cat >"$dir/data/rekey-harness.conf" <<EOF
# Written by the rekey test harness.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
ssl_ca_file = '$dir/ca.crt'
ssl_crl_file = '$dir/ca.crl'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
log_connections = on
max_connections = 50
shared_buffers = 16MB
# Throwaway data: durability buys nothing here, and fsync makes start and stop slow.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	chown postgres:postgres -- "$dir/data/rekey-harness.conf"
}

harness_write_pg_hba() {
	local dir=$1
	cat >"$dir/data/pg_hba.conf" <<'EOF'
# Written by the rekey test harness. TLS only over TCP; first match wins.
local   all  all                      trust
hostssl all  rkclient  127.0.0.1/32   cert
hostssl all  rekey     127.0.0.1/32   scram-sha-256
host    all  all       127.0.0.1/32   reject
host    all  all       ::1/128        reject
EOF
	chown postgres:postgres -- "$dir/data/pg_hba.conf"
}

# harness_pg_allow_password_role ROLE: lets ROLE log in with a password over TLS (a line before
# the reject lines) and reloads; the caller creates the role.
harness_pg_allow_password_role() {
	local role=$1 hba=$RK_H_PG_DATA/pg_hba.conf
	local line="hostssl all  $role  127.0.0.1/32   scram-sha-256"
	sed -i "/^host    all  all       127.0.0.1/i $line" "$hba"
	harness_run_or_show "pg_reload_conf" harness_pg_superuser_sql "$RK_H_PG_DIR" "$RK_H_PG_PORT" \
		<<<"SELECT pg_reload_conf();"
}

# SQL from stdin as the postgres superuser over the instance's Unix socket.
harness_pg_superuser_sql() {
	local dir=$1 port=$2
	psql -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" -U postgres -d postgres -f -
}

harness_stop_postgresql() {
	local dir=$1 pid
	pid=$(harness_read_pid_file "$dir/data/postmaster.pid") || return 0
	harness_pid_runs_with "$pid" "$dir/data" || return 0
	harness_run_logged "$dir/pg_ctl.log" runuser -u postgres -- env -C / \
		"$RK_H_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t "$_rkh_stop_timeout" stop ||
		harness_say "pg_ctl stop failed for $dir; signalling the postmaster"
	# pg_ctl returns when the pid file is gone, a moment before the process is.
	harness_stop_pid "$pid" "$dir/data"
}

# ---------------------------------------------------------------------------------------------
# MariaDB

# harness_start_mariadb DIR CERT KEY PASSWORD_FILE: an instance in DIR (owned by mysql) serving
# CERT/KEY with the current CA and CRL, TLS required; users rkclient (REQUIRE X509, RELOAD) and
# rekey (password generated into PASSWORD_FILE, REQUIRE SSL, RELOAD).
harness_start_mariadb() {
	local dir=$1 cert=$2 key=$3 password_file=$4 port attempt password pid
	[[ -n $_rkh_mariadbd ]] || { harness_fail "mariadbd not found"; return 1; }
	((${#dir} <= 80)) || {
		harness_fail "$dir is too long for a Unix socket path"
		return 1
	}
	mkdir -p -- "$dir/run" "$dir/data"
	harness_make_private_folder "$(dirname -- "$password_file")"
	chmod 0755 -- "$dir" "$dir/run"
	chown mysql:mysql -- "$dir" "$dir/run" "$dir/data"
	harness_install_server_tls "$dir" mysql "$cert" "$key"
	harness_register_server mariadb mariadb "$dir"
	# Once more from an empty folder if it fails: under load the bootstrap can fail for
	# reasons of the moment, and a harness that flakes hides real failures.
	if ! harness_mariadb_install_db "$dir" 2>"$dir/install-db.err"; then
		rm -rf -- "$dir/data" && mkdir -p -- "$dir/data" && chown mysql:mysql -- "$dir/data"
		harness_say "mariadb-install-db failed once; retrying"
		harness_mariadb_install_db "$dir" || { cat -- "$dir/install-db.err" >&2; return 1; }
	fi
	for attempt in 1 2 3; do
		port=$(harness_pick_free_port) || return 1
		pid=$(harness_launch_mariadbd "$dir" "$port")
		if RK_H_QUIET=1 harness_wait_until "$_rkh_start_timeout" "MariaDB answers" \
			harness_mariadb_answers_or_died "$dir" "$pid" && harness_pid_is_alive "$pid" &&
			harness_wait_until 10 "mariadbd listens on $port" \
				harness_pid_listens_on "$pid" "$port"; then
			break
		fi
		harness_stop_pid "$pid" "$dir/data"
		if ((attempt == 3)) || ! grep -q 'Bind on TCP/IP port' "$dir/mariadb.err"; then
			harness_fail "MariaDB did not start; $dir/mariadb.err says:" \
				"$(grep -E 'ERROR|Error' "$dir/mariadb.err" | tail -n 3 | tr '\n' ' ')"
			return 1
		fi
		harness_say "port $port taken meanwhile; MariaDB retries on another"
	done
	printf '%s\n' "$port" >"$dir/port"
	password=$(harness_random_password)
	harness_write_secret_file "$password_file" "$password"
	harness_run_or_show "mariadb (users)" harness_mariadb_root_sql "$dir" <<EOF
CREATE USER 'rkclient'@'%' REQUIRE X509;
GRANT RELOAD ON *.* TO 'rkclient'@'%';
CREATE USER 'rekey'@'%' IDENTIFIED BY '$password' REQUIRE SSL;
GRANT RELOAD ON *.* TO 'rekey'@'%';
EOF
	RK_H_MY_HOST=127.0.0.1
	RK_H_MY_PORT=$port
	RK_H_MY_DIR=$dir
	RK_H_MY_DATA=$dir/data
	RK_H_MY_SOCKET=$dir/run/mysqld.sock
	RK_H_MY_PID_FILE=$dir/mariadb.pid
	RK_H_MY_LOG=$dir/mariadb.err
	RK_H_MY_SERVER_CERT=$dir/server.crt
	RK_H_MY_SERVER_KEY=$dir/server.key
	RK_H_MY_CA=$dir/ca.crt
	RK_H_MY_CRL=$dir/ca.crl
	RK_H_MY_USER=rekey
	RK_H_MY_CERT_USER=rkclient
	RK_H_MY_PASSWORD_FILE=$password_file
	RK_H_MY_DEFAULTS_FILE=$(dirname -- "$password_file")/mariadb-client.cnf
	harness_write_secret_file "$RK_H_MY_DEFAULTS_FILE" \
		"$(printf '[client]\nuser=rekey\npassword=%s\n' "$password")"
	harness_say "MariaDB on 127.0.0.1:$port ($dir)"
}

# A 16 MB buffer pool and small redo log keep each instance near 100 MB of RAM and disk.
# Native AIO is off: its kernel contexts are shared by every instance on the machine, and
# tests start several at once.
_rkh_mariadb_small=(--innodb-buffer-pool-size=16M --innodb-log-file-size=16M
	--innodb-use-native-aio=0)

harness_mariadb_install_db() {
	local dir=$1
	harness_run_or_show "mariadb-install-db" env -C / mariadb-install-db --no-defaults \
		--user=mysql --datadir="$dir/data" --auth-root-authentication-method=socket \
		--skip-test-db --skip-name-resolve "${_rkh_mariadb_small[@]}"
}

# Starts mariadbd detached (own session, orphaned at once) and prints its pid.
harness_launch_mariadbd() {
	local dir=$1 port=$2
	(
		harness_close_fds_above_stderr
		setsid "$_rkh_mariadbd" --no-defaults --user=mysql --datadir="$dir/data" \
			--port="$port" --bind-address=127.0.0.1 --socket="$dir/run/mysqld.sock" \
			--pid-file="$dir/mariadb.pid" --log-error="$dir/mariadb.err" --skip-name-resolve \
			--ssl-ca="$dir/ca.crt" --ssl-cert="$dir/server.crt" --ssl-key="$dir/server.key" \
			--ssl-crl="$dir/ca.crl" --require-secure-transport=ON --skip-log-bin \
			--max-connections=100 --performance-schema=OFF "${_rkh_mariadb_small[@]}" \
			</dev/null >/dev/null 2>&1 &
		# Until mariadbd writes its own pid file, this one lets cleanup find it.
		printf '%s\n' "$!" | tee "$dir/mariadb.launch.pid"
	)
}

# Succeeds when the server answers on its socket, and also when it died (so the poll stops
# at once; the caller tells the two apart).
harness_mariadb_answers_or_died() {
	local dir=$1 pid=$2
	! harness_pid_is_alive "$pid" && return 0
	mariadb-admin --no-defaults --socket="$dir/run/mysqld.sock" -uroot --connect-timeout=2 \
		ping >/dev/null 2>&1
}

# SQL from stdin as root over the instance's socket (unix_socket authentication).
harness_mariadb_root_sql() {
	local dir=$1
	mariadb --no-defaults --socket="$dir/run/mysqld.sock" -uroot
}

harness_stop_mariadb() {
	local dir=$1 pid
	pid=$(harness_read_pid_file "$dir/mariadb.pid") ||
		pid=$(harness_read_pid_file "$dir/mariadb.launch.pid") || return 0
	harness_stop_pid "$pid" "$dir/data"
}

# ---------------------------------------------------------------------------------------------
# Environment for tests

# Lists the names of the RK_H_ variables that are set (public ones only: internal state is _rkh_).
harness_public_variables() {
	compgen -v RK_H_ | grep -v -e '^RK_H_QUIET$' || true
}

# harness_write_env [FILE]: `export NAME=VALUE` lines (shell-quoted) for every public variable.
harness_write_env() {
	local file=${1:-$RK_H_ENV_FILE} name
	{
		printf '# Written by the rekey test harness: source it.\n'
		for name in $(harness_public_variables); do
			printf 'export %s=%q\n' "$name" "${!name}"
		done
	} >"$file"
}

harness_export_env() {
	local name
	for name in $(harness_public_variables); do
		export "${name?}"
	done
}

# harness_why_not_able [ssh] [pg] [mariadb]: prints the first reason why this machine cannot run
# those servers (not root, a tool missing) and fails; succeeds silently when it can.
harness_why_not_able() {
	local what tool
	local -a tools=(openssl python3 flock setsid ss runuser)
	if (($(id -u) != 0)); then
		printf 'needs root (creates test users, runs servers as postgres and mysql)\n'
		return 1
	fi
	for what in "$@"; do
		case $what in
		ssh) tools+=(ssh ssh-keygen sftp sudo visudo useradd "$_rkh_sshd")
			[[ -n $_rkh_sshd ]] || { printf 'sshd not installed\n'; return 1; } ;;
		pg) tools+=(psql "$RK_H_PG_BIN/initdb" "$RK_H_PG_BIN/pg_ctl" "$RK_H_PG_BIN/postgres") ;;
		mariadb) tools+=(mariadb mariadb-admin mariadb-install-db "$_rkh_mariadbd")
			[[ -n $_rkh_mariadbd ]] || { printf 'mariadbd not installed\n'; return 1; } ;;
		*) printf 'unknown server kind %s\n' "$what"; return 1 ;;
		esac
	done
	for tool in "${tools[@]}"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			printf '%s not installed (scripts/install-deps.sh installs it)\n' "$tool"
			return 1
		fi
	done
	if ! getent passwd postgres >/dev/null && [[ " $* " == *" pg "* ]]; then
		printf 'no postgres user\n'
		return 1
	fi
	if ! getent passwd mysql >/dev/null && [[ " $* " == *" mariadb "* ]]; then
		printf 'no mysql user\n'
		return 1
	fi
}
