#!/usr/bin/env bash
# Finds every copy of a leaked key on HOSTS hosts, first with `rekey sweep PLAYBOOK --json`,
# then with the loop a responder writes today (ssh to each host, `find -type f`, `grep -l
# BEGIN`, and for each candidate `openssl x509 -pubkey` or `openssl pkey -pubout` into
# `sha256sum`, compared with the leaked key's SPKI hash; WORKERS hosts at a time with `xargs
# -P`, WORKERS = rekey's policy.max_parallel), then, when it can finish in a few minutes, with
# Ansible (find with contains, slurp, community.crypto's filters), in one run on this machine;
# prints the times, the ratios, what each found and missed, tool versions and core count.
#
# Each host (sshd on 127.0.0.2 ... on one port, LAB.md (b), login rkuser) has its own tree of
# FILES files: one tree made once by bench/sweep-tree.py (configuration, logs, binaries of mixed
# sizes, SQL and shell scripts that say BEGIN, and about one file in ten of other services'
# certificates and keys: PEM, DER, PKCS#12, bundles, SSH keys, two world-readable keys, three
# files rkuser cannot read), hardlinked into each host's folder, plus the leaked key and
# certificate planted as a handful of copies of the host's own: PEM key, PEM certificate, a
# fullchain with the CA after it, DER, PKCS#12 under a passphrase, the key indented in a YAML
# file; on every fourth host an .env holding the key as an escaped one-line PEM, on every tenth
# a world-readable traditional-form copy. The script knows each planted path; a tool's figure
# counts only if it found exactly those (rekey), and the loop's hits and misses are listed.
#
# rekey's playbook names the leaked certificate under revoke: (what sweep looks for) and each
# host's tree as its sweep_paths; sweep.paths is an empty folder, so the default folders (the
# machine's own /etc/ssl, the same for every host here) are not swept.
#
# Needs root (sshd, the test user rkuser) and python3-cryptography (installed when missing,
# with Debian's ansible package). Never run by ctest. REKEY_BENCH_TOOLS="rekey shell ansible"
# (the default) chooses the sides; REKEY_BENCH_KEEP=DIR keeps the playbook, the JSON, the loop's
# script and results there. REKEY_BENCH_LOOP_HOSTS=K has the loop and Ansible visit h1 ... hK
# only (default: every host); rekey then also sweeps those K alone, and the ratios compare like
# with like (on 2 cores the loop needs about 20 s a host: 100 hosts take over half an hour).
# REKEY_BENCH_ANSIBLE_LIMIT=S (default 300) skips Ansible when its run on two hosts, times K / 2,
# predicts more than S seconds (the two already keep both cores busy).
# Usage: bench/sweep.sh [BUILD_DIR] [HOSTS] [WORKERS] [FILES]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
. "$repo/bench/lib.sh"
files=${4:-3000}
bench_tools=${REKEY_BENCH_TOOLS:-rekey shell ansible}
ansible_limit=${REKEY_BENCH_ANSIBLE_LIMIT:-300}
bench_need_debian_packages python3-cryptography
bench_init sweep.sh rekey "${@:1:3}"
((files >= 100 && files <= 20000)) || { echo "sweep.sh: FILES must be 100 to 20000" >&2; exit 2; }
dir=$RK_H_DIR
user=$RK_H_SSH_USER
incident=BENCH-SWEEP
export BENCH_P12_PASS=bench-p12-pass
say() { printf 'sweep.sh: %s\n' "$*"; }
die() { printf 'sweep.sh: %s\n' "$*" >&2; keep_outputs; exit 1; }
keep_outputs() {
	local f
	[[ -n ${REKEY_BENCH_KEEP:-} ]] || return 0
	mkdir -p "$REKEY_BENCH_KEEP"
	for f in rekey.yml rekey.json rekey.err rekey.time rekey.found rekey-sub.yml rekey-sub.json \
		rekey-sub.err rekey-sub.time rekey-sub.found expected.txt shell-loop.sh remote.sh \
		shell.hosts shell.found shell.err inventory sweep-ansible.yml ansible-probe.out \
		ansible-probe.found ansible.out ansible.found; do
		[[ ! -f $dir/$f ]] || cp "$dir/$f" "$REKEY_BENCH_KEEP/"
	done
}
seconds() { echo "$2 - $1" | bc; }

