#!/usr/bin/env bash
# harness/sshd: two private sshd instances from with-servers.sh accept the test users' key logins
# with strict host key checking, give rkadmin (only) sudo, refuse unknown and changed host keys
# and unauthorized keys, serve SFTP; afterwards no process and no folder is left.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=harness/sshd
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$here/testlib.sh"

# ssh/sftp options: only our key and our known_hosts, never the caller's ~/.ssh or /etc/ssh.
ssh_options() {
	local known_hosts=$1 key=${2:-$RK_H_SSH_KEY}
	printf '%s\n' -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o IdentitiesOnly=yes -o IdentityFile="$key" -o ConnectTimeout=10 -o LogLevel=ERROR
}

check_one_host() {
	local port=$1 dir=$2 scratch=$3 state=$4
	local -a opts
	mapfile -t opts < <(ssh_options "$RK_H_KNOWN_HOSTS")

	# shellcheck disable=SC2016 # the remote shell expands it
	rk_t_exits_with "[$port] rkuser logs in; the remote exit status comes back" 7 \
		ssh "${opts[@]}" -p "$port" "$RK_H_SSH_USER@127.0.0.1" \
		'test "$(id -un)" = rkuser && exit 7'
	rk_t_succeeds "[$port] rkadmin runs sudo -n" \
		ssh "${opts[@]}" -p "$port" "$RK_H_SSH_ADMIN@127.0.0.1" 'sudo -n id -u'
	rk_t_equals "[$port] sudo -n id -u prints 0" 0 "$rk_t_out"
	rk_t_refused "[$port] rkuser may not sudo" 'a password is required' \
		ssh "${opts[@]}" -p "$port" "$RK_H_SSH_USER@127.0.0.1" 'sudo -n true'

	# The same client with an empty known_hosts: the host is unknown, strict checking refuses.
	: >"$state/empty_known_hosts"
	mapfile -t opts < <(ssh_options "$state/empty_known_hosts")
	rk_t_refused "[$port] unknown host key is refused" 'Host key verification failed' \
		ssh "${opts[@]}" -p "$port" "$RK_H_SSH_USER@127.0.0.1" true

	# Our port with another instance's key: ssh must call it a changed host key.
	local other
	other=$(cut -d' ' -f2- "$(other_dir "$dir")/known_hosts")
	printf '[127.0.0.1]:%s %s\n' "$port" "$other" >"$state/wrong_known_hosts"
	mapfile -t opts < <(ssh_options "$state/wrong_known_hosts")
	rk_t_refused "[$port] changed host key is refused" 'REMOTE HOST IDENTIFICATION HAS CHANGED' \
		ssh "${opts[@]}" -p "$port" "$RK_H_SSH_USER@127.0.0.1" true

	mapfile -t opts < <(ssh_options "$RK_H_KNOWN_HOSTS" "$state/stranger_key")
	rk_t_refused "[$port] a key not in authorized keys is refused" 'Permission denied' \
		ssh "${opts[@]}" -p "$port" "$RK_H_SSH_USER@127.0.0.1" true

	# SFTP: upload, rename over nothing, download; the file lands as rkuser with our bytes.
	head -c 4096 /dev/urandom >"$state/payload"
	cat >"$state/sftp.batch" <<EOF
put $state/payload $scratch/payload.tmp
rename $scratch/payload.tmp $scratch/payload
get $scratch/payload $state/payload.back
EOF
	mapfile -t opts < <(ssh_options "$RK_H_KNOWN_HOSTS")
	rk_t_succeeds "[$port] sftp put, rename and get" \
		sftp "${opts[@]}" -P "$port" -b "$state/sftp.batch" "$RK_H_SSH_USER@127.0.0.1"
	rk_t_succeeds "[$port] the file came back unchanged" cmp "$state/payload" "$state/payload.back"
	rk_t_equals "[$port] the uploaded file belongs to rkuser" "$RK_H_SSH_USER" \
		"$(stat -c %U "$scratch/payload")"
}

# The instance folder that is not DIR (there are two).
other_dir() {
	local d
	for d in $RK_H_SSH_DIRS; do
		[[ $d == "$1" ]] || { printf '%s\n' "$d"; return; }
	done
}

inside() {
	local state=$1 i
	local -a ports dirs scratch
	read -r -a ports <<<"$RK_H_SSH_PORTS"
	read -r -a dirs <<<"$RK_H_SSH_DIRS"
	read -r -a scratch <<<"$RK_H_SSH_SCRATCH_DIRS"
	rk_t_record_servers "$state"
	rk_t_equals "two instances on two ports" 2 "${#ports[@]}"
	[[ ${ports[0]} != "${ports[1]}" ]] || rk_t_fail "both instances got port ${ports[0]}"
	rk_t_equals "known_hosts has one ed25519 line per instance" 2 \
		"$(grep -c '^\[127\.0\.0\.1\]:[0-9]* ssh-ed25519 ' "$RK_H_KNOWN_HOSTS")"
	ssh-keygen -q -t ed25519 -N '' -f "$state/stranger_key"
	for i in 0 1; do
		check_one_host "${ports[i]}" "${dirs[i]}" "${scratch[i]}" "$state"
	done
}

rk_t_run_under_servers 15 --ssh 2
