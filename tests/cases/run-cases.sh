#!/usr/bin/env bash
# Runs the playbook cases: each NNN-what.yml goes through `rekey plan` in a private temp copy,
# and its exit code and diagnostics must be exactly those in NNN-what.expected. README.md in
# this folder describes the format.
#
# usage: run-cases.sh REKEY_BINARY CASES_DIR
# Prints one line per case and a last line "N passed, M failed"; exits 1 on any failure.
set -euo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: $0 REKEY_BINARY CASES_DIR" >&2
	exit 2
fi
if [[ ! -x $1 || ! -d $2 ]]; then
	echo "$0: $1 is not an executable or $2 is not a folder" >&2
	exit 2
fi
# Absolute paths: every case runs in its own folder.
rekey="$(cd -- "$(dirname -- "$1")" && pwd -P)/$(basename -- "$1")"
cases="$(cd -- "$2" && pwd -P)"
# Seconds before a case counts as hung.
case_timeout="${REKEY_CASE_TIMEOUT:-60}"

root="$(mktemp -d "${TMPDIR:-/tmp}/rekey-cases.XXXXXX")"
trap 'rm -rf -- "$root"' EXIT

passed=0
failed=0
reasons=()

# Adds one reason the current case failed; details are indented lines printed under it.
fail() {
	reasons+=("$1")
}