# ---------------------------------------------------------------------------------------------
# The leaked key and certificate, in every form the hosts hold them

make_leaked() {
	local l=$dir/leaked
	install -d -m 0700 "$l"
	harness_ca_issue "$dir/pki" leaked server "/O=rekey bench/CN=app.corp.internal" \
		"DNS:app.corp.internal"
	cp "$dir/pki/leaked.key" "$l/key.pem"
	cp "$dir/pki/leaked.crt" "$l/cert.pem"
	cat "$l/cert.pem" "$RK_H_CA" >"$l/fullchain.pem"
	openssl x509 -in "$l/cert.pem" -outform DER -out "$l/cert.der"
	openssl pkcs12 -export -inkey "$l/key.pem" -in "$l/cert.pem" -name app.corp \
		-passout env:BENCH_P12_PASS -out "$l/keystore.p12"
	openssl pkey -in "$l/key.pem" -traditional -out "$l/key-traditional.pem"
	{
		printf 'app:\n  name: billing\n  tls:\n    key: |\n'
		sed 's/^/      /' "$l/key.pem"
		printf '    port: 8443\n'
	} >"$l/tls.yml"
	printf 'APP_NAME=billing\nTLS_KEY="%s"\nLOG_LEVEL=info\n' \
		"$(awk '{printf "%s\\n", $0}' "$l/key.pem")" >"$l/env"
	leaked_spki=$(openssl pkey -in "$l/key.pem" -pubout -outform DER | sha256sum | cut -d' ' -f1)
}

# plant I ROOT: the leaked copies on host I, each listed in expected.txt as "hI PATH KIND".
plant() {
	local i=$1 root=$2 l=$dir/leaked kind src rel mode
	local -a items=(
		"pem-key key.pem etc/ssl/private/app.corp.key 0600"
		"pem-cert cert.pem etc/ssl/certs/app.corp.crt 0644"
		"fullchain fullchain.pem etc/nginx/tls/fullchain.pem 0644"
		"der cert.der var/backups/2026-11/app.corp.der 0644"
		"pkcs12 keystore.p12 opt/vendor/agent/conf/keystore.p12 0600"
		"yaml tls.yml srv/app/conf/tls.yml 0640"
	)
	((i % 4 != 0)) || items+=("env-escaped env home/deploy/.env 0600")
	((i % 10 != 0)) || items+=("traditional-0644 key-traditional.pem home/deploy/old-certs/app.corp.key.bak 0644")
	for kind in "${items[@]}"; do
		read -r kind src rel mode <<<"$kind"
		install -o "$user" -g "$user" -m "$mode" "$l/$src" "$root/$rel"
		printf 'h%s %s %s\n' "$i" "$root/$rel" "$kind" >>"$dir/expected.txt"
	done
}

# make_estate: the base tree once, then a hardlinked copy per host with its planted files.
make_estate() {
	local i base=$dir/estate/base
	install -d -m 0755 "$dir/estate" "$dir/estate/none"
	say "tree: $(/usr/bin/python3 "$repo/bench/sweep-tree.py" "$base" "$files" "$BENCH_P12_PASS")"
	chown -R "$user:$user" "$base"
	# Three files the login cannot read, as a host always has some.
	for i in 1 2 3; do
		install -o root -g root -m 0600 /dev/null "$base/etc/ssl/private/root-only-$i.key"
		echo "root's own" >"$base/etc/ssl/private/root-only-$i.key"
	done
	: >"$dir/expected.txt"
	for ((i = 1; i <= count; i++)); do
		cp -al "$base" "$dir/estate/h$i"
		plant "$i" "$dir/estate/h$i"
	done
}

start_hosts() {
	local i
	for ((i = 1; i <= count; i++)); do
		bench_start_sshd "$i"
	done
	bench_wait_for_sshd "$count"
}

# ---------------------------------------------------------------------------------------------
# rekey

