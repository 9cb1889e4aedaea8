#!/usr/bin/env bash
# Every shell script of the project passes shellcheck (sources followed from each script's own
# folder), so a quoting slip in the harness, the lab or a benchmark fails the suite, not a run.
# Usage: tests/shellcheck.sh REPO
set -euo pipefail
repo=${1:?usage: shellcheck.sh REPO}
cd "$repo"
command -v shellcheck >/dev/null || { echo "shellcheck.sh: no shellcheck (scripts/install-deps.sh)" >&2; exit 1; }
mapfile -t scripts < <(git ls-files 2>/dev/null | grep -E '\.sh$|^scripts/lab$|^\.ci/run$' ||
	find . -path ./build\* -prune -o \( -name '*.sh' -o -path ./scripts/lab -o -path ./.ci/run \) \
		-type f -print)
((${#scripts[@]} > 10)) || { echo "shellcheck.sh: only ${#scripts[@]} scripts found" >&2; exit 1; }
# Warnings and errors: the tests' "check && ok || bad" idiom is an info, and ok cannot fail.
shellcheck -S warning -x -P SCRIPTDIR "${scripts[@]}"
echo "shellcheck.sh: ${#scripts[@]} scripts clean"
