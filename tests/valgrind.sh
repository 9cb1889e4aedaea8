#!/usr/bin/env bash
# Runs the unit tests and the plan command end to end under valgrind memcheck: no error,
# no leak. Only in the normal build (valgrind and ASan cannot share a process).
set -euo pipefail

bindir=${1:?usage: valgrind.sh BIN_DIR REPO_ROOT}
repo=${2:?usage: valgrind.sh BIN_DIR REPO_ROOT}
# The unit tests read their data (golden cases) from the source tree, as under ctest.
export RK_TEST_SRC=$repo/tests
vg=(valgrind -q --error-exitcode=99 --child-silent-after-fork=yes --leak-check=full --errors-for-leak-kinds=all
	--show-leak-kinds=all)
fail=0 ran=0

check() {
	local want=$1
	shift
	local rc=0
	"${vg[@]}" "$@" >/dev/null 2>"$tmp/err" || rc=$?
	ran=$((ran + 1))
	if [ "$rc" -eq 99 ] || [ "$rc" -ne "$want" ]; then
		echo "FAIL (exit $rc, want $want): $*"
		grep '==' "$tmp/err" | head -20 || true
		fail=$((fail + 1))
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for t in "$bindir"/test_*; do
	check 0 "$t"
done
for p in "$repo"/playbooks/*.yml; do
	check 0 "$bindir/rekey" plan "$p"
	check 0 "$bindir/rekey" plan --json "$p"
done
# Error paths: a playbook with many problems, a missing file, usage errors.
printf 'version: 3\nca: {cert: c, key: k, password: x}\nhosts: {h: {adress: y}}\n' >"$tmp/bad.yml"
check 2 "$bindir/rekey" plan "$tmp/bad.yml"
check 2 "$bindir/rekey" plan "$tmp/missing.yml"
check 2 "$bindir/rekey" plan
check 2 "$bindir/rekey" run "$tmp/bad.yml"
# rekey verify with its worker threads, against services nothing listens for: exit 1.
printf 'version: 1\nca: {cert: c, key: k}\nhosts: {h: {transport: local}}\nservices:\n  - {name: a, host: h, kind: postgresql, reload: none, connect: {address: 127.0.0.1, port: 1}}\n  - {name: b, host: h, kind: mysql, reload: none, connect: {address: 127.0.0.1, port: 1}}\n' >"$tmp/down.yml"
check 1 "$bindir/rekey" verify "$tmp/down.yml"
check 1 "$bindir/rekey" verify --json "$tmp/down.yml"
echo "valgrind: $((ran - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