write_rekey_playbook() {	# write_rekey_playbook HOSTS: the playbook for h1 ... hHOSTS
	local i hosts=$1
	cat <<EOF
# Written by bench/sweep.sh: app.corp.internal's key leaked; where else is it?
version: 1
incident: {id: $incident, reason: keyCompromise, summary: "bench: sweep $hosts hosts", records: "$dir/incidents"}
ca: {cert: "$RK_H_CA", key: "$RK_H_CA_KEY"}
revoke:
  - cert: "$dir/leaked/cert.pem"
sweep:
  paths: ["$dir/estate/none"]
  passphrase_env: BENCH_P12_PASS
hosts:
EOF
	for ((i = 1; i <= hosts; i++)); do
		printf '  h%s: {transport: ssh, address: %s, port: %s, user: %s, identity: "%s", known_hosts: "%s", sweep_paths: ["%s"]}\n' \
			"$i" "$(bench_addr "$i")" "$bench_port" "$user" "$RK_H_SSH_KEY" "$RK_H_KNOWN_HOSTS" \
			"$dir/estate/h$i"
	done
	printf 'policy: {max_parallel: %s}\n' "$workers"
}

# run_rekey HOSTS NAME: `rekey sweep --json` over h1 ... hHOSTS, timed; NAME.yml, NAME.json,
# NAME.err, NAME.time, NAME.found ("host path" per compromised finding) in $dir; sets rekey_t.
run_rekey() {
	local hosts=$1 name=$2 t0 t1 rc=0
	write_rekey_playbook "$hosts" >"$dir/$name.yml"
	t0=$(date +%s.%N)
	/usr/bin/time -v -o "$dir/$name.time" "$build/bin/rekey" sweep "$dir/$name.yml" --json \
		>"$dir/$name.json" 2>"$dir/$name.err" || rc=$?
	t1=$(date +%s.%N)
	rekey_t=$(seconds "$t0" "$t1")
	# Exit 1 is the answer here: compromised copies were found.
	((rc == 1)) || { tail -5 "$dir/$name.err" >&2; die "rekey sweep: exit $rc (expected 1)"; }
	rekey_found "$dir/$name.json" >"$dir/$name.found"
	printf 'sweep.sh: %s s (CPU %s s user, %s s system); ' "$rekey_t" \
		"$(sed -n 's/.*User time (seconds): //p' "$dir/$name.time")" \
		"$(sed -n 's/.*System time (seconds): //p' "$dir/$name.time")"
	rekey_summary "$dir/$name.json"
}

# rekey_found JSON: "host path" of each compromised finding, once per path.
rekey_found() {
	python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
seen = sorted({(f["host"], f["path"]) for f in doc["findings"] if f["class"] == "compromised"})
for host, path in seen:
    print(host, path)
PY
}

# rekey_summary JSON: one line from sweep's summary and the hosts' counts.
rekey_summary() {
	python3 - "$1" <<'PY'
import collections, json, sys
doc = json.load(open(sys.argv[1]))
s = doc["summary"]
bad = [h["host"] for h in doc["hosts"] if not h["swept"] or h["truncated"]]
classes = collections.Counter(f["class"] for f in doc["findings"])
print("rekey: %d of %d hosts swept, %d files seen, %d read; findings %s; looked for %d items%s" % (
    s["swept"], s["hosts"], s["files_seen"], s["files_read"],
    ", ".join("%s %d" % kv for kv in sorted(classes.items())), len(doc["looked_for"]),
    "; not swept or truncated: " + " ".join(bad) if bad else ""))
PY
}

# ---------------------------------------------------------------------------------------------
# The responder's loop: ssh per host, WORKERS at a time

