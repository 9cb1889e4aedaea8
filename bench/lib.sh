# shellcheck shell=bash
# Shared by the benchmarks that need many ssh hosts (bench/push.sh, bench/clients.sh): sshd
# instances on 127.0.0.2, 127.0.0.3, ... (bench_addr: 250 to a /24, then 127.0.1.2, ...) all on
# one port (LAB.md (b)), in the harness's private folder, stopped with it. Source it, then call
# bench_init.

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/harness/harness.sh
. "$bench_repo/tests/harness/harness.sh"

# bench_init NAME PROGRAM [BUILD_DIR] [HOSTS] [WORKERS]: sets build, count and workers (defaults:
# build/, 100, 16), checks root and that BUILD_DIR/bin/PROGRAM and rekey are built, installs
# ansible when missing, then starts the harness (a private folder, cleaned up with its servers
# on exit) and bench_ssh_setup.
bench_init() {
	local name=$1 program=$2
	build=$(realpath "${3:-$bench_repo/build}")
	count=${4:-100}
	# shellcheck disable=SC2034	# read by the scripts that source this file
	workers=${5:-16}
	[[ $(id -u) == 0 ]] || { echo "$name: run as root (starts sshd, logs in as rkuser)" >&2; exit 2; }
	[[ -x $build/bin/$program && -x $build/bin/rekey ]] ||
		{ echo "$name: build first: cmake --build $build" >&2; exit 2; }
	((count >= 1 && count <= 2000)) || { echo "$name: HOSTS must be 1 to 2000" >&2; exit 2; }
	export RK_H_REKEY=$build/bin/rekey RK_H_QUIET=1
	bench_need_ansible
	# shellcheck disable=SC2119	# the harness takes no arguments of the benchmark's
	harness_init
	bench_ssh_setup
}

# bench_ssh_setup: the test users, a CA, the client key, one free port ($bench_port).
bench_ssh_setup() {
	harness_ensure_test_users
	harness_make_ca "$RK_H_DIR/pki"
	harness_make_ssh_client_key "$RK_H_DIR/ssh"
	mkdir -p /run/sshd
	bench_port=$(harness_pick_free_port)
}

# bench_addr I: the loopback address of host I (1-based): 127.0.0.2 to 127.0.0.251 for the first
# 250, then 127.0.1.2 ... (the whole 127/8 answers on lo; no .0, .1 or .255 in the last byte).
bench_addr() {
	printf '127.0.%d.%d' $((($1 - 1) / 250)) $((($1 - 1) % 250 + 2))
}

# bench_start_sshd I [USER]: sshd number I on $(bench_addr I):$bench_port in hosts/hI, login
# USER (default $RK_H_SSH_USER) with RK_H_SSH_KEY, its host key added to RK_H_KNOWN_HOSTS.
bench_start_sshd() {
	local i=$1 addr dir=$RK_H_DIR/hosts/h$1 user=${2:-$RK_H_SSH_USER}
	addr=$(bench_addr "$1")
	mkdir -p "$dir/ak"
	ssh-keygen -q -t ed25519 -N '' -C bench -f "$dir/hk_ed25519"
	install -m 0644 "$RK_H_SSH_PUBKEY" "$dir/ak/$user"
	harness_write_sshd_config "$dir" "$bench_port" "$addr" "$user" ERROR
	harness_register_server sshd "h$i" "$dir"
	harness_run_logged "$dir/sshd.log" "$(command -v sshd)" -f "$dir/sshd_config" \
		-E "$dir/sshd.log"
	printf '[%s]:%s %s\n' "$addr" "$bench_port" "$(cut -d' ' -f1,2 "$dir/hk_ed25519.pub")" \
		>>"$RK_H_KNOWN_HOSTS"
}

# bench_wait_for_sshd COUNT: until COUNT sshd listen on $bench_port.
bench_wait_for_sshd() {
	local count=$1
	# shellcheck disable=SC2317	# called by harness_wait_until
	all_listen() { (($(ss -Hltn "sport = :$bench_port" | wc -l) >= count)); }
	harness_wait_until 30 "$count sshd listen on port $bench_port" all_listen
}

# bench_ansible_inventory BODY_FILE: an inventory for group [bench] (BODY_FILE holds the host
# lines) reaching the hosts as RK_H_SSH_USER with strict host key checking.
bench_ansible_inventory() {
	printf '[bench]\n'
	cat "$1"
	printf '\n[bench:vars]\nansible_port=%s\nansible_user=%s\n' "$bench_port" "$RK_H_SSH_USER"
	printf 'ansible_ssh_private_key_file=%s\nansible_python_interpreter=/usr/bin/python3\n' \
		"$RK_H_SSH_KEY"
	printf "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" \
		"$RK_H_KNOWN_HOSTS"
	printf " -o IdentitiesOnly=yes'\n"
}

# bench_need_ansible: Debian's ansible package, installed on first use (benchmarks only).
bench_need_ansible() {
	if ! command -v ansible-playbook >/dev/null; then
		echo "bench: installing Debian's ansible package (once)" >&2
		apt-get install -y ansible >/dev/null
	fi
}

# bench_need_debian_packages PACKAGE...: those not installed yet, installed on first use
# (benchmarks only; e.g. the database drivers of Ansible's postgresql and mysql collections).
bench_need_debian_packages() {
	local package
	local -a missing=()
	for package in "$@"; do
		dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$package")
	done
	((${#missing[@]} == 0)) && return 0
	echo "bench: installing ${missing[*]} (once)" >&2
	apt-get install -y "${missing[@]}" >/dev/null
}

# bench_ansible_copy_task NAME DEST [OWNER]: an ansible.builtin.copy task over a loop of
# {src, mode} items (the caller prints them after this) with backup: true, owner and group
# OWNER when given.
bench_ansible_copy_task() {
	local name=$1 dest=$2 owner=${3:-}
	printf '    - name: %s\n      ansible.builtin.copy:\n' "$name"
	printf '        src: "{{ item.src }}"\n        dest: "%s"\n' "$dest"
	[[ -z $owner ]] || printf '        owner: %s\n        group: %s\n' "$owner" "$owner"
	printf '        mode: "{{ item.mode }}"\n        backup: true\n      loop:\n'
}

# bench_ansible_lineinfile_task NAME PATH: an ansible.builtin.lineinfile task setting KEY=VALUE
# for a loop of {key, value} items (the caller prints them after this), backup: true.
bench_ansible_lineinfile_task() {
	printf '    - name: %s\n      ansible.builtin.lineinfile:\n        path: "%s"\n' "$1" "$2"
	printf '        regexp: "^{{ item.key }}="\n        line: "{{ item.key }}={{ item.value }}"\n'
	printf '        backup: true\n      loop:\n'
}
