#!/usr/bin/env bash
# Updates one application .env (four TLS settings) on HOSTS sshd instances on 127.0.0.2 ...
# (one port, LAB.md (b)), with rekey and with Ansible's lineinfile (forks = WORKERS), in one
# run on this machine, twice: first the dry run a responder reads before changing anything
# (`rekey plan --diff` against `ansible-playbook --check --diff`), then the change itself
# (rekey's client step: read, edit, atomic replace with owner, mode and a backup, from
# bench_clients; lineinfile with backup: true). Checks that both leave the same bytes and mode,
# then prints the times and ratios. Needs root (sshd, the harness's test user rkuser);
# installs Debian's ansible package when missing. Never run by ctest.
# Usage: bench/clients.sh [BUILD_DIR] [HOSTS] [WORKERS]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
. "$repo/bench/lib.sh"
bench_init clients.sh bench_clients "$@"
user=$RK_H_SSH_USER
dir=$RK_H_DIR

app_env() {	# app_env I: the .env an app host has before the rotation
	cat <<ENV
# billing app, host $1
APP_NAME=billing
DB_HOST=db1.internal
DB_PORT=5432
DB_USER=app
DB_PASSWORD=not-a-real-password-$1
DB_SSL_MODE=require
DB_SSL_CA_CERT=/etc/ssl/certs/old-ca.crt
LOG_LEVEL=info
ENV
}

{
	printf 'version: 1\nca: {cert: %s, key: %s}\n' "$RK_H_CA" "$RK_H_CA_KEY"
	printf 'policy: {max_parallel: %s}\nhosts:\n' "$workers"
} >"$dir/bench.yml"
clients=""
t0=$(date +%s.%N)
for ((i = 1; i <= count; i++)); do
	bench_start_sshd "$i"
	for tool in rekey ansible; do
		install -d -o "$user" -g "$user" -m 0755 "$dir/targets/h$i/$tool"
		app_env "$i" >"$dir/targets/h$i/$tool/app.env"
		chown "$user:$user" "$dir/targets/h$i/$tool/app.env"
		chmod 0640 "$dir/targets/h$i/$tool/app.env"
	done
	printf '  h%s: {transport: ssh, address: %s, port: %s, user: %s, identity: %s, known_hosts: %s}\n' \
		"$i" "$(bench_addr "$i")" "$bench_port" "$user" "$RK_H_SSH_KEY" "$RK_H_KNOWN_HOSTS" >>"$dir/bench.yml"
	clients+="  - {name: c$i, host: h$i, file: {path: $dir/targets/h$i/rekey/app.env, format: env},"
	clients+=" set: {DB_SSL_MODE: verify-full, DB_SSL_CA_CERT: /etc/ssl/certs/db-ca.crt,"
	clients+=" DB_SSL_CLIENT_CERT: /etc/ssl/certs/app.crt, DB_SSL_CLIENT_KEY: /etc/ssl/private/app.key}}"$'\n'
	printf 'h%s ansible_host=%s folder=%s\n' "$i" "$(bench_addr "$i")" "$dir/targets/h$i/ansible" \
		>>"$dir/inventory.body"
done
printf 'clients:\n%s' "$clients" >>"$dir/bench.yml"
bench_wait_for_sshd "$count"
t1=$(date +%s.%N)
printf 'clients.sh: %d sshd on 127.0.0.2-%s:%d started in %.2f s\n' "$count" \
	"$(bench_addr "$count")" "$bench_port" "$(echo "$t1 - $t0" | bc)"

bench_ansible_inventory "$dir/inventory.body" >"$dir/inventory"
{
	printf -- '- hosts: bench\n  gather_facts: false\n  tasks:\n'
	bench_ansible_lineinfile_task "TLS settings of the app's .env" "{{ folder }}/app.env"
	cat <<YML
        - { key: DB_SSL_MODE, value: verify-full }
        - { key: DB_SSL_CA_CERT, value: /etc/ssl/certs/db-ca.crt }
        - { key: DB_SSL_CLIENT_CERT, value: /etc/ssl/certs/app.crt }
        - { key: DB_SSL_CLIENT_KEY, value: /etc/ssl/private/app.key }
YML
} >"$dir/clients.yml"
ansible_run() {	# ansible_run OUT [--check --diff]
	local out=$1
	shift
	ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_LOCAL_TEMP=$dir/ansible-tmp \
		ansible-playbook -i "$dir/inventory" -f "$workers" "$@" "$dir/clients.yml" \
		>"$out" 2>&1 || { tail -20 "$out" >&2; exit 1; }
}
seconds() { echo "$2 - $1" | bc; }