# shell-loop.sh HOST ADDRESS ROOT runs remote.sh on the host (`sh -s` over ssh's stdin), which
# prints each file under ROOT holding the leaked SPKI. It asks openssl once for a key, twice for
# a certificate (x509 -pubkey, then pkey -pubin to DER), as the commands people know go.
write_shell_loop() {
	cat <<EOF
#!/bin/bash
# Written by bench/sweep.sh: the loop a responder writes. Usage: shell-loop.sh HOST ADDRESS ROOT
ssh -p $bench_port -i $RK_H_SSH_KEY -o IdentitiesOnly=yes -o BatchMode=yes \\
	-o UserKnownHostsFile=$RK_H_KNOWN_HOSTS -o StrictHostKeyChecking=yes "$user@\$2" \\
	sh -s -- "\$3" $leaked_spki <$dir/remote.sh | sed "s|^|\$1 |"
EOF
}

write_remote_script() {
	cat <<'EOF'
# Written by bench/sweep.sh: on the host, `sh -s -- ROOT SPKI_SHA256`.
find "$1" -xdev -type f -print0 2>/dev/null | xargs -0 grep -l BEGIN 2>/dev/null |
while IFS= read -r f; do
	if grep -q 'BEGIN CERTIFICATE' "$f"; then
		openssl x509 -in "$f" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER
	else
		openssl pkey -in "$f" -passin pass: -pubout -outform DER
	fi 2>/dev/null | sha256sum | { read -r h _; [ "$h" = "$2" ] && printf '%s\n' "$f"; }
done
exit 0
EOF
}

# ---------------------------------------------------------------------------------------------
# Ansible: find (contains -----BEGIN), slurp each, compare public keys with community.crypto's filters

write_ansible_playbook() {
	cat <<EOF
# Written by bench/sweep.sh: the sweep as an Ansible playbook.
- name: find copies of the leaked key
  hosts: bench
  gather_facts: false
  vars:
    leaked: "{{ lookup('file', '$dir/leaked/cert.pem') | community.crypto.x509_certificate_info }}"
  tasks:
    - name: files that say BEGIN
      ansible.builtin.find:
        paths: "{{ root }}"
        recurse: true
        file_type: file
        # find matches each line from its start (re.match): a PEM header, not "BEGIN" anywhere.
        contains: "-----BEGIN "
      register: found
    - name: read them
      ansible.builtin.slurp:
        src: "{{ item.path }}"
      loop: "{{ found.files }}"
      loop_control:
        label: "{{ item.path }}"
      register: slurped
    - name: those holding the leaked public key
      ansible.builtin.debug:
        msg: "FOUND {{ inventory_hostname }} {{ item.source }}"
      loop: "{{ slurped.results }}"
      loop_control:
        label: "{{ item.source }}"
      when: >-
        ((item.content | b64decode | community.crypto.split_pem
          | select('search', 'BEGIN CERTIFICATE') | map('community.crypto.x509_certificate_info')
          | map(attribute='public_key') | list)
        + (item.content | b64decode | community.crypto.split_pem
          | select('search', 'BEGIN (EC |RSA )?PRIVATE KEY')
          | map('community.crypto.openssl_privatekey_info') | map(attribute='public_key') | list))
        is contains(leaked.public_key)
EOF
}

run_ansible() {	# run_ansible LIMIT OUT: the playbook on the first LIMIT hosts
	ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_LOCAL_TEMP=$dir/ansible-tmp \
		ansible-playbook -i "$dir/inventory" -f "$workers" --limit "$1" \
		"$dir/sweep-ansible.yml" >"$2" 2>&1
}

# ---------------------------------------------------------------------------------------------
# Run

t0=$(date +%s.%N)
make_leaked
make_estate
t1=$(date +%s.%N)
say "$count trees of $files files (+ planted copies) in $(seconds "$t0" "$t1") s"
start_hosts
t2=$(date +%s.%N)
say "$count sshd on 127.0.0.2-$(bench_addr "$count"):$bench_port in $(seconds "$t1" "$t2") s"
sort -o "$dir/expected.txt" "$dir/expected.txt"
expected=$(wc -l <"$dir/expected.txt")
cut -d' ' -f1,2 "$dir/expected.txt" >"$dir/expected.pairs"

# expected_of HOSTS: the planted copies on h1 ... hHOSTS ("host path kind").
expected_of() { awk -v n="$1" 'substr($1, 2) + 0 <= n' "$dir/expected.txt"; }

