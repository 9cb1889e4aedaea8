#!/usr/bin/env bash
# Checks that every playbook in the given folders is valid: `rekey plan` and `rekey plan --json`
# exit 0 with no error, the text names all 11 phases in order, and the JSON parses and lists
# the same 11 phases. PYTHON3 names the interpreter (default: python3 on PATH).
#
# usage: check-playbooks.sh REKEY_BINARY FOLDER...
# Prints one line per playbook and a last line "N passed, M failed"; exits 1 on any failure.
set -euo pipefail

if [[ $# -lt 2 || ! -x $1 ]]; then
	echo "usage: $0 REKEY_BINARY FOLDER..." >&2
	exit 2
fi
rekey="$(cd -- "$(dirname -- "$1")" && pwd -P)/$(basename -- "$1")"
shift

phases=(preflight issue revoke "distribute trust" swap reload verify "update clients"
    "verify clients" "retire old trust" record)

work="$(mktemp -d "${TMPDIR:-/tmp}/rekey-playbooks.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
mkdir -p -- "$work/home"

# Runs rekey with a private HOME, so "~/.ssh/..." never reads the tester's files.
run_rekey() {
	env NO_COLOR=1 LC_ALL=C HOME="$work/home" timeout 60 "$rekey" "$@"
}

# Checks one playbook; prints the reasons it fails, nothing when it passes.
check() {
	local pb="$1" rc i pattern

	rc=0
	run_rekey plan "$pb" >"$work/text" 2>"$work/text.err" || rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "rekey plan exited $rc:"
		sed 's/^/    /' "$work/text.err"
		return
	fi
	if grep -Eq ': error: |AddressSanitizer|LeakSanitizer|runtime error:' "$work/text.err"; then
		echo "rekey plan exited 0 but reported:"
		sed 's/^/    /' "$work/text.err"
		return
	fi
	# The text plan heads each phase "N. name", numbered from 1, right-aligned; with canary
	# waves, swap, reload and verify come once a wave, as "5. swap (wave 1 of 2: ...)".
	for i in "${!phases[@]}"; do
		printf -v pattern '^ *%d\\. %s( \\(wave [0-9]+ of [0-9]+.*\\))?$' "$((i + 1))" \
		    "${phases[$i]}"
		if ! grep -Eq -- "$pattern" "$work/text"; then
			echo "the text plan does not name phase $((i + 1)) '${phases[$i]}'"
		fi
	done

	rc=0
	run_rekey plan --json "$pb" >"$work/json" 2>"$work/json.err" || rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "rekey plan --json exited $rc:"
		sed 's/^/    /' "$work/json.err"
		return
	fi
	if ! "${PYTHON3:-python3}" -c '
import json, sys
plan = json.load(sys.stdin)
want = sys.argv[1:]
got = [p.get("phase") for p in plan.get("phases", [])]
# Waves repeat swap, reload and verify; the phases still come in this order.
order = [name for i, name in enumerate(got) if name not in got[:i]]
if len(got) < len(want) or order != want:
    sys.exit("phases in the JSON plan: %r, expected %r" % (got, want))
if not plan.get("steps"):
    sys.exit("the JSON plan has no steps")
' "${phases[@]}" <"$work/json" 2>"$work/py.err"; then
		echo "rekey plan --json:"
		sed 's/^/    /' "$work/py.err"
	fi
}

passed=0
failed=0
shopt -s nullglob
for dir in "$@"; do
	for pb in "$dir"/*.yml; do
		reasons="$(check "$pb")"
		if [[ -z $reasons ]]; then
			printf 'ok    %s\n' "$pb"
			passed=$((passed + 1))
		else
			printf 'FAIL  %s:\n%s\n' "$pb" "        ${reasons//$'\n'/$'\n        '}"
			failed=$((failed + 1))
		fi
	done
done

echo "$passed passed, $failed failed"
if [[ $failed -ne 0 || $passed -eq 0 ]]; then
	exit 1
fi
