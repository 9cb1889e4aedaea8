#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds rekey twice (a normal
# build and an ASan+UBSan build) and runs the whole ctest suite in each.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
./scripts/install-deps.sh

jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Sanitizer reports must fail the test that triggers them, never scroll by.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_suite() {
	local label=$1 dir=$2
	shift 2
	echo "== $label build ($dir)"
	cmake -S . -B "$dir" -DREKEY_TESTS=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
	echo "== $label tests"
	ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 600 2>&1 | tee -a "$log"
}

status=0
run_suite normal build -DCMAKE_BUILD_TYPE=RelWithDebInfo || status=1
run_suite sanitizer build-asan -DREKEY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug || status=1

# One closing line for both runs, from ctest's own summaries.
total=$(awk '/tests failed out of/ { n += $NF } END { print n + 0 }' "$log")
failed=$(awk '/tests failed out of/ { n += $(NF - 5) } END { print n + 0 }' "$log")
echo "suite: $((total - failed)) passed, $failed failed"
exit "$status"