# 1. The dry run: what would change, as a diff, nothing written.
t0=$(date +%s.%N)
"$build/bin/rekey" plan --diff "$dir/bench.yml" >"$dir/rekey-plan.out" 2>&1 ||
	{ tail -20 "$dir/rekey-plan.out" >&2; exit 1; }
t1=$(date +%s.%N)
rekey_plan_s=$(seconds "$t0" "$t1")
grep -q "Client files read: $count to change, 0 already up to date, 0 that" "$dir/rekey-plan.out" ||
	{ echo "clients.sh: rekey plan --diff did not read every file" >&2; exit 1; }
! grep -q 'not-a-real-password' "$dir/rekey-plan.out" ||
	{ echo "clients.sh: rekey plan --diff shows a password" >&2; exit 1; }
t0=$(date +%s.%N)
ansible_run "$dir/ansible-check.out" --check --diff
t1=$(date +%s.%N)
ansible_check_s=$(seconds "$t0" "$t1")
grep -q "changed=1" "$dir/ansible-check.out" ||
	{ echo "clients.sh: ansible --check found nothing to change" >&2; exit 1; }
for ((i = 1; i <= count; i++)); do
	for tool in rekey ansible; do
		cmp -s <(app_env "$i") "$dir/targets/h$i/$tool/app.env" ||
			{ echo "clients.sh: the $tool dry run changed h$i" >&2; exit 1; }
	done
done

# 2. The change.
"$build/bin/bench_clients" "$dir/bench.yml" "$workers" >"$dir/rekey-apply.out"
read -r _ n _ changed _ failed _ rekey_apply_s <"$dir/rekey-apply.out"
[[ $n == "$count" && $changed == "$count" && $failed == 0 ]] ||
	{ echo "clients.sh: rekey: $(cat "$dir/rekey-apply.out")" >&2; exit 1; }
t0=$(date +%s.%N)
ansible_run "$dir/ansible-apply.out"
t1=$(date +%s.%N)
ansible_apply_s=$(seconds "$t0" "$t1")

# Both landed the same bytes, owner and mode, and kept a backup.
for ((i = 1; i <= count; i++)); do
	cmp -s "$dir/targets/h$i/rekey/app.env" "$dir/targets/h$i/ansible/app.env" ||
		{ echo "clients.sh: h$i: rekey and ansible wrote different files" >&2;
		  diff "$dir/targets/h$i/rekey/app.env" "$dir/targets/h$i/ansible/app.env" >&2; exit 1; }
	[[ $(stat -c '%U %a' "$dir/targets/h$i/rekey/app.env") == "$user 640" ]] ||
		{ echo "clients.sh: h$i: rekey lost the owner or mode" >&2; exit 1; }
	grep -q '^DB_SSL_MODE=verify-full$' "$dir/targets/h$i/rekey/app.env" ||
		{ echo "clients.sh: h$i: not changed" >&2; exit 1; }
	# lineinfile backs up once per loop item, so only one of its copies is the old file.
	for tool in rekey ansible; do
		found=no
		for bak in "$dir/targets/h$i/$tool/app.env."*; do
			! cmp -s <(app_env "$i") "$bak" || found=yes
		done
		[[ $found == yes ]] || { echo "clients.sh: h$i: $tool kept no backup" >&2; exit 1; }
	done
done

printf '%-24s %8s %12s %8s\n' step rekey ansible ratio
printf '%-24s %7.2fs %11.2fs %7.1fx\n' "dry run with diff" "$rekey_plan_s" "$ansible_check_s" \
	"$(echo "$ansible_check_s / $rekey_plan_s" | bc -l)"
printf '%-24s %7.2fs %11.2fs %7.1fx\n' "edit (atomic, backup)" "$rekey_apply_s" \
	"$ansible_apply_s" "$(echo "$ansible_apply_s / $rekey_apply_s" | bc -l)"
printf 'hosts whose password the dry run printed: rekey %s, ansible %s\n' \
	"$(grep -c 'not-a-real-password' "$dir/rekey-plan.out" || true)" \
	"$(grep -o 'not-a-real-password-[0-9]*' "$dir/ansible-check.out" | sort -u | wc -l)"
printf 'hosts: %s   workers/forks: %s   ansible-core %s   libssh2 %s\n' "$count" "$workers" \
	"$(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p')" \
	"$(pkg-config --modversion libssh2 2>/dev/null || echo '?')"