# Prints an array, one element a line, for diff.
lines() {
	if [[ $# -gt 0 ]]; then
		printf '%s\n' "$@"
	fi
}

# Runs one case; sets reasons (empty when it passed). $1 is the case name (no extension).
run_case() {
	local name="$1" expected="$cases/$1.expected" work out err rc line rest
	local want_exit="" has_exit=0
	local -a want_errors=() want_warnings=() absent=() got_errors=() got_warnings=() other=()

	reasons=()
	work="$root/$name"
	mkdir -p -- "$work/home"
	work="$(cd -- "$work" && pwd -P)"
	cp -- "$cases/$name.yml" "$work/"
	if [[ -f $cases/$name.setup ]]; then
		cp -- "$cases/$name.setup" "$work/"
		if ! (cd -- "$work" && CASE="$name" PLAYBOOK="$name.yml" CASES="$cases" \
		    bash -euo pipefail "./$name.setup") >"$work/setup.log" 2>&1; then
			fail "setup failed:"
			while IFS= read -r line; do fail "    $line"; done <"$work/setup.log"
			return
		fi
	fi

	# The expected file: see README.md. @DIR@ stands for the case's folder.
	while IFS= read -r line || [[ -n $line ]]; do
		line="${line//@DIR@/$work}"
		case "$line" in
		'' | '#'*) ;;
		'exit '*)
			want_exit="${line#exit }"
			has_exit=$((has_exit + 1))
			;;
		'absent '*) absent+=("${line#absent }") ;;
		"$name.yml:"*': error: '* | "$name.yml: error: "*) want_errors+=("$line") ;;
		"$name.yml:"*': warning: '* | "$name.yml: warning: "*) want_warnings+=("$line") ;;
		*)
			fail "$name.expected: not an exit, absent, error or warning line: $line"
			return
			;;
		esac
	done <"$expected"
	if [[ $has_exit -ne 1 || ! $want_exit =~ ^[0-9]+$ ]]; then
		fail "$name.expected: needs exactly one 'exit N' line"
		return
	fi
	if [[ $want_exit -ne 0 && ${#want_errors[@]} -eq 0 ]]; then
		fail "$name.expected: exit $want_exit but no error line to check"
		return
	fi

	out="$work/stdout"
	err="$work/stderr"
	rc=0
	(cd -- "$work" && env NO_COLOR=1 LC_ALL=C HOME="$work/home" \
	    timeout "$case_timeout" "$rekey" plan "$name.yml") >"$out" 2>"$err" || rc=$?

	if grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
	    "$out" "$err"; then
		fail "sanitizer report:"
		while IFS= read -r line; do fail "    $line"; done <"$err"
		return
	fi
	if [[ $rc -eq 124 ]]; then
		fail "timed out after ${case_timeout}s"
		return
	fi
	if [[ $rc -ne $want_exit ]]; then
		fail "exit $rc, expected $want_exit"
	fi

	# Sort stderr into diagnostics about this playbook, the summary line and anything else.
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line == "$name.yml:"* ]]; then
			rest="${line#"$name.yml:"}"
			if [[ $rest =~ ^([0-9]+:[0-9]+:)?\ error:\  ]]; then
				got_errors+=("$line")
				continue
			fi
			if [[ $rest =~ ^([0-9]+:[0-9]+:)?\ warning:\  ]]; then
				got_warnings+=("$line")
				continue
			fi
		fi
		other+=("$line")
	done <"$err"

	if [[ "$(lines "${want_errors[@]}")" != "$(lines "${got_errors[@]}")" ]]; then
		fail "error lines differ (- expected, + got):"
		while IFS= read -r line; do fail "    $line"; done < <(diff -U0 \
		    <(lines "${want_errors[@]}") <(lines "${got_errors[@]}") | tail -n +3 || true)
	fi
	if [[ ${#want_warnings[@]} -gt 0 &&
	    "$(lines "${want_warnings[@]}")" != "$(lines "${got_warnings[@]}")" ]]; then
		fail "warning lines differ (- expected, + got):"
		while IFS= read -r line; do fail "    $line"; done < <(diff -U0 \
		    <(lines "${want_warnings[@]}") <(lines "${got_warnings[@]}") | tail -n +3 || true)
	fi

	# With errors, the only other line is the count; without, there is no other line.
	local n=${#got_errors[@]} summary=()
	if [[ $n -gt 0 ]]; then
		summary=("rekey: $name.yml: $n error$([[ $n -eq 1 ]] || echo s); nothing was changed")
	fi
	if [[ "$(lines "${other[@]}")" != "$(lines "${summary[@]}")" ]]; then
		fail "other stderr lines differ (- expected, + got):"
		while IFS= read -r line; do fail "    $line"; done < <(diff -U0 \
		    <(lines "${summary[@]}") <(lines "${other[@]}") | tail -n +3 || true)
	fi

	# A refused playbook prints no plan; an accepted one prints it.
	if [[ $want_exit -ne 0 && -s $out ]]; then
		fail "exit $want_exit expected, yet something was printed on standard output"
	fi
	if [[ $want_exit -eq 0 && ! -s $out ]]; then
		fail "exit 0 expected, yet no plan was printed"
	fi

	# --json: the same exit, nothing on stderr, and the same diagnostics as a document.
	local jrc=0 jlines
	(cd -- "$work" && env NO_COLOR=1 LC_ALL=C HOME="$work/home" \
	    timeout "$case_timeout" "$rekey" plan --json "$name.yml") >"$out.json" 2>"$err.json" ||
	    jrc=$?
	if [[ $jrc -ne $rc ]]; then
		fail "plan --json: exit $jrc, but $rc without --json"
	elif [[ -s $err.json ]]; then
		fail "plan --json printed on stderr: $(head -n 1 "$err.json")"
	elif ! jlines="$(python3 "$(dirname -- "$0")/json-diags.py" <"$out.json" 2>&1)"; then
		fail "plan --json: $jlines"
	elif [[ "$jlines" != "$(lines "${got_errors[@]}" "${got_warnings[@]}")" ]]; then
		fail "plan --json diagnostics differ from the text ones (- text, + json):"
		while IFS= read -r line; do fail "    $line"; done < <(diff -U0 \
		    <(lines "${got_errors[@]}" "${got_warnings[@]}") <(printf '%s\n' "$jlines") |
		    tail -n +3 || true)
	fi

	for line in "${absent[@]}"; do
		if grep -qF -- "$line" "$out" "$err" "$out.json"; then
			fail "output shows '$line', which must never be shown"
		fi
	done
}

report() {
	local name="$1" r

	if [[ ${#reasons[@]} -eq 0 ]]; then
		printf 'ok    %s\n' "$name"
		passed=$((passed + 1))
		return
	fi
	printf 'FAIL  %s: %s\n' "$name" "${reasons[0]}"
	for r in "${reasons[@]:1}"; do
		printf '        %s\n' "$r"
	done
	failed=$((failed + 1))
}

shopt -s nullglob
for yml in "$cases"/*.yml; do
	name="$(basename -- "$yml" .yml)"
	if [[ ! -f $cases/$name.expected ]]; then
		reasons=("$name.yml has no $name.expected")
	else
		run_case "$name"
	fi
	report "$name"
done
# An .expected or .setup without its playbook would silently test nothing.
for f in "$cases"/*.expected "$cases"/*.setup; do
	name="$(basename -- "${f%.*}")"
	if [[ ! -f $cases/$name.yml ]]; then
		reasons=("$(basename -- "$f") has no $name.yml")
		report "$name"
	fi
done

echo "$passed passed, $failed failed"
if [[ $failed -ne 0 || $passed -eq 0 ]]; then
	exit 1
fi
