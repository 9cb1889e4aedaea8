#!/usr/bin/env bash
# Pushes four files (cert, key, CA, CRL) with mode and owner to HOSTS sshd instances on
# 127.0.0.2 ... (one port, LAB.md (b)), first with rekey's ssh transport from a pool of WORKERS
# threads (one session per host, every file checked afterwards), then with Ansible's copy
# module (forks = WORKERS, backup: true), in one run on this machine; prints both times, the
# ratio and rekey's peak memory. Old versions of the files are there first, so both replace
# (and back up) rather than create. Needs root (sshd, the harness's test user rkuser); installs
# Debian's ansible package when missing. Never run by ctest. REKEY_BENCH_TOOLS=rekey runs rekey
# alone (while working on it: the figures to report come from both).
# Usage: bench/push.sh [BUILD_DIR] [HOSTS] [WORKERS]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
. "$repo/bench/lib.sh"
bench_init push.sh bench_push "$@"
port=$bench_port
user=$RK_H_SSH_USER

start_host() {
	local i=$1 addr
	addr=$(bench_addr "$1")
	bench_start_sshd "$i"
	for tool in rekey ansible; do
		install -d -o "$user" -g "$user" -m 0755 "$RK_H_DIR/targets/h$i/$tool"
		for f in server.crt server.key ca.crt ca.crl; do
			f=$RK_H_DIR/targets/h$i/$tool/$f
			install -o "$user" -g "$user" -m 0600 /dev/null "$f"
			echo old >"$f"
		done
	done
	printf 'h%s %s %s %s\n' "$i" "$addr" "$port" "$RK_H_DIR/targets/h$i/rekey" \
		>>"$RK_H_DIR/hosts.txt"
	printf 'h%s ansible_host=%s folder=%s\n' "$i" "$addr" "$RK_H_DIR/targets/h$i/ansible" \
		>>"$RK_H_DIR/inventory.body"
}

t0=$(date +%s.%N)
for ((i = 1; i <= count; i++)); do
	start_host "$i"
done
bench_wait_for_sshd "$count"
t1=$(date +%s.%N)
printf 'push.sh: %d sshd on 127.0.0.2-%s:%d started in %.2f s\n' "$count" \
	"$(bench_addr "$count")" "$port" "$(echo "$t1 - $t0" | bc)"

# rekey
/usr/bin/time -v -o "$RK_H_DIR/rekey.time" "$build/bin/bench_push" "$RK_H_DIR/hosts.txt" \
	"$user" "$RK_H_SSH_KEY" "$RK_H_KNOWN_HOSTS" "$workers" "$RK_H_SERVER_CERT" \
	"$RK_H_SERVER_KEY" "$RK_H_CA" "$RK_H_CA_CRL" >"$RK_H_DIR/rekey.out"
read -r _ hosts _ files _ failed _ rekey_s _ rss_kib <"$RK_H_DIR/rekey.out"
time_rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$RK_H_DIR/rekey.time")

if [[ ${REKEY_BENCH_TOOLS:-rekey ansible} != rekey ]]; then
	# Ansible, same hosts, same files, same parallelism
	bench_ansible_inventory "$RK_H_DIR/inventory.body" >"$RK_H_DIR/inventory"
	{
		printf -- '- hosts: bench\n  gather_facts: false\n  tasks:\n'
		bench_ansible_copy_task "push cert, key, CA and CRL with mode and owner" \
			"{{ folder }}/{{ item.name }}" "$user"
		cat <<YML
        - { src: "$RK_H_SERVER_CERT", name: server.crt, mode: "0644" }
        - { src: "$RK_H_SERVER_KEY", name: server.key, mode: "0600" }
        - { src: "$RK_H_CA", name: ca.crt, mode: "0644" }
        - { src: "$RK_H_CA_CRL", name: ca.crl, mode: "0644" }
YML
	} >"$RK_H_DIR/push.yml"
	t0=$(date +%s.%N)
	ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_LOCAL_TEMP=$RK_H_DIR/ansible-tmp \
		ansible-playbook -i "$RK_H_DIR/inventory" -f "$workers" "$RK_H_DIR/push.yml" \
		>"$RK_H_DIR/ansible.out" 2>&1 || { tail -20 "$RK_H_DIR/ansible.out" >&2; exit 1; }
	t1=$(date +%s.%N)
	ansible_s=$(echo "$t1 - $t0" | bc)
	ansible_ok=$(grep -c 'changed=1' "$RK_H_DIR/ansible.out" || true)
fi

# Both really landed: the same bytes and modes on every host.
for ((i = 1; i <= count; i++)); do
	for f in server.crt server.key ca.crt ca.crl; do
		[[ ${ansible_s:-} == "" ]] ||
			cmp -s "$RK_H_DIR/targets/h$i/rekey/$f" "$RK_H_DIR/targets/h$i/ansible/$f" ||
			{ echo "push.sh: h$i/$f differs between rekey and ansible" >&2; exit 1; }
	done
	[[ $(stat -c %a "$RK_H_DIR/targets/h$i/rekey/server.key") == 600 ]] ||
		{ echo "push.sh: h$i rekey key mode" >&2; exit 1; }
done

printf '%-8s %6s %6s %7s %10s %14s\n' tool hosts files failed seconds "peak RSS"
printf '%-8s %6s %6s %7s %10.2f %11s KiB\n' rekey "$hosts" "$files" "$failed" "$rekey_s" \
	"${time_rss:-$rss_kib}"
printf 'rekey %s, libssh2 %s, OpenSSH %s, cores: %s\n' "$("$build/bin/rekey" --version | cut -d' ' -f2)" \
	"$(pkg-config --modversion libssh2 2>/dev/null || echo '?')" \
	"$(ssh -V 2>&1 | sed 's/^OpenSSH_\([^,]*\).*/\1/')" "$(nproc)"
[[ ${ansible_s:-} != "" ]] || exit 0
printf '%-8s %6s %6s %7s %10.2f %14s\n' ansible "$count" $((count * 4)) \
	$((count - ansible_ok)) "$ansible_s" "-"
printf 'ratio (ansible / rekey): %.1fx   workers/forks: %s   ansible-core %s   libssh2 %s\n' \
	"$(echo "$ansible_s / $rekey_s" | bc -l)" "$workers" \
	"$(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p')" \
	"$(pkg-config --modversion libssh2 2>/dev/null || echo '?')"