# misses FOUND: the planted copies FOUND lacks, counted by kind; and what FOUND has beyond them.
misses() {
	local found=$1
	join -v1 -j1 <(expected_of "${2:-$count}" | awk '{print $1"|"$2, $3}' | sort) \
		<(awk '{print $1"|"$2}' "$found" | sort) | awk '{print $2}' | sort | uniq -c |
		awk '{printf "%s%s %s", sep, $2, $1; sep=", "} END {print ""}'
}
extra() { comm -13 "$dir/expected.pairs" <(sort "$1") | wc -l; }
loop_hosts=${REKEY_BENCH_LOOP_HOSTS:-$count}
((loop_hosts >= 1 && loop_hosts <= count)) || die "REKEY_BENCH_LOOP_HOSTS must be 1 to $count"
loop_expected=$(expected_of "$loop_hosts" | wc -l)

rekey_s=- rekey_rss=- rekey_ok=- shell_s=- shell_hits=- ansible_s=- ansible_note=
rekey_sub_s=-
if [[ " $bench_tools " == *" rekey "* ]]; then
	run_rekey "$count" rekey
	rekey_s=$rekey_t
	rekey_rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/rekey.time")
	if cmp -s "$dir/expected.pairs" <(sort "$dir/rekey.found"); then
		rekey_ok=yes
		say "rekey: found exactly the $expected planted copies"
	else
		rekey_ok=no
		say "rekey: WRONG: missed $(misses "$dir/rekey.found"); $(extra "$dir/rekey.found") others"
	fi
	# The loop visits fewer hosts: rekey is timed on the same ones too, for a ratio of like to like.
	if ((loop_hosts < count)); then
		run_rekey "$loop_hosts" rekey-sub
		rekey_sub_s=$rekey_t
		cmp -s <(expected_of "$loop_hosts" | cut -d' ' -f1,2 | sort) \
			<(sort "$dir/rekey-sub.found") || { rekey_ok=no; say "rekey: WRONG on $loop_hosts hosts"; }
	fi
fi
if [[ " $bench_tools " == *" shell "* ]]; then
	write_shell_loop >"$dir/shell-loop.sh"
	write_remote_script >"$dir/remote.sh"
	chmod 0755 "$dir/shell-loop.sh"
	for ((i = 1; i <= loop_hosts; i++)); do
		printf 'h%s %s %s\n' "$i" "$(bench_addr "$i")" "$dir/estate/h$i"
	done >"$dir/shell.hosts"
	t0=$(date +%s.%N)
	xargs -P "$workers" -L 1 "$dir/shell-loop.sh" <"$dir/shell.hosts" >"$dir/shell.found" \
		2>"$dir/shell.err" || die "the shell loop failed: $(tail -3 "$dir/shell.err")"
	t1=$(date +%s.%N)
	shell_s=$(seconds "$t0" "$t1")
	shell_hits=$(sort -u "$dir/shell.found" | wc -l)
	say "shell loop: $shell_s s; found $shell_hits of $loop_expected planted copies on $loop_hosts hosts" \
		"(missed: $(misses "$dir/shell.found" "$loop_hosts"); $(extra "$dir/shell.found") others)"
