#!/usr/bin/env bash
# Reading a large estate (issue 19): a playbook of HOSTS hosts with two services each (a
# PostgreSQL and a MariaDB, each with its own certificate) parsed, validated and planned by
# `rekey plan`, as text and as --json, against what Ansible needs only to read the same
# hosts' inventory (`ansible-inventory --list`), in one run. Nothing connects anywhere.
# Usage: bench/plan.sh [BUILD_DIR] [HOSTS] [RUNS]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath "${1:-$repo/build}")
hosts=${2:-1000}
runs=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rekey=$build/bin/rekey
[ -x "$rekey" ] || { echo "plan.sh: build first: cmake --build $build" >&2; exit 2; }
"$rekey" pki init "$tmp/pki" >/dev/null
: >"$tmp/known_hosts"

python3 - "$tmp" "$hosts" <<'PY'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
pb = ["version: 1",
      "incident: {id: BENCH-PLAN, reason: keyCompromise, records: ./incidents}",
      "ca: {cert: pki/ca.crt, key: pki/ca.key}",
      "certificates:"]
for i in range(n):
    for k in range(2):
        pb.append(f"  c{i}-{k}: {{profile: server, subject: /CN=h{i}, "
                  f"san: [\"DNS:h{i}\", \"IP:127.0.0.1\"]}}")
pb.append("hosts:")
inv = ["all:", "  hosts:"]
for i in range(n):
    pb.append(f"  h{i}: {{address: 127.0.0.1, port: {2000 + i}, user: deploy, "
              f"known_hosts: known_hosts, sudo: true}}")
    inv.append(f"    h{i}: {{ansible_host: 127.0.0.1, ansible_port: {2000 + i}, "
               f"ansible_user: deploy, ansible_become: true}}")
pb.append("services:")
for i in range(n):
    for k, kind, d in ((0, "postgresql", "postgresql"), (1, "mariadb", "mysql")):
        pb.append(
            f"  - {{name: s{i}-{k}, host: h{i}, kind: {kind}, certificate: c{i}-{k}, "
            f"connect: {{address: 127.0.0.1, port: {3306 + k}, user: rekey}}, "
            f"files: {{cert: {{path: /etc/{d}/server.crt, owner: {d}, mode: \"0644\"}}, "
            f"key: {{path: /etc/{d}/server.key, owner: {d}, mode: \"0600\"}}}}}}")
open(f"{tmp}/estate.yml", "w").write("\n".join(pb) + "\n")
open(f"{tmp}/inventory.yml", "w").write("\n".join(inv) + "\n")
PY

# median_of CMD...: the median wall time of RUNS runs, in seconds; the command must succeed.
median_of() {
	local i start end
	local -a times=()
	for ((i = 0; i < runs; i++)); do
		start=$(date +%s.%N)
		"$@" >"$tmp/out" 2>"$tmp/err" || { echo "plan.sh: failed: $*" >&2; cat "$tmp/err" >&2; exit 1; }
		end=$(date +%s.%N)
		times+=("$(echo "$end - $start" | bc)")
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

cd "$tmp"
text=$(median_of "$rekey" plan estate.yml)
json=$(median_of "$rekey" plan --json estate.yml)
steps=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps"])' out)
rss=$( { /usr/bin/time -f '%M' "$rekey" plan estate.yml >/dev/null; } 2>&1 | tail -n 1)
if command -v ansible-inventory >/dev/null; then
	ansible=$(ANSIBLE_INVENTORY_ENABLED=yaml median_of ansible-inventory -i inventory.yml --list)
	ansible_version=$(ansible --version | head -n 1)
else
	ansible=skipped ansible_version="ansible: not installed"
fi

printf '%-44s %8s %10s\n' "what ($hosts hosts, $((2 * hosts)) services)" seconds "peak RSS"
printf '%-44s %8.3f %7s KiB\n' "rekey plan (parse, validate, plan; text)" "$text" "$rss"
printf '%-44s %8.3f\n' "rekey plan --json" "$json"
if [[ $ansible != skipped ]]; then
	printf '%-44s %8.3f\n' "ansible-inventory --list (reading hosts only)" "$ansible"
	printf 'ratio (ansible-inventory / rekey plan): %.1fx\n' "$(echo "$ansible / $text" | bc -l)"
fi
echo "median of $runs runs; the plan has $steps steps; cores: $(nproc); $("$rekey" --version);" \
	"$ansible_version"