fi
if [[ " $bench_tools " == *" ansible "* ]]; then
	for ((i = 1; i <= loop_hosts; i++)); do
		printf 'h%s ansible_host=%s root=%s\n' "$i" "$(bench_addr "$i")" "$dir/estate/h$i"
	done >"$dir/inventory.body"
	bench_ansible_inventory "$dir/inventory.body" >"$dir/inventory"
	write_ansible_playbook >"$dir/sweep-ansible.yml"
	probe=$((loop_hosts < 2 ? loop_hosts : 2))
	t0=$(date +%s.%N)
	run_ansible "bench[0:$((probe - 1))]" "$dir/ansible-probe.out" ||
		{ tail -20 "$dir/ansible-probe.out" >&2; die "ansible-playbook failed on $probe hosts"; }
	t1=$(date +%s.%N)
	probe_s=$(seconds "$t0" "$t1")
	grep -o 'FOUND h[0-9]* [^"]*' "$dir/ansible-probe.out" | cut -d' ' -f2,3 | sort -u \
		>"$dir/ansible-probe.found" || true
	# The probe's hosts ran side by side and already kept both cores busy, so more forks do
	# not make hosts cheaper: the time grows with the hosts.
	predicted=$(echo "$probe_s * $loop_hosts / $probe" | bc)
	if ((probe == loop_hosts)); then
		cp "$dir/ansible-probe.out" "$dir/ansible.out"
		ansible_s=$probe_s
	elif (($(echo "$predicted > $ansible_limit" | bc))); then
		ansible_note="skipped: $probe hosts took $probe_s s (side by side; found $(wc -l \
			<"$dir/ansible-probe.found") of $(expected_of "$probe" | wc -l), missed: $(misses \
			"$dir/ansible-probe.found" "$probe")); $loop_hosts would take about $predicted s"
	else
		t0=$(date +%s.%N)
		run_ansible all "$dir/ansible.out" ||
			{ tail -20 "$dir/ansible.out" >&2; die "ansible-playbook failed"; }
		t1=$(date +%s.%N)
		ansible_s=$(seconds "$t0" "$t1")
	fi
	if [[ $ansible_s != - ]]; then
		grep -o 'FOUND h[0-9]* [^"]*' "$dir/ansible.out" | cut -d' ' -f2,3 | sort -u \
			>"$dir/ansible.found" || true
		ansible_note="$ansible_s s; found $(wc -l <"$dir/ansible.found") of $loop_expected on $loop_hosts hosts (missed: $(misses "$dir/ansible.found" "$loop_hosts"))"
	fi
	say "ansible: $ansible_note"
fi

keep_outputs
printf '%-22s %6s %7s %7s %10s %14s\n' tool hosts planted found seconds "peak RSS"
[[ $rekey_s == - ]] || printf '%-22s %6s %7s %7s %10.2f %10s KiB%s\n' "rekey sweep" "$count" \
	"$expected" "$(wc -l <"$dir/rekey.found")" "$rekey_s" "$rekey_rss" \
	"$([[ $rekey_ok == yes ]] || echo '   WRONG: does not count')"
[[ $rekey_sub_s == - ]] || printf '%-22s %6s %7s %7s %10.2f %14s\n' "rekey sweep" \
	"$loop_hosts" "$loop_expected" "$(wc -l <"$dir/rekey-sub.found")" "$rekey_sub_s" -
[[ $shell_s == - ]] || printf '%-22s %6s %7s %7s %10.2f %14s\n' "ssh+find+openssl loop" \
	"$loop_hosts" "$loop_expected" "$shell_hits" "$shell_s" -
[[ $ansible_s == - ]] || printf '%-22s %6s %7s %7s %10.2f %14s\n' "ansible find+slurp" \
	"$loop_hosts" "$loop_expected" "$(wc -l <"$dir/ansible.found")" "$ansible_s" -
if [[ $rekey_s != - && $rekey_ok == yes ]]; then
	base_s=$rekey_s
	[[ $rekey_sub_s == - ]] || base_s=$rekey_sub_s
	[[ $shell_s == - ]] || printf 'ratio (loop / rekey, %s hosts each): %.1fx\n' "$loop_hosts" \
		"$(echo "$shell_s / $base_s" | bc -l)"
	[[ $ansible_s == - ]] || printf 'ratio (ansible / rekey, %s hosts each): %.1fx\n' \
		"$loop_hosts" "$(echo "$ansible_s / $base_s" | bc -l)"
fi
printf 'files per host: %s + planted   max_parallel/-P/forks: %s   cores: %s   %s   %s   %s   ansible-core %s   libssh2 %s\n' \
	"$files" "$workers" "$(nproc)" "$("$build/bin/rekey" --version 2>/dev/null | head -1)" \
	"$(openssl version | cut -d' ' -f1,2)" "$(ssh -V 2>&1 | cut -d, -f1)" \
	"$(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p')" \
	"$(pkg-config --modversion libssh2 2>/dev/null || echo '?')"
[[ $rekey_ok != no ]] || exit 1
